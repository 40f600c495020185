"""Peers, not reach-ins: scenes (``engines``), posters and clips draw their sets through
``generation.sets``; posters and clips never import the engines, and the sets import none
of the three; and rendering a clip loads no network client or model library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (function-local imports included), as
    absolute dotted names: ``from generation import engines`` gives ``generation`` and
    ``generation.engines``, ``from ..engines import studio`` the same with ``.studio``."""
    package = list(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parts, node.module] if node.module else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def reach_ins(root: Path, folder: str, forbidden: tuple[str, ...]) -> list[str]:
    """``"<file> imports <module>"`` for each forbidden import in ``root/generation/folder``."""
    files = sorted((root / "generation" / folder).rglob("*.py"))
    assert files, f"no modules in generation/{folder}"
    return [
        f"{path.relative_to(root)} imports {name}"
        for path in files
        for name in sorted(imported_modules(path, root))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


@pytest.mark.parametrize("folder", ["posters", "clips"])
def test_posters_and_clips_never_import_the_engines(folder):
    assert reach_ins(ROOT, folder, ("generation.engines",)) == []


def test_the_sets_import_none_of_the_features_that_use_them():
    assert reach_ins(ROOT, "sets", ("generation.engines", "generation.posters", "generation.clips")) == []


def test_the_rule_sees_every_spelling_of_an_engine_import(tmp_path):
    # given a poster module importing the engines in each way Python allows, one of them
    # inside a function, next to one that imports only the sets
    posters = tmp_path / "generation" / "posters"
    posters.mkdir(parents=True)
    (posters / "fine.py").write_text("from generation.sets import render_set\nfrom .. import sets\n")
    (posters / "bad.py").write_text(
        "import generation.engines.studio\n"
        "from generation import engines\n"
        "from ..engines import diffusion\n"
        "def f():\n"
        "    from generation.engines.themes import get_theme\n"
    )

    # when the rule reads the folder
    found = reach_ins(tmp_path, "posters", ("generation.engines",))

    # then it names every one of them, and nothing in the other module
    assert found == [
        "generation/posters/bad.py imports generation.engines",
        "generation/posters/bad.py imports generation.engines.diffusion",
        "generation/posters/bad.py imports generation.engines.studio",
        "generation/posters/bad.py imports generation.engines.themes",
        "generation/posters/bad.py imports generation.engines.themes.get_theme",
    ]


def test_the_clip_path_imports_no_network_client_or_model_library():
    code = (
        "import sys\n"
        "from generation.clips import ClipSpec, render_clip\n"
        "print(' '.join(sorted(m for m in ('requests', 'torch', 'diffusers', 'transformers', 'django')"
        " if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert out == ""
