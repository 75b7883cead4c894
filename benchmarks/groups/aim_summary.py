"""Mean and spread of ``out/aim_sensitive.jsonl`` per setting, as the tables of ``results.md``.

Usage (from the repository root)::

    python -m benchmarks.groups.aim_summary --since 2026-11-30T12:00
    python -m benchmarks.groups.aim_summary --data diabetes130 --by gender

One row per setting (sensitive columns, ``sensitive_weight``, ``group_share`` and, for the
latter, its partner rule, which changed during the work: :data:`RULES`): the number of
fits, the overall 2-way accuracy and each group's within-group 2-way accuracy as mean ± sample
standard deviation over the fits (fresh DP noise each; ``--se``: ± standard error of the
mean), and the mean fit time.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any

import numpy as np

from benchmarks.groups.common import OUT

#: group_share's partner rule by commit, where it differed from the final one (partner
#: columns with at most 8 codes, every cell): two experiments, both reverted.
RULES = {
    "fad2ec0": "cells the smallest group fills",
    "f0d5f3c": "≤ 5 effective values",
}


def spread(values: list[float | None], error: bool = False) -> str:
    """``mean ± sd`` (sample standard deviation; with ``error``, the standard error of the
    mean, sd / sqrt(fits); no spread for one fit)."""
    values = [v for v in values if v is not None]  # a group with no synthetic rows
    if not values:
        return "–"
    mean = float(np.mean(values))
    if len(values) < 2:
        return f"{mean:.4f}"
    sd = float(np.std(values, ddof=1))
    return f"{mean:.4f} ± {sd / np.sqrt(len(values)) if error else sd:.4f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="", help="only fits from this ISO date-time on")
    parser.add_argument("--by", default="race", help="column whose groups are tabled")
    parser.add_argument("--data", choices=("adult", "diabetes130"), default="adult")
    parser.add_argument("--se", action="store_true", help="± standard error, not sd")
    args = parser.parse_args(argv)
    settings: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for text in (OUT / "aim_sensitive.jsonl").read_text().splitlines():
        line = json.loads(text)
        if line["date"] < args.since or line.get("data", "adult") != args.data:
            continue
        groups = line["groups"].get(args.by) if args.by in line["groups"] else None
        if groups is None and args.by == "race" and "White" in line["groups"]:
            groups = line["groups"]  # the first records held the race groups only
        if groups is None:
            continue
        share = line.get("group_share", 0.0)
        key = (
            " ".join(line.get("sensitive", ["race"])),
            line["sensitive_weight"],
            share,
            line.get("group_rule") or RULES.get(line["commit"], "few-valued partners")
            if share
            else "",
        )
        settings[key].append({**line, "by": groups})
    names = sorted(
        {g for lines in settings.values() for g in lines[0]["by"]},
        key=lambda g: -next(iter(settings.values()))[0]["by"][g]["n_real"],
    )
    first = next(iter(settings.values()))[0]["by"]
    head = [f"{g} ({first[g]['n_real']:,})" for g in names]
    print(
        "| sensitive | weight | group_share | rule | fits | overall 2-way | "
        + " | ".join(head)
        + " | fit s |"
    )
    print("|---|---:|---:|---|---:|---:|" + "---:|" * len(head) + "---:|")
    for (sensitive, weight, share, rule), lines in sorted(settings.items()):
        cells = [spread([ln["by"][g]["two_way"] for ln in lines], args.se) for g in names]
        overall = spread([ln["two_way_overall"] for ln in lines], args.se)
        seconds = np.mean([ln["fit_seconds"] for ln in lines])
        print(
            f"| {sensitive} | {weight:g} | {share:g} | {rule} | {len(lines)} | {overall} | "
            + " | ".join(cells)
            + f" | {seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
