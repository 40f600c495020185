"""The service under gunicorn on loopback, for the benches that measure it over real HTTP.

``GunicornServer`` starts it the way ``make run`` does (2 processes x 4 threads) on the
embedded defaults (SQLite, the database cache, no broker, no S3) in a fresh temporary data
folder: it migrates, runs a seed script through ``manage.py shell`` (whose printed words
the bench reads back), starts gunicorn on a free port and waits for ``/healthz``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Settings that would point the server at real services (or change its mode) instead of the
# embedded defaults; a bench sets any of them back through ``env``.
REAL_SERVICES = ("DATABASE_URL", "CELERY_BROKER_URL", "S3_BUCKET", "CACHE_URL", "DEBUG")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GunicornServer:
    """gunicorn serving ``shop_assets.wsgi`` on loopback, seeded by ``seed``.

    ``env``: settings on top of the embedded defaults (a ``None`` value removes the
    setting). ``seed``: Python run by ``manage.py shell`` after ``migrate``, with
    ``seed_args`` appended to ``sys.argv``; the words it prints are ``self.seeded``.
    ``gunicorn_args``: extra gunicorn flags (``--timeout 300``).
    """

    def __init__(
        self,
        prefix: str,
        seed: str,
        *,
        env: Mapping[str, str | None] | None = None,
        seed_args: tuple[str, ...] = (),
        gunicorn_args: tuple[str, ...] = (),
    ) -> None:
        self.data = tempfile.mkdtemp(prefix=prefix)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SHOPASSETS_DATA_DIR": self.data,
            "DJANGO_SETTINGS_MODULE": "shop_assets.settings",
            "LOG_LEVEL": "WARNING",
        }
        for name in REAL_SERVICES:
            self.env.pop(name, None)
        for name, value in (env or {}).items():
            if value is None:
                self.env.pop(name, None)
            else:
                self.env[name] = value
        manage = [str(BIN / "python"), str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=self.env, cwd=ROOT, check=True)
        script = Path(self.data) / "seed.py"
        script.write_text(seed)
        self.seeded = subprocess.run(
            [*manage, "shell", "-c", f"import sys; sys.argv += {list(seed_args)!r}; exec(open({str(script)!r}).read())"],
            env=self.env, cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "shop_assets.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "2",
             "--threads", "4", "--no-control-socket", *gunicorn_args],
            env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def rss_mb(self) -> float:
        """Resident memory of the gunicorn master and its workers, in MB."""
        pids = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                pass
        return total / 1024

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
