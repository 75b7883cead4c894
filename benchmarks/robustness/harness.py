"""Run bad-input cases in forked children, each with a time and memory limit, and classify them.

A case is a callable plus what a correct outcome is: a clean error (one of tabsynth's own
exceptions, or a CLI exit 2 with a one-line message), a result that passes a check, or
either. Each case runs in its own forked child of a parent that has already imported
tabsynth, SDV and torch, so a case costs milliseconds of start-up, a crash or an
out-of-memory in one case cannot take the sweep down, and a stall is cut off.

Outcomes:

* ``clean``: the expected kind of outcome (a project error where one is due, or a result
  that passed its check);
* ``traceback``: an exception that is not a :class:`tabsynth.errors.TabsynthError` (for the
  CLI: one that escaped ``main``, or an exit code other than 0, 1 and 2);
* ``silent_change``: a result came back but its check found data changed;
* ``silent_accept``: a result came back where the input should have been refused;
* ``wrong_refusal``: a project error for an input that is valid and should have worked;
* ``oom``: ``MemoryError``, or the child grew past :data:`MEMORY_LIMIT` and was killed;
* ``stall``: the case ran past its timeout and was killed.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

#: Resident memory above which a case's child is killed and counted as ``oom``. The sweep
#: shares a 23 GB machine with other work; no case of a few thousand rows needs this much.
MEMORY_LIMIT = 3 * 2**30
#: Seconds a case may run by default: "no stall past a minute" (issue #12).
DEFAULT_TIMEOUT = 60.0

Expect = Literal["error", "ok", "either"]
OUTCOMES = ("clean", "traceback", "silent_change", "silent_accept", "wrong_refusal", "oom", "stall")


@dataclass
class Case:
    """One input to try. ``run`` returns a value for ``check`` (``None``: fine, else a text
    saying what was changed); ``match`` is a substring the error message must contain."""

    family: str
    name: str
    run: Callable[[], Any]
    expect: Expect = "error"
    check: Callable[[Any], str | None] | None = None
    match: str | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class Result:
    case: Case
    outcome: str
    detail: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class CliResult:
    """What ``tabsynth.cli.main`` did: exit code and stderr (stdout discarded)."""

    def __init__(self, code: int, stderr: str) -> None:
        self.code = code
        self.stderr = stderr


class CliTraceback(Exception):
    """An exception escaped ``tabsynth.cli.main`` (a raw traceback for the user)."""


def run_cli(argv: list[str]) -> CliResult:
    """Run ``tabsynth argv`` in this process, the way the console script does."""
    from tabsynth.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # audit's exit 1
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            raise CliTraceback(f"{type(exc).__name__}: {exc}") from None
    return CliResult(code, err.getvalue())


def _child(case: Case, conn: Any) -> None:
    """Run ``case`` and send back ``(outcome, detail)``."""
    from tabsynth.errors import TabsynthError

    os.nice(5)
    with contextlib.suppress(Exception):
        import torch

        torch.set_num_threads(1)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - progress bars, warnings; the child exits
    try:
        value = case.run()
    except MemoryError:
        conn.send(("oom", "MemoryError"))
        return
    except TabsynthError as exc:
        text = " ".join(str(exc).split())
        if case.expect == "ok":
            conn.send(("wrong_refusal", f"{type(exc).__name__}: {text}"))
        elif case.match and case.match.lower() not in text.lower():
            conn.send(("traceback", f"unhelpful {type(exc).__name__}: {text}"))
        else:
            conn.send(("clean", f"{type(exc).__name__}: {text}"))
        return
    except CliTraceback as exc:
        conn.send(("traceback", f"CLI: {exc}"[:400]))
        return
    except BaseException as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].filename.split('site-packages/')[-1]}:{tb[-1].lineno}" if tb else ""
        conn.send(
            ("traceback", f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300] + where)
        )
        return
    if isinstance(value, CliResult):
        conn.send(_classify_cli(case, value))
        return
    if case.expect == "error":
        conn.send(("silent_accept", f"returned {type(value).__name__}"))
        return
    problem = case.check(value) if case.check is not None else None
    if problem:
        conn.send(("silent_change", problem))
    else:
        conn.send(("clean", "result ok"))


def _classify_cli(case: Case, res: CliResult) -> tuple[str, str]:
    text = res.stderr.replace("\r", "\n")  # progress bars end their lines with \r
    lines = [line[line.index("tabsynth") :] for line in text.splitlines() if "error:" in line]
    if res.code == 2:
        message = lines[-1] if lines else res.stderr.strip().splitlines()[-1:]
        message = message if isinstance(message, str) else " ".join(message)
        if "Traceback" in res.stderr:
            return "traceback", message
        if case.expect == "ok":
            return "wrong_refusal", message
        if case.match and case.match.lower() not in message.lower():
            return "traceback", f"unhelpful: {message}"
        return "clean", message
    if res.code in (0, 1):
        if case.expect == "error":
            return "silent_accept", f"exit {res.code}"
        problem = case.check(res) if case.check is not None else None
        return ("silent_change", problem) if problem else ("clean", f"exit {res.code}")
    return "traceback", f"exit {res.code}: {res.stderr.strip()[-300:]}"


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_case(case: Case) -> Result:
    """Fork, run ``case`` under its timeout and :data:`MEMORY_LIMIT`, classify."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(case, child), daemon=True)
    start = time.monotonic()
    proc.start()
    child.close()
    outcome, detail = None, ""
    while True:
        if parent.poll(0.05):
            with contextlib.suppress(EOFError):
                outcome, detail = parent.recv()
            break
        if not proc.is_alive():
            break
        if _rss(proc.pid) > MEMORY_LIMIT:
            outcome, detail = "oom", f"resident memory passed {MEMORY_LIMIT / 2**30:.0f} GiB"
            break
        if time.monotonic() - start > case.timeout:
            outcome, detail = "stall", f"ran past {case.timeout:.0f} s"
            break
    seconds = time.monotonic() - start
    if proc.is_alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    if outcome is None:
        code = proc.exitcode
        outcome = "oom" if code == -signal.SIGKILL else "traceback"
        detail = f"child died (exit {code})"
    return Result(case, outcome, detail, seconds)
