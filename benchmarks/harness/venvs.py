"""Peer virtual environments, one per peer library, built from pinned requirement files.

Why one venv per peer: their pins conflict with each other and with tabsynth (smartnoise-synth
wants opacus 0.14 from 2021, the MOSTLY AI engine opacus >= 1.6 and a transformers stack), and
none of them may disturb the environment tabsynth is measured in. The harness talks to them
only through files (:mod:`benchmarks.harness.peers`), so they need nothing from tabsynth.

Every venv starts with the CPU build of torch (``torch-cpu.txt``): a later requirement on torch
is then met, where an unpinned one would pull several GB of CUDA packages. A venv counts as
installed when its ``INSTALLED.json`` exists; it records the exact commands and ``pip freeze``,
so a result can say how its peer was installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "benchmarks" / "requirements"
#: Git-ignored home of the peer venvs (see /work/shared/peers/README.md).
PEERS_DIR = REPO / ".peers"
MARKER = "INSTALLED.json"


@dataclass(frozen=True)
class Step:
    """One ``pip install -r FILE`` call; ``no_deps`` for packages whose pins cannot be met."""

    requirements: str
    no_deps: bool = False


@dataclass(frozen=True)
class PeerEnv:
    """A peer venv: its folder name under ``.peers/`` and its install steps, in order."""

    name: str
    steps: tuple[Step, ...]

    def home(self, root: Path = PEERS_DIR) -> Path:
        return root / self.name

    def python(self, root: Path = PEERS_DIR) -> Path:
        return self.home(root) / "bin" / "python"


TORCH = Step("torch-cpu.txt")
ENVS: dict[str, PeerEnv] = {
    "sdv": PeerEnv("sdv", (TORCH, Step("sdv.txt"))),
    "sn": PeerEnv("sn", (TORCH, Step("smartnoise.txt"))),
    "mostly": PeerEnv(
        "mostly", (TORCH, Step("mostlyai-nodeps.txt", no_deps=True), Step("mostlyai.txt"))
    ),
}


def install_record(env: PeerEnv, root: Path = PEERS_DIR) -> dict[str, Any] | None:
    """What :func:`setup` recorded for ``env``, or ``None`` when it is not installed."""
    marker = env.home(root) / MARKER
    if not marker.is_file() or not env.python(root).is_file():
        return None
    return json.loads(marker.read_text())


def setup(env: PeerEnv, root: Path = PEERS_DIR, log: Callable[[str], None] = print) -> bool:
    """Create ``env`` from scratch and install its steps; ``True`` on success.

    A failed install leaves no marker, so the benchmark reports the peer as "not installed"
    and the pip output stays in ``NAME-install.log`` beside it for the reason (outside the
    venv folder, which ``venv --clear`` empties).
    """
    home = env.home(root)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).unlink(missing_ok=True)
    log_path = root / f"{env.name}-install.log"
    pip = [str(env.python(root)), "-m", "pip", "install"]
    commands = [[sys.executable, "-m", "venv", "--clear", str(home)]]
    for step in env.steps:
        extra = ["--no-deps"] if step.no_deps else []
        commands.append([*pip, *extra, "-r", str(REQUIREMENTS / step.requirements)])
    started = time.time()
    with open(log_path, "w") as out:
        for command in commands:
            log(f"[{env.name}] {' '.join(command)}")
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            done = subprocess.run(["nice", "-n", "10", *command], stdout=out, stderr=out)
            if done.returncode != 0:
                log(f"[{env.name}] failed (exit {done.returncode}); see {log_path}")
                return False
    freeze = subprocess.run(
        [str(env.python(root)), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.split()
    record = {
        "env": env.name,
        "commands": [" ".join(c).replace(str(REPO) + "/", "") for c in commands],
        "requirements": {
            s.requirements: (REQUIREMENTS / s.requirements).read_text() for s in env.steps
        },
        "install_seconds": round(time.time() - started, 1),
        "freeze": freeze,
    }
    (home / MARKER).write_text(json.dumps(record, indent=2) + "\n")
    log(f"[{env.name}] installed in {record['install_seconds']:.0f} s")
    return True
