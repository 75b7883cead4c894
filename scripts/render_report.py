"""Render a tabsynth HTML report with headless Chromium and check that it drew a page.

Usage::

    python scripts/render_report.py REPORT.html OUT.png [--height 4000]

A report is read by people in a browser, so "the HTML is well formed" is not enough: this
takes a real screenshot (1280 px wide) and fails when the image is blank. Chromium runs with
networking features off and a throw-away profile, so the check also shows the page needs
nothing from the network. Set ``CHROMIUM`` to use a binary other than ``chromium`` on PATH.

Exit codes: 0 rendered, 1 blank screenshot, 2 bad arguments or Chromium missing or failing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from tabsynth.io import atomic_write_bytes

#: A screenshot counts as rendered when at least this share of pixels is not background.
MIN_INK = 0.01
TIMEOUT_S = 120


def chromium_binary() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


def screenshot(report: Path, out: Path, height: int = 4000) -> None:
    """Render ``report`` to ``out`` (written atomically) with headless Chromium."""
    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "shot.png"
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size=1280,{height}",
            report.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        if done.returncode != 0 or not shot.exists():
            raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
        atomic_write_bytes(out, shot.read_bytes())


def ink(png: Path) -> float:
    """Share of pixels that differ from the page background (the most common colour)."""
    gray = np.asarray(Image.open(png).convert("L"), dtype=np.int16)
    values, counts = np.unique(gray, return_counts=True)
    background = values[np.argmax(counts)]
    return float(np.mean(np.abs(gray - background) > 16))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="the report's HTML file")
    parser.add_argument("out", type=Path, help="where to write the PNG screenshot")
    parser.add_argument("--height", type=int, default=4000, help="window height in pixels")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"error: {args.report} does not exist", file=sys.stderr)
        return 2
    try:
        screenshot(args.report, args.out, args.height)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    share = ink(args.out)
    if share < MIN_INK:
        print(f"blank: only {share:.2%} of pixels drawn in {args.out}", file=sys.stderr)
        return 1
    print(f"rendered {args.out} ({share:.1%} of pixels drawn)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
