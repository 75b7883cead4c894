"""Run one fit-and-sample in its own process, under a time cap, and measure its peak memory.

Why a process per run: peak memory is only meaningful for a process that did one thing, a
crashed or hung library cannot take the harness down, and a peer runs in its own venv anyway.
The child runs at niceness :data:`NICENESS` (the machine is shared; ``nice`` is relative, so
a harness already started with ``nice -n 10`` gives its children only the difference: they
would otherwise sink to 19 and starve behind every other job), in its own session, so a run
that exceeds its cap is killed with everything it spawned and reported as ``"timeout"``.

Peak memory is the ``ru_maxrss`` that :func:`os.wait4` returns for that one child: on Linux it
is the largest resident set of the child and of the descendants it waited for, so worker
processes a library forks and joins are covered. ``getrusage(RUSAGE_CHILDREN)`` would not do:
it is a running maximum over every child the harness ever waited for.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Niceness of every run (at least; a harness started nicer passes its own on unchanged).
NICENESS = 10
#: Seconds between checks on a running child.
POLL_S = 0.2
#: Lines of a failed run's output kept in the results.
ERROR_LINES = 6


@dataclass(frozen=True)
class Outcome:
    """What became of one run: ``status`` is ``"ok"``, ``"timeout"`` or ``"error"``."""

    status: str
    wall_s: float
    peak_rss_mb: float | None
    result: dict[str, Any] | None
    error: str | None


def run(command: list[str], spec: dict[str, Any], workdir: Path, timeout_s: float) -> Outcome:
    """Write ``spec`` to ``workdir``, run ``command + [spec path]`` niced, wait at most
    ``timeout_s``; the script writes ``spec["result"]`` (JSON) when it succeeds."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    log_path = workdir / "run.log"
    started = time.perf_counter()
    with open(log_path, "w") as log:
        child = subprocess.Popen(
            ["nice", "-n", str(max(0, NICENESS - os.nice(0))), *command, str(spec_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        status, usage, child.returncode = _wait(child.pid, started + timeout_s)
    wall = time.perf_counter() - started
    peak = usage.ru_maxrss / 1024 if usage is not None else None
    result_path = Path(spec["result"])
    if status == "ok" and result_path.is_file():
        return Outcome("ok", wall, peak, json.loads(result_path.read_text()), None)
    if status == "ok":
        status = "error"
    return Outcome(status, wall, peak, None, _tail(log_path) if status == "error" else None)


def _wait(pid: int, deadline: float) -> tuple[str, Any, int]:
    """Poll the child until it exits or ``deadline`` passes; kill its session on timeout.

    Returns the status, the child's rusage and its exit code (the child is reaped here, so
    the caller hands the code to its ``Popen`` object, which then does not wait again).
    """
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            _kill_group(pid)  # stray workers the library left behind
            code = os.waitstatus_to_exitcode(status)
            return ("ok" if code == 0 else "error"), usage, code
        if time.perf_counter() > deadline:
            _kill_group(pid)
            _, status, usage = os.wait4(pid, 0)
            return "timeout", usage, os.waitstatus_to_exitcode(status)
        time.sleep(POLL_S)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _tail(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-ERROR_LINES:])[-1000:]
