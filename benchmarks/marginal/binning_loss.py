"""What a DP fit's bins alone cost: the 3-way k-marginal of real rows sent through the fitted
domain (encoded to codes, decoded back), with no model in between.

A model over these codes can do no better than the decoded rows, so the gap between them and
the same rows undecoded bounds what any better model could gain, and the gap to the in-bin
oracle (each decoded value replaced by a training value drawn from the same bin) is what a
better placement of values inside the bins could gain. Per column, the cost of decoding that
column alone. ``--column`` shows where a numeric column's edges fall among the real values;
``--model`` also fits a model (same ε, noise seed and ``--set`` parameters) and scores its
sample decoded and with the in-bin oracle, which is what a better placement could gain
through that model. E.g.::

    python -m benchmarks.marginal.binning_loss credit_default_taiwan --eps 1 --noise-seed 1

Not private (it scores training rows); a diagnostic between harness runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import tabsynth as ts
from benchmarks.harness.datasets import load
from benchmarks.marginal.probe import (
    SYNTHESIZERS,
    Scorer,
    add_const_option,
    apply_consts,
    parse_params,
)
from tabsynth.domain import BinnedCodec, DomainEncoder, to_float
from tabsynth.evaluation.fidelity import ks_statistic
from tabsynth.metadata import Metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--meta", action="store_true", help="public metadata (the data card)")
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--noise-seed", type=int, default=1, help="seeded DP noise (NOT private)")
    parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE")
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        help="a numeric column whose bin edges to show as levels of the training rows' CDF, "
        "with the KS distance of its decoded values from the real ones",
    )
    parser.add_argument(
        "--model",
        choices=sorted(SYNTHESIZERS),
        help="also fit this model and score its sample decoded and with the in-bin oracle: "
        "what a better placement inside bins could gain through a model",
    )
    add_const_option(parser)
    args = parser.parse_args()
    consts = apply_consts(parser, args.const)
    data = load(args.table, Path(args.data_dir))
    metadata = data.metadata if args.meta else data.metadata.schema_only()
    params = parse_params(args.set)
    fit = ts.MSTSynthesizer(epsilon=args.eps, noise_seed=args.noise_seed, max_iters=1, **params)
    encoder = fit.fit(data.train, metadata=metadata).encoder_
    rows = data.train.sample(len(data.holdout), random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(0)
    codes = encoder.encode(rows)
    decoded = encoder.decode(codes, rng)
    score = Scorer.of(data).score
    oracle = in_bin_oracle(decoded, codes, encoder, data.train, metadata, rng)
    base = score(rows)
    print(
        f"{args.table} eps={args.eps:g} meta={args.meta} {params or ''} {consts or ''} "
        f"noise_seed={args.noise_seed}: same rows {base:.1f}, decoded {score(decoded):.1f}, "
        f"in-bin oracle {score(oracle):.1f}, real holdout {score(data.holdout):.1f}"
    )
    costs = []
    for name in encoder.columns:
        one = rows.copy()
        one[name] = decoded[name].to_numpy()
        costs.append((base - score(one), name))
    worst = sorted(costs, reverse=True)[:8]
    print("  cost of decoding one column:", ", ".join(f"{n}={c:.1f}" for c, n in worst))
    for name in args.column:
        if not isinstance(encoder.codecs.get(name), BinnedCodec):
            parser.error(f"--column {name}: not a binned (numeric or datetime) column")
        show_edges(name, encoder.codecs[name], rows[name], decoded[name])
    if args.model:
        model = SYNTHESIZERS[args.model](epsilon=args.eps, noise_seed=args.noise_seed, **params)
        model.fit(data.train, metadata=metadata)
        sample = model.sample(len(data.holdout), seed=0)
        own = model.encoder_
        redrawn = in_bin_oracle(sample, own.encode(sample), own, data.train, metadata, rng)
        print(
            f"  {args.model} sample: decoded {score(sample):.1f}, "
            f"in-bin oracle {score(redrawn):.1f}"
        )


def in_bin_oracle(
    frame: pd.DataFrame,
    codes: np.ndarray,
    encoder: DomainEncoder,
    train: pd.DataFrame,
    metadata: Metadata,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``frame`` with each numeric or datetime value replaced by a training value drawn from
    the same bin (``codes``, columns in ``encoder.columns`` order): what the best placement of
    values inside the bins would give. A bin no training row falls in (a model may sample
    one) keeps the decoded value."""
    train_codes = encoder.encode(train)
    oracle = frame.copy()
    for j, name in enumerate(encoder.columns):
        if metadata[name].kind not in ("numerical", "datetime"):
            continue
        pool = train[name].to_numpy()
        values = oracle[name].to_numpy(dtype=object).copy()
        for code in np.unique(codes[:, j]):
            inside = pool[train_codes[:, j] == code]
            where = codes[:, j] == code
            if inside.size:
                values[where] = rng.choice(inside, int(where.sum()))
        oracle[name] = pd.Series(values, index=frame.index, dtype=frame[name].dtype)
    return oracle


def show_edges(name: str, codec: BinnedCodec, real: pd.Series, decoded: pd.Series) -> None:
    """Where a column's edges fall among the real values (evenly spaced levels for quantile
    bins), and how far its decoded values' distribution is from theirs (KS distance); for
    datetimes, in seconds since the epoch, as the codec bins them."""
    truth, fake = (to_float(v, codec.is_datetime) for v in (real, decoded))
    truth, fake = np.sort(truth[~np.isnan(truth)]), fake[~np.isnan(fake)]
    levels = np.searchsorted(truth, codec.edges) / truth.size
    print(f"  {name}: edges at levels {np.round(levels, 3).tolist()}")
    print(f"  {name}: KS of decoded values {ks_statistic(truth, fake):.3f}")


if __name__ == "__main__":
    main()
