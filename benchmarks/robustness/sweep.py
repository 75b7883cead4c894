"""Sweep of bad inputs across the Python API and the CLI (issue #12).

Tries every case of :mod:`benchmarks.robustness.cases` (odd tables for every synthesizer,
metadata in Python and JSON, parameters, sampling and conditions, ``evaluate``, ``audit``,
model files for ``load``, and the CLI with CSV quirks and bad arguments), each in a forked
child with a timeout and a memory limit, prints the tally and writes ``results.md`` beside
this file.

    python -m benchmarks.robustness.sweep                 # everything (about 10 minutes)
    python -m benchmarks.robustness.sweep --only "mst:"   # cases whose name contains it
    python -m benchmarks.robustness.sweep --family load --no-write
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

from benchmarks.robustness import cases as catalogue
from benchmarks.robustness.harness import OUTCOMES, Case, Result, run_case

HERE = Path(__file__).resolve().parent
COMMAND = "python -m benchmarks.robustness.sweep"


def _prepare() -> None:
    """Fit the models and write the files the cases read, in a child (the parent forks
    every case and must not start torch's thread pools itself)."""
    setup = Case("setup", "make files", catalogue.make_files, expect="ok", timeout=600)
    result = run_case(setup)
    if result.outcome != "clean":
        sys.exit(f"setup failed: {result.outcome}: {result.detail}")
    catalogue.cli_setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run cases whose 'family: name' contains this text")
    parser.add_argument("--family", help="run one family")
    parser.add_argument("--no-write", action="store_true", help="do not write results.md")
    parser.add_argument("--no-setup", action="store_true", help="reuse the files of a last run")
    parser.add_argument(
        "--shard",
        help="I/K: run every K-th case from the I-th (0-based) and save the outcomes to "
        "shard-I.json; run K shards at once, then --merge",
    )
    parser.add_argument("--merge", type=int, metavar="K", help="write results.md from K shards")
    args = parser.parse_args(argv)
    if args.merge:
        return _merge(args.merge)
    warnings.filterwarnings("ignore")
    # imported once here, not once per forked case (torch's inductor alone takes 10 s)
    import opacus  # noqa: F401
    import sdv.single_table  # noqa: F401
    import torch._inductor  # noqa: F401

    import tabsynth  # noqa: F401

    started = time.time()
    load_before = os.getloadavg()
    if not args.no_setup:
        _prepare()
    cases = catalogue.all_cases()
    if args.family:
        cases = [c for c in cases if c.family == args.family]
    if args.only:
        cases = [c for c in cases if args.only in f"{c.family}: {c.name}"]
    shard = None
    if args.shard:
        index, count = (int(x) for x in args.shard.split("/"))
        shard = (index, count)
        cases = cases[index::count]
    results: list[Result] = []
    write = not args.no_write and not args.only and not args.family and shard is None
    for i, case in enumerate(cases, 1):
        result = run_case(case)
        results.append(result)
        flag = "  " if result.outcome == "clean" else "!!"
        print(
            f"{flag} [{i}/{len(cases)}] {case.family}: {case.name} -> {result.outcome} "
            f"({result.seconds:.1f}s) {result.detail[:160]}",
            flush=True,
        )
        if write and i % 25 == 0 and i < len(cases):  # a long run leaves a readable record
            partial = render(results, time.time() - started, load_before, os.getloadavg(), argv)
            (HERE / "results.md").write_text(
                partial.replace("\n\n", f"\n\n**Partial: {i} of {len(cases)} cases run.**\n\n", 1)
            )
        if shard is not None:
            _save_shard(shard, results, time.time() - started, load_before)
    elapsed = time.time() - started
    text = render(results, elapsed, load_before, os.getloadavg(), argv)
    tally = text.split("## Remaining failures")[0]
    print(tally)
    if write:
        (HERE / "results.md").write_text(text)
    return 0


def _save_shard(
    shard: tuple[int, int], results: list[Result], elapsed: float, load: tuple[float, ...]
) -> None:
    """The outcomes so far of one shard, for :func:`_merge`."""
    rows = [[r.case.family, r.case.name, r.outcome, r.detail, round(r.seconds, 2)] for r in results]
    record = {"shard": list(shard), "elapsed": elapsed, "load": list(load), "results": rows}
    (HERE / f"shard-{shard[0]}.json").write_text(json.dumps(record))


def _merge(count: int) -> int:
    """Write results.md from the ``count`` shard files of one sharded run."""
    results, elapsed, loads = [], 0.0, []
    for index in range(count):
        record = json.loads((HERE / f"shard-{index}.json").read_text())
        elapsed = max(elapsed, record["elapsed"])
        loads.append(record["load"][0])
        for family, name, outcome, detail, seconds in record["results"]:
            results.append(Result(Case(family, name, lambda: None), outcome, detail, seconds))
    order = {(c.family, c.name): i for i, c in enumerate(catalogue.all_cases())}
    results.sort(key=lambda r: order.get((r.case.family, r.case.name), len(order)))
    done = {(r.case.family, r.case.name) for r in results}
    load = (max(loads), 0.0, 0.0)
    argv = [f"--shard I/{count} (x{count}, at once)", f"then --merge {count}"]
    text = render(results, elapsed, load, os.getloadavg(), argv)
    if len(results) < len(order):
        missing = collections.Counter(
            c.family for c in catalogue.all_cases() if (c.family, c.name) not in done
        )
        note = ", ".join(f"{family} {n}" for family, n in missing.items())
        text = text.replace(
            "\n\n",
            f"\n\n**Partial: {len(results)} of {len(order)} cases ran** before the run was "
            f"stopped; not run: {note}.\n\n",
            1,
        )
    (HERE / "results.md").write_text(text)
    print(text.split("## Remaining failures")[0])
    return 0


def render(
    results: list[Result],
    elapsed: float,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    argv: list[str] | None,
) -> str:
    by_family: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in results:
        by_family[r.case.family][r.outcome] += 1
    total = collections.Counter(r.outcome for r in results)
    clean = total["clean"]
    lines = [
        "# Robustness sweep (issue #12)",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `{' '.join([COMMAND, *(argv or sys.argv[1:])])}`",
        f"- machine: {platform.node()}, {os.cpu_count()} cores; load average before "
        f"{load_before[0]:.2f} / after {load_after[0]:.2f} (1 min)",
        f"- wall time: {elapsed / 60:.1f} min for {len(results)} cases, each in a forked "
        "child with a 60 s timeout (30 s for model files) and a 3 GiB memory limit",
        "",
        f"**{clean} of {len(results)} cases clean ({100 * clean / max(len(results), 1):.1f} %)**: "
        "a project error with a message that says what to fix, or a correct result.",
        "",
        "| family | cases | " + " | ".join(OUTCOMES) + " |",
        "|---|---:|" + "---:|" * len(OUTCOMES),
    ]
    for family, counts in by_family.items():
        lines.append(
            f"| {family} | {sum(counts.values())} | "
            + " | ".join(str(counts[o]) for o in OUTCOMES)
            + " |"
        )
    lines.append(
        f"| **all** | {len(results)} | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |"
    )
    lines += [
        "",
        "Outcomes: *clean* (the expected project error, or a result that passed its check), "
        "*traceback* (an exception that is not a `TabsynthError`, or one whose message lacks "
        "what to fix), *silent_change* (a result whose data changed), *silent_accept* (a "
        "result where the input should be refused), *wrong_refusal* (a project error for a "
        "valid input), *oom*, *stall*.",
        "",
        "## Remaining failures",
        "",
    ]
    for r in results:
        if r.outcome != "clean":
            lines.append(f"- **{r.outcome}** {r.case.family}: {r.case.name} - {r.detail[:300]}")
    if total["clean"] == len(results):
        lines.append("None.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
