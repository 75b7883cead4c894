"""The ``tabsynth`` command line: fit, sample, metadata, privacy, report, audit, demo.

Every command maps onto the Python API one to one. Bad input of any kind ends with exit code
2 and a one-line message that says what to fix (no traceback); ``--debug`` shows the
traceback for bug reports. Every input and output path is checked before any data is read or
any model is fitted, so a typo in ``--out`` costs nothing. SIGTERM is handled like Ctrl-C:
the write in progress removes its temporary file, and the exit code is 143 (130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from tabsynth import __version__
from tabsynth.errors import FileFormatError, ParameterError, TabsynthError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

#: Seeds: whole numbers in [0, 2**63) (``tabsynth.synthesizers.base.MAX_SEED``); the report's
#: scikit-learn models take seeds below 2**32, so ``demo`` (which also writes a report) does.
MAX_SEED = 2**63 - 1
MAX_REPORT_SEED = 2**32 - 1


def _status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


#: Parameters that have an option of their own; ``--param`` may not set them too.
_OWN_OPTIONS = ("epsilon", "delta", "seed")


def _parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON when they parse (numbers, lists, true)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"--param takes key=value, not {pair!r}")
        if key in _OWN_OPTIONS:
            # one would silently win over the other
            raise ParameterError(f"set {key} with --{key}, not --param {pair}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with a pointer to ``--help``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {text} (see '{self.prog} --help')\n")


def _whole_number(text: str, what: str, low: int, high: int | None = None) -> int:
    """``text`` as an int in [low, high]; else an argparse error saying what is accepted."""
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        if high is not None:
            accepted = f"an integer from {low:,} to {_power_of_two(high)}"
        else:
            accepted = "a positive integer" if low == 1 else f"an integer of at least {low:,}"
        raise argparse.ArgumentTypeError(f"{what} must be {accepted}, not {text!r}")
    return value


def _power_of_two(high: int) -> str:
    for bits in (63, 32):
        if high == 2**bits - 1:
            return f"2**{bits} - 1"
    return f"{high:,}"


def _seed(text: str) -> int:
    return _whole_number(text, "a seed", 0, MAX_SEED)


def _report_seed(text: str) -> int:
    return _whole_number(text, "a seed", 0, MAX_REPORT_SEED)


def _rows(text: str) -> int:
    return _whole_number(text, "the number of rows", 1)


def _background_rows(text: str) -> int:
    return _whole_number(text, "the number of background rows", 2)


def _targets(text: str) -> int:
    return _whole_number(text, "the number of targets", 1)


#: Arguments that name files to read, and what the message calls them.
_INPUTS = {
    "data": "input file",
    "real": "real table",
    "synthetic": "synthetic table",
    "holdout": "holdout table",
    "model": "model file",
    "metadata": "metadata file",
    "dictionary": "data dictionary",
    "audit": "audit JSON",
}
#: Arguments that name files to write.
_OUTPUTS = ("out", "json")


def check_paths(args: argparse.Namespace) -> None:
    """Check every input and output path of a parsed command before any work is done.

    Inputs must be readable files; outputs must not be folders, their folder must exist and
    be writable, ``sample`` writes only table formats, no output may overwrite an input or
    another output, and ``demo``'s ``--out-dir`` must not be a file.
    """
    from tabsynth.io import TABLE_SUFFIXES, check_input_path, check_output_path

    inputs = []
    for attr, what in _INPUTS.items():
        value = getattr(args, attr, None)
        if isinstance(value, str) and value:
            inputs.append(check_input_path(value, what))
    seen: dict[Path, str] = {_resolved(p): str(p) for p in inputs}
    for attr in _OUTPUTS:
        value = getattr(args, attr, None)
        if value is None:
            continue
        suffixes = TABLE_SUFFIXES if args.command == "sample" and attr == "out" else None
        target = check_output_path(value, suffixes)
        key = _resolved(target)
        if key in seen:
            raise FileFormatError(
                f"--{attr} {value} would overwrite {seen[key]}, which this command reads or "
                "writes too; choose another output file"
            )
        seen[key] = value
    out_dir = getattr(args, "out_dir", None)
    if out_dir is not None and not out_dir.strip():
        raise FileFormatError("--out-dir is empty; give a folder (it is created if missing)")
    if out_dir is not None and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise FileFormatError(
            f"--out-dir {out_dir} is a file, not a folder; give a folder (it is created if missing)"
        )


def _resolved(path: str | Path) -> Path:
    try:
        return Path(path).resolve()
    except OSError:  # pragma: no cover - a path resolve() cannot follow
        return Path(path).absolute()


def make_synthesizer(
    name: str,
    epsilon: float | None = None,
    delta: float | None = None,
    seed: int | None = None,
    params: dict[str, Any] | None = None,
) -> Any:
    """Build a registered synthesizer by name, passing privacy arguments only where they fit."""
    from tabsynth.synthesizers import REGISTRY

    cls = REGISTRY.get(name)
    if cls is None:
        raise ParameterError(f"unknown synthesizer {name!r}; choose one of {', '.join(REGISTRY)}")
    accepted = set(cls._param_names())
    kwargs = dict(params or {})
    if seed is not None:
        kwargs["seed"] = seed
    if delta is not None and epsilon is None:
        raise ParameterError("--delta needs --epsilon: without ε the fit makes no privacy claim")
    if "epsilon" in accepted and epsilon is None and _requires(cls, "epsilon"):
        raise ParameterError(f"{name} is differentially private and needs --epsilon, e.g. 1")
    for key, value in (("epsilon", epsilon), ("delta", delta)):
        if value is None:
            continue
        if key not in accepted:
            private = [n for n, c in REGISTRY.items() if "epsilon" in c._param_names()]
            raise ParameterError(
                f"{name} is not differentially private and takes no --{key}; "
                f"use a DP synthesizer ({', '.join(private) or 'none installed'})"
            )
        kwargs[key] = value
    unknown = set(kwargs) - accepted
    if unknown:
        raise ParameterError(
            f"{name} takes no parameter {sorted(unknown)}; it takes {sorted(accepted)}"
        )
    return cls(**kwargs)


def _requires(cls: type, parameter: str) -> bool:
    """Whether the constructor of ``cls`` has no default for ``parameter``."""
    import inspect

    return inspect.signature(cls.__init__).parameters[parameter].default is inspect._empty


def _fit(args: argparse.Namespace) -> None:
    from tabsynth.io import is_csv, read_table

    synth = make_synthesizer(
        args.synthesizer, args.epsilon, args.delta, args.seed, _parse_params(args.param)
    )
    if synth.private:
        _fit_private(args, synth)
        return
    data = read_table(args.data, as_text=args.metadata is not None and is_csv(args.data))
    _status(f"fitting {args.synthesizer} on {len(data):,} rows x {data.shape[1]} columns ...")
    start = time.perf_counter()
    synth.fit(data, metadata=args.metadata)
    synth.save(args.out)
    _status(f"fitted in {time.perf_counter() - start:.1f} s; model written to {args.out}")


def _fit_private(args: argparse.Namespace, synth: Any) -> None:
    """A DP fit prints nothing that depends on the rows: no row count, no timing.

    Column types come from declarations only: a CSV carries none, so it is read as text and
    typed by ``--metadata``; a Parquet file brings its stored schema.
    """
    from tabsynth.errors import FileFormatError
    from tabsynth.io import is_csv, read_table

    csv = is_csv(args.data)
    if csv and args.metadata is None:
        raise ParameterError(
            "a differentially private fit of a CSV file needs --metadata: a CSV stores no "
            "column types, and guessing them from the values would leak. Write one with "
            "'tabsynth metadata detect DATA --schema-only --out M.json', check the kinds, set "
            '"source": "user", and pass --metadata M.json (or use a Parquet file, whose schema '
            "is declared)"
        )
    try:
        data = read_table(args.data, as_text=csv)
    except FileFormatError:
        # The reader's own message can quote a row or its line number, i.e. the row count.
        raise FileFormatError(
            f"cannot read {args.data}: it is not a well-formed "
            f"{'CSV' if csv else 'Parquet'} file (the reader's details are withheld in a DP fit, "
            "since they can quote rows or the row count); check the file with another tool"
        ) from None
    _status(f"fitting {args.synthesizer} under differential privacy ...")
    synth.fit(data, metadata=args.metadata)
    synth.save(args.out)
    _status(f"model written to {args.out}")
    _status(f"privacy: ({synth.privacy.epsilon:.3g}, {synth.privacy.delta:.3g})-DP")


def _sample(args: argparse.Namespace) -> None:
    from tabsynth.io import write_table
    from tabsynth.synthesizers import load

    synth = load(args.model, trusted=args.trusted)
    out = synth.sample(args.n, seed=args.seed)
    write_table(out, args.out)
    _status(f"wrote {len(out):,} synthetic rows to {args.out}")


def _metadata_detect(args: argparse.Namespace) -> None:
    from tabsynth.io import read_table
    from tabsynth.metadata import Metadata

    md = Metadata.detect(read_table(args.data))
    if args.schema_only:
        md = md.schema_only()
        md.save(args.out)
        _status(
            f"wrote the kinds of {len(md)} columns to {args.out}, without bounds or "
            "categories. The kinds were read from the values (source: data), so DP "
            'synthesizers refuse the file until you have checked each one and set "source": '
            '"user"'
        )
        return
    md.save(args.out)
    _status(
        f"wrote metadata for {len(md)} columns to {args.out}; its bounds and categories come "
        "from the data (source: data), so DP synthesizers refuse it until you declare them"
    )


def _metadata_draft(args: argparse.Namespace) -> None:
    """Draft metadata with notes (:func:`tabsynth.metadata_tools.draft`); never public."""
    from tabsynth.io import read_table
    from tabsynth.metadata import parse_json, read_json_text
    from tabsynth.metadata_tools import draft

    labels = None
    if args.value_labels:
        labels = parse_json(read_json_text(args.value_labels, "code book"), "code book")
    result = draft(read_table(args.data), value_labels=labels)
    result.save(args.out)
    for column, question in result.confirm.items():
        _status(f"{column}: {question}")
    _status(
        f"wrote a draft for {len(result.metadata)} columns to {args.out}. It was read from the "
        "data (source: data), so no synthesizer treats it as public: check every column against "
        'its notes, then set "source": "user" and "public": true'
        + (
            f"; the values cannot decide {len(result.confirm)} kinds (above)"
            if result.confirm
            else ""
        )
    )


def _metadata_check(args: argparse.Namespace) -> None:
    """List what DATA contradicts in the metadata; exit 1 when anything does."""
    from tabsynth.io import is_csv, read_table
    from tabsynth.metadata import Metadata
    from tabsynth.metadata_tools import check, open_questions

    metadata = Metadata.load(args.metadata)
    findings = check(
        metadata, read_table(args.data, as_text=is_csv(args.data)), show_values=args.show_values
    )
    for column, question in open_questions(args.metadata).items():
        _status(f"{column}: {question}")
    for finding in findings:
        print(finding)
    if findings:
        _status(
            f"{len(findings)} contradiction{'s' if len(findings) > 1 else ''} between "
            f"{args.data} and {args.metadata}"
            + ("" if args.show_values else "; --show-values N quotes up to N values of each")
        )
        raise SystemExit(1)
    _status(f"{args.data} fits {args.metadata}: no contradictions")


def _metadata_from_dictionary(args: argparse.Namespace) -> None:
    from tabsynth.metadata_tools import load_dictionary

    metadata = load_dictionary(args.dictionary)
    metadata.save(args.out)
    _status(
        f"wrote metadata for {len(metadata)} columns to {args.out} (source: user, not yet "
        'public: set "public": true once the domain is public knowledge)'
    )


def _metadata_from_schema(args: argparse.Namespace) -> None:
    from tabsynth.metadata_tools import from_arrow_schema

    metadata = from_arrow_schema(args.data)
    metadata.save(args.out)
    _status(
        f"wrote the kinds of {len(metadata)} columns to {args.out}, from the file's declared "
        "types (no rows read); text columns are taken as categories: declare ids and free text"
    )


def _metadata_suggest_rules(args: argparse.Namespace) -> None:
    import json

    from tabsynth.io import atomic_write_text, is_csv, read_table
    from tabsynth.metadata import Metadata
    from tabsynth.rules.suggest import WARNING, draft

    data = read_table(args.data, as_text=args.metadata is not None and is_csv(args.data))
    md = Metadata.load(args.metadata) if args.metadata else Metadata.detect(data)
    found = draft(data, md)
    atomic_write_text(args.out, json.dumps(found, indent=2) + "\n")
    _status(f"wrote {len(found['rules'])} candidate rules to {args.out}. {WARNING}")


def _privacy(args: argparse.Namespace) -> None:
    from tabsynth.synthesizers import load

    synth = load(args.model, trusted=args.trusted)
    if synth.privacy is None:
        print(f"{type(synth).__name__} is not differentially private: it makes no privacy claim.")
        return
    print(synth.privacy.explain())


def _read_json(path: str, what: str) -> dict[str, Any]:
    """A JSON object from a file; a clear error when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"cannot read the {what} JSON {path}: {exc}") from None
    if not isinstance(data, dict) or "verdict" not in data:
        raise FileFormatError(
            f"{path} is not an {what} result; write one with tabsynth {what} --json"
        )
    return data


def _report(args: argparse.Namespace) -> None:
    from tabsynth.evaluation import evaluate
    from tabsynth.io import read_table
    from tabsynth.synthesizers.base import as_metadata

    holdout = read_table(args.holdout) if args.holdout else None
    report = evaluate(
        read_table(args.real),
        read_table(args.synthetic),
        holdout=holdout,
        metadata=as_metadata(args.metadata),
        target=args.target,
        sensitive=args.sensitive or None,
        audit=_read_json(args.audit, "audit") if args.audit else None,
    )
    from tabsynth.io import atomic_write_text

    html = report.to_html()  # both texts first, so a failure writes neither file
    text = report.to_json() + "\n" if args.json else None
    atomic_write_text(args.out, html)
    if text is not None:
        atomic_write_text(args.json, text)
    print(report.summary())
    _status(f"report written to {args.out}" + (f" and {args.json}" if args.json else ""))


def _audit(args: argparse.Namespace) -> None:
    from tabsynth.evaluation.audit import audit
    from tabsynth.io import read_table

    params = _parse_params(args.param)
    if args.mode == "worst-case" and args.epsilon is not None:
        from tabsynth.evaluation.audit_dpsgd import worst_case_params

        params = {**worst_case_params(args.synthesizer), **params}  # the game's schedule

    def factory() -> Any:
        return make_synthesizer(args.synthesizer, args.epsilon, args.delta, None, params)

    factory()  # a bad name or parameter fails here, before the data is read
    if args.mode == "worst-case":
        result = audit(
            factory,
            mode="worst-case",
            trials=args.trials,
            seed=args.seed or 0,
            max_seconds=args.max_seconds,
            workers=args.workers,
        )
    elif args.data is None:
        raise ParameterError("the realistic audit needs the table to audit on (DATA)")
    else:
        result = audit(
            factory,
            read_table(args.data),
            metadata=args.metadata,
            trials=args.trials,
            targets=args.targets,
            n_rows=args.rows,
            seed=args.seed or 0,
            max_seconds=args.max_seconds,
        )
    result.to_html(args.out)
    if args.json:
        from tabsynth.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(result.to_dict(), indent=2) + "\n")
    print(result.summary())
    _status(f"audit written to {args.out}" + (f" and {args.json}" if args.json else ""))
    if result.verdict == "failed":
        # a refuted privacy claim must fail scripts and CI jobs; main() maps only errors
        raise SystemExit(1)


def _demo(args: argparse.Namespace) -> None:
    """AIM at ε = 1 on 80% of the medical sample (see :mod:`tabsynth.demo`), or another
    synthesizer; sample, and report against the held-out 20%; end with the verdict and paths."""
    from tabsynth.demo import EPSILON, demo_synthesizer, run_demo
    from tabsynth.synthesizers import REGISTRY

    if args.non_private and (args.synthesizer or args.epsilon is not None):
        raise ParameterError("--non-private takes neither --synthesizer nor --epsilon")
    name = "gaussian_copula" if args.non_private else (args.synthesizer or "aim")
    cls = REGISTRY.get(name)
    if name == "aim" and args.synthesizer is None:
        synth = demo_synthesizer(args.epsilon if args.epsilon is not None else EPSILON, args.seed)
    else:
        private = cls is not None and "epsilon" in cls._param_names() and _requires(cls, "epsilon")
        epsilon = args.epsilon if args.epsilon is not None or not private else EPSILON
        synth = make_synthesizer(name, epsilon, None, args.seed, None)
    result = run_demo(args.out_dir, synthesizer=synth, seed=args.seed, status=_status)
    print(result.report.summary())
    print(f"\nVerdict: {result.report.overall.upper()}")
    print(f"  synthetic table: {result.table}")
    print(f"  report:          {result.html} (open in a browser) and {result.json}")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="tabsynth",
        description="Synthetic copies of sensitive tables, with differential privacy on "
        "request, a fidelity and privacy-risk report, and a privacy audit.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"tabsynth {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "fit",
        help="fit a synthesizer to a table and save the model",
        description="Fit a synthesizer to DATA (CSV or Parquet) and write a model "
        "file. With --epsilon the fit is differentially private end to end.",
    )
    p.add_argument("data", help="training table (.csv, .csv.gz or .parquet)")
    p.add_argument("--synthesizer", "-s", required=True, help="registered name, e.g. aim")
    p.add_argument("--metadata", "-m", help="metadata JSON (tabsynth or SDV layout)")
    p.add_argument("--epsilon", type=float, help="privacy budget ε (DP synthesizers only)")
    p.add_argument("--delta", type=float, help="privacy budget δ (DP synthesizers only)")
    p.add_argument("--seed", type=_seed, help="seed for non-private randomness")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra synthesizer parameter (repeatable), e.g. --param epochs=50",
    )
    p.add_argument("--out", "-o", required=True, help="model file to write (.tsyn)")
    p.set_defaults(func=_fit)

    p = sub.add_parser("sample", help="sample a synthetic table from a saved model")
    p.add_argument("model", help="model file written by 'tabsynth fit'")
    p.add_argument("-n", type=_rows, required=True, help="number of rows")
    p.add_argument("--seed", type=_seed, help="seed: the same seed gives the same rows")
    p.add_argument("--out", "-o", required=True, help="output table (.csv or .parquet)")
    p.add_argument(
        "--trusted",
        action="store_true",
        help="allow models stored as pickles (SDV baselines) that you made yourself",
    )
    p.set_defaults(func=_sample)

    p = sub.add_parser("metadata", help="work with metadata files")
    msub = p.add_subparsers(dest="metadata_command", required=True, metavar="ACTION")
    d = msub.add_parser("detect", help="detect metadata from a table (not private)")
    d.add_argument("data", help="table to inspect")
    d.add_argument("--out", "-o", required=True, help="metadata JSON to write")
    d.add_argument(
        "--schema-only",
        action="store_true",
        help="write kinds only (no bounds or categories): a draft schema for a DP fit",
    )
    d.set_defaults(func=_metadata_detect)
    d = msub.add_parser(
        "draft",
        help="draft metadata to edit: kinds with rules for coded data, round bounds, notes",
    )
    d.add_argument("data", help="table to inspect")
    d.add_argument("--out", "-o", required=True, help="metadata JSON to write (with notes)")
    d.add_argument(
        "--value-labels",
        help='code book JSON, {"column": {"code": "label"}}: labels that read as yes/no make '
        "a two-valued column a flag",
    )
    d.set_defaults(func=_metadata_draft)
    d = msub.add_parser(
        "check",
        help="list what a table contradicts in a metadata file (exit 1 when anything does)",
    )
    d.add_argument("metadata", help="metadata JSON")
    d.add_argument("data", help="table to check")
    d.add_argument(
        "--show-values",
        type=int,
        default=0,
        metavar="N",
        help="quote up to N offending values per finding (default 0: counts only; the values "
        "come from the private rows)",
    )
    d.set_defaults(func=_metadata_check)
    d = msub.add_parser(
        "from-dictionary",
        help="metadata from a data dictionary in CSV (column, kind, type, lower, upper, codes, "
        "nullable, format, group)",
    )
    d.add_argument("dictionary", help="CSV with one row per column")
    d.add_argument("--out", "-o", required=True, help="metadata JSON to write")
    d.set_defaults(func=_metadata_from_dictionary)
    d = msub.add_parser(
        "from-schema", help="kinds from a Parquet file's declared types (reads no rows)"
    )
    d.add_argument("data", help="Parquet file")
    d.add_argument("--out", "-o", required=True, help="metadata JSON to write")
    d.set_defaults(func=_metadata_from_schema)
    r = msub.add_parser(
        "suggest-rules",
        help="list candidate rules that hold in a table: a draft to review (reads the rows)",
    )
    r.add_argument("data", help="table to inspect")
    r.add_argument("--metadata", "-m", help="metadata JSON (detected from the table if omitted)")
    r.add_argument("--out", "-o", required=True, help="draft JSON to write (not a metadata file)")
    r.set_defaults(func=_metadata_suggest_rules)

    p = sub.add_parser("privacy", help="explain what a DP model spent, and where")
    p.add_argument("model", help="model file")
    p.add_argument("--trusted", action="store_true", help="see 'sample --trusted'")
    p.set_defaults(func=_privacy)

    p = sub.add_parser("report", help="fidelity and privacy-risk report (HTML + JSON)")
    p.add_argument("real", help="the real (training) table")
    p.add_argument("synthetic", help="the synthetic table")
    p.add_argument("--holdout", help="real rows NOT used for training (enables attacks)")
    p.add_argument("--target", help="column to predict for the utility check")
    p.add_argument("--sensitive", action="append", default=[], help="sensitive column (repeatable)")
    p.add_argument("--metadata", "-m", help="metadata JSON")
    p.add_argument("--out", "-o", required=True, help="HTML report to write")
    p.add_argument("--json", help="JSON report to write")
    p.add_argument("--audit", help="audit JSON (tabsynth audit --json) to show under privacy")
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "audit",
        help="empirical privacy audit by repeated fits",
        description="Fit many times with and without a few outlying records, attack, and "
        "bound ε from below. Prints the verdict: PASSED (the trials could have refuted the "
        "claimed ε and did not), FAILED (the bound exceeds the claim: the synthesizer leaks "
        "more than it promises; for a non-private one, any leakage detected) or INCONCLUSIVE "
        "(too few trials for even a perfect attack to refute the claim; the output says how "
        "many would). Exit code 0 for PASSED and INCONCLUSIVE, 1 for FAILED, 2 for bad input.",
    )
    p.add_argument("data", nargs="?", help="table to audit on (realistic mode)")
    p.add_argument(
        "--mode",
        choices=("realistic", "worst-case"),
        default="realistic",
        help="realistic: outliers of DATA, black-box attacks on synthetic rows; worst-case: "
        "crafted neighbours and white-box attacks on the released measurements (MST, AIM) or "
        "on every noisy DP-SGD step (autoregressive, worst-case schedule unless --param "
        "overrides it), which test the ε claim itself (no DATA needed; use --trials in the "
        "thousands for a tight bound)",
    )
    p.add_argument("--synthesizer", "-s", required=True)
    p.add_argument("--epsilon", type=float)
    p.add_argument("--delta", type=float)
    p.add_argument("--metadata", "-m", help="metadata JSON passed to every fit")
    p.add_argument(
        "--trials",
        type=int,
        default=20,
        help="trials per target, each one fit with the target and one without (default 20: "
        "with 3 targets the audit can refute claims up to about ε = 2; larger claims come out "
        "INCONCLUSIVE; worst-case mode: thousands for a bound close to an honest claim)",
    )
    p.add_argument(
        "--targets",
        type=_targets,
        default=3,
        help="records to audit (outliers, uniques; default 3)",
    )
    p.add_argument(
        "--rows", type=_background_rows, help="background rows per fit (smaller is faster)"
    )
    p.add_argument("--max-seconds", type=float, help="stop starting new trials after this long")
    p.add_argument("--seed", type=_seed)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--workers", type=int, help="worst-case mode: processes (default: all CPUs)")
    p.add_argument("--out", "-o", required=True, help="HTML audit page to write")
    p.add_argument("--json", help="JSON result to write")
    p.set_defaults(func=_audit)

    p = sub.add_parser(
        "demo",
        help="a DP synthetic copy of the bundled medical sample, with its report",
        description="Fit AIM at ε = 1 with the sample's public metadata on 80%% of the bundled "
        "medical sample, print what the privacy budget was spent on, sample, and write the "
        "synthetic table and the report (HTML + JSON) into --out-dir.",
    )
    p.add_argument(
        "--synthesizer", "-s", help="another registered synthesizer instead of the demo's AIM"
    )
    p.add_argument("--epsilon", type=float, help="privacy budget ε of a DP synthesizer (default 1)")
    p.add_argument(
        "--non-private",
        action="store_true",
        help="fit the non-private GaussianCopula baseline instead, for a comparison",
    )
    p.add_argument("--seed", type=_report_seed, default=0)
    p.add_argument("--out-dir", default="tabsynth-demo", help="folder for the outputs")
    p.set_defaults(func=_demo)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that every
    ``finally`` and ``except BaseException`` (the temporary files of
    :func:`tabsynth.io.atomic_open`) runs before the process exits."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (also for a usage error, ``--help`` and
    ``--version``, which argparse ends with ``SystemExit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    func: Callable[[argparse.Namespace], None] = args.func
    # signal handlers can only be set from the main thread (main() may run in another)
    installed, previous = False, None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        installed = True
    try:
        check_paths(args)
        func(args)
    except TabsynthError as exc:
        if args.debug:
            raise
        print(f"tabsynth: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Terminated:
        print("tabsynth: terminated; no partial output was left behind", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("tabsynth: interrupted; no partial output was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if installed:  # None: the previous handler was not set from Python
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
