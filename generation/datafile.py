"""Reading the library's JSON data files: studio themes, poster templates, poster sizes.

Data files are validated when first used, and a bad one fails loudly naming the file and
the field (``"hero_left.variants.tall.product.fill must be in 0.2..1.0, got 1.4"``).
Each kind of file raises its own error class: a ``DataReader`` subclass names it in
``error`` and adds the readers only its data has (colours, layout edges).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

from generation.errors import GenerationError

T = TypeVar("T")

# "This key has no default": a missing key is an error. Readers also take a default of
# None to mean required, so ``number("x", 0, 1)`` and ``number("x", 0, 1, 0.5)`` read well.
REQUIRED: Any = object()


class DataReader:
    """Reads one JSON object, knowing where it is, so errors name file and field.

    Every read marks its key as seen; ``done()`` then refuses keys nobody read (a typo
    in a data file is an error, not a silently ignored option). ``null`` counts as
    absent everywhere.
    """

    error: ClassVar[type[GenerationError]] = GenerationError

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise self.error(f"{where} must be an object, got {type(data).__name__}")
        self.data = data
        self.where = where
        self.seen: set[str] = set()

    def path(self, key: str) -> str:
        """Where ``key`` is, for error messages: ``"<where>.<key>"``."""
        return f"{self.where}.{key}"

    def value(self, key: str, default: Any = REQUIRED) -> Any:
        """The raw value of ``key`` (``default`` when absent), for callers that check it themselves."""
        self.seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is REQUIRED:
            raise self.error(f"{self.path(key)} is required")
        return default

    def _required_value(self, key: str, default: Any) -> Any:
        return self.value(key, REQUIRED if default is None else default)

    def number(self, key: str, lo: float, hi: float, default: Any = None) -> float:
        value = self._required_value(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"{self.path(key)} must be a number, got {value!r}")
        if not lo <= value <= hi:
            raise self.error(f"{self.path(key)} must be in {lo}..{hi}, got {value}")
        return float(value)

    def integer(self, key: str, lo: int, hi: int, default: Any = None) -> int:
        value = self._required_value(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{self.path(key)} must be an integer, got {value!r}")
        if not lo <= value <= hi:
            raise self.error(f"{self.path(key)} must be in {lo}..{hi}, got {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.value(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{self.path(key)} must be true or false, got {value!r}")
        return value

    def text(self, key: str, default: Any = None) -> str:
        value = self._required_value(key, default)
        if not isinstance(value, str):
            raise self.error(f"{self.path(key)} must be a string, got {value!r}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = None) -> str:
        value = self.text(key, default)
        if value not in options:
            raise self.error(f"{self.path(key)} must be one of {', '.join(options)}, got {value!r}")
        return value

    def pair(self, key: str, lo: float, hi: float, default: Any = None) -> tuple[float, float]:
        value = self._required_value(key, default)
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
        ):
            raise self.error(f"{self.path(key)} must be a pair of numbers, got {value!r}")
        if not all(lo <= v <= hi for v in value):
            raise self.error(f"{self.path(key)} values must be in {lo}..{hi}, got {value}")
        return (float(value[0]), float(value[1]))

    def section(self, key: str) -> Self:
        """The object under ``key``, read with the same kind of reader; required."""
        value = self.value(key)
        if value is None:
            raise self.error(f"{self.path(key)} is required")
        return type(self)(value, self.path(key))

    def optional(self, key: str) -> Self | None:
        """The object under ``key``, or None when it is absent or null."""
        value = self.value(key, None)
        return None if value is None else type(self)(value, self.path(key))

    def done(self) -> None:
        """Refuse the keys no read asked for."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(
                f"{self.where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(self.seen))}"
            )


def parse_shifted_color(
    value: Any, where: str, pattern: re.Pattern[str], error: type[GenerationError], expected: str
) -> tuple[str | None, tuple[int, int, int] | None, float]:
    """(role, rgb, shift) of a data colour such as ``"#2f5d50"`` or ``"brand+0.35"``.

    ``pattern`` has the groups ``hex`` (six hex digits), ``role`` (a named colour the
    caller resolves later) and ``shift`` (towards white when positive, black when
    negative); exactly one of role and rgb is set. ``expected`` says what is allowed,
    for the error message.
    """
    if not isinstance(value, str) or not (m := pattern.match(value.strip())):
        raise error(f"{where} must be {expected}, got {value!r}")
    shift = float(m.group("shift") or 0)
    if not -1 <= shift <= 1:
        raise error(f"{where}: shift must be in -1..1, got {shift}")
    if m.group("role"):
        return m.group("role"), None, shift
    h = m.group("hex")
    return None, (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)), shift


def read_json(path: Path, error: type[GenerationError], what: str = "") -> Any:
    """The parsed JSON of ``path``; ``error`` naming the file when it cannot be read or parsed.

    ``what`` names the kind of file in the can't-read message (``"theme file"``).
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what + ' ' if what else ''}{path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise error(f"{path.name} is not valid JSON: {exc}") from exc


def load_folder(
    folder: Path,
    load_file: Callable[[Path], T],
    name_of: Callable[[T], str],
    error: type[GenerationError],
    what: str,
) -> dict[str, T]:
    """Every ``*.json`` file in ``folder`` loaded with ``load_file``, by name; at least one."""
    loaded = {}
    for path in sorted(folder.glob("*.json")):
        item = load_file(path)
        loaded[name_of(item)] = item
    if not loaded:
        raise error(f"no {what} files in {folder}")
    return loaded


class LoadOnce(Generic[T]):
    """A data set loaded on first use, once per process; a load that fails is tried again."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._value: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._load()
            return self._value
