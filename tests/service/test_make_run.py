"""``make run`` as an operator sees it: the worker is killed, another worker is started,
a second beat is tried. Exactly one beat lives through all of it, and never inside a worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
pytestmark = pytest.mark.slow  # migrates, seeds and starts web, worker and beat


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, list[str]]]:
    """Every process on the machine: pid -> (parent pid, argv)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        found[int(entry.name)] = (ppid, [a.decode(errors="replace") for a in argv if a])
    return found


def _celery(data: Path) -> tuple[list[int], list[int]]:
    """(beats, worker main processes) of the install in ``data``.

    A beat is a ``celery beat`` process, or a worker started with ``-B`` (its beat runs
    inside it). A worker's main process is a ``celery worker`` whose parent is not one
    (its pool children share its command line).
    """
    procs = _processes()

    def is_worker(argv: list[str]) -> bool:
        return any(a.endswith("celery") for a in argv) and "worker" in argv

    beats, workers = [], []
    for pid, (ppid, argv) in procs.items():
        if not any(a.endswith("celery") for a in argv):
            continue
        env_file = Path(f"/proc/{pid}/environ")
        try:
            if f"SHOPASSETS_DATA_DIR={data}".encode() not in env_file.read_bytes().split(b"\0"):
                continue
        except (FileNotFoundError, ProcessLookupError):
            continue
        if "beat" in argv or "-B" in argv or "--beat" in argv:
            beats.append(pid)
        if is_worker(argv) and not is_worker(procs.get(ppid, (0, []))[1]):
            workers.append(pid)
    return sorted(beats), sorted(workers)


def _processes_of(data: Path) -> str:
    beats, workers = _celery(data)
    procs = _processes()
    return "\n".join(
        f"{pid} <- {procs[pid][0]}: {' '.join(procs[pid][1])}" for pid in beats + workers if pid in procs
    )


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _ancestors(pid: int) -> set[int]:
    procs, seen = _processes(), set()
    while pid in procs and pid not in seen and pid > 1:
        seen.add(pid)
        pid = procs[pid][0]
    return seen


@pytest.fixture
def install(tmp_path) -> tuple[dict[str, str], Path]:
    data = tmp_path / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "S3_BUCKET", "CACHE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["SHOPASSETS_DATA_DIR"] = str(data)
    return env, data


def test_one_beat_survives_a_killed_worker_and_a_second_worker_or_beat_adds_none(install, tmp_path):
    env, data = install
    port = _free_port()
    log = (tmp_path / "make-run.log").open("wb")
    # -o: the virtualenv counts as installed (the suite runs inside it)
    run = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "run", f"PORT={port}", "WORKERS=1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    extra_worker = None
    try:
        # given make run's web, worker and beat up
        _wait_for(
            lambda: _healthy(port) and all(_celery(data)),
            timeout=600,
            what="make run's web, worker and beat",
        )
        time.sleep(2)  # an embedded beat would have started its own process by now
        beats, workers = _celery(data)
        assert len(beats) == 1, _processes_of(data)
        (beat,) = beats
        procs = _processes()
        (worker,) = [pid for pid in workers if "default,gpu" in procs[pid][1]]  # the job worker
        # and bulk imports have a worker of their own, so a batch never waits behind a render
        assert [pid for pid in workers if "bulk" in procs[pid][1]], _processes_of(data)
        assert not set(workers) & _ancestors(beat), "beat runs inside a worker"

        # when the job worker is killed outright
        os.kill(worker, signal.SIGKILL)
        _wait_for(lambda: worker not in _celery(data)[1], timeout=60, what="the worker to go")

        # then the one beat is still there, on its own
        assert _celery(data)[0] == [beat]

        # when an operator starts a new worker
        worker_log = tmp_path / "worker.log"
        extra_worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "shop_assets", "worker", "-Q", "default", "-l", "info"],
            cwd=ROOT,
            env=env,
            stdout=worker_log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(lambda: b" ready." in worker_log.read_bytes(), timeout=300, what="the new worker")

        # then there is still exactly one beat
        assert _celery(data)[0] == [beat]

        # when a second beat is started with make beat
        second = subprocess.run(
            ["make", "-o", ".venv/.installed", "beat"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

        # then it refuses, naming the running one, and the first beat carries on alone
        assert second.returncode != 0
        assert (
            "already exists" in second.stdout + second.stderr and str(beat) in second.stdout + second.stderr
        )
        assert _celery(data)[0] == [beat]
    finally:
        for started in (extra_worker, run):
            if started is not None:
                _stop_group(started)
        log.close()
    # and stopping make run stops its beat too
    try:
        _wait_for(lambda: _celery(data) == ([], []), timeout=120, what="every celery process to stop")
    finally:
        for pid in sum(_celery(data), []):  # never leave one behind, even on a failure
            os.kill(pid, signal.SIGKILL)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL if it has not gone within a minute."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok
    except requests.RequestException:
        return False
