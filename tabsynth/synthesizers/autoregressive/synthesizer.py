"""The autoregressive synthesizer: ``p(row) = Π_j p(x_j | earlier columns)`` over domain codes.

One class, two modes. Without ``epsilon`` it is a non-private model with a strong default:
fine numeric bins (:mod:`.encoding`), a wide network, early stopping on held-out rows. With
``epsilon`` it is a :class:`~tabsynth.synthesizers.dp_base.DPSynthesizer`: public or
DP-estimated domain, then DP-SGD with opacus (:mod:`.dp`), everything charged to one ledger.
The defaults of each mode were chosen on Adult (``benchmarks/autoregressive/results.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from tabsynth.domain import DomainEncoder
from tabsynth.errors import DataError, ModelFileError, ParameterError
from tabsynth.metadata import GENERATED_KINDS, Metadata, OutOfBounds
from tabsynth.privacy import NoiseSource, PrivacyLedger
from tabsynth.rules.enforce import GIVEN
from tabsynth.rules.zeros import StructuralZero, structural_zeros
from tabsynth.synthesizers.autoregressive.compression import Compression
from tabsynth.synthesizers.autoregressive.encoding import fine_encoder
from tabsynth.synthesizers.autoregressive.model import AutoregressiveNet
from tabsynth.synthesizers.autoregressive.sampling import FREE, sample_codes
from tabsynth.synthesizers.autoregressive.training import (
    TrainConfig,
    default_schedule,
    torch_settings,
    train_network,
)
from tabsynth.synthesizers.base import MetadataLike, Synthesizer, check_count, check_seed
from tabsynth.synthesizers.conditional import Shares, check_released, sample_shares
from tabsynth.synthesizers.dp_base import DEFAULT_DELTA, DPSynthesizer
from tabsynth.synthesizers.dp_domain import Binning

#: Defaults of the parameters left as ``None``, per mode (measured on Adult, see module doc).
NON_PRIVATE_DEFAULTS: dict[str, Any] = {
    "epochs": None,  # see training.default_schedule: about 1,000 steps
    "batch_size": None,  # 512, less for small tables
    "width": 128,
    "blocks": 0,
    "learning_rate": 5e-3,
}
DP_DEFAULTS: dict[str, Any] = {
    "epochs": None,  # see dp.default_dp_schedule: fixed row passes, batches capped by work
    "batch_size": None,
    "width": None,  # see dp.default_dp_width: 64, less on wide tables with many codes
    "blocks": 0,
    # Large: DP-SGD takes few steps (200 on Adult), and Adam moves a weight by about the step
    # size per step, so 3e-3 could not reach the logits of skewed columns (measured at width
    # 32 on Adult, ε = 3: 2-way accuracy 0.931 at 3e-3, 0.944 at 1e-2, 0.934 at 3e-2).
    "learning_rate": 1e-2,
}
#: Bins per numeric column of a non-private fit. Fine, because numbers are decoded uniformly
#: inside their bin.
DEFAULT_FINE_BINS = 100
#: Bins per numeric column of a DP fit. Coarse, because every code is an output logit (and an
#: input vector per head) that DP-SGD's noisy steps must train. Taiwan credit at ε = 3, 14 of
#: its 24 columns numeric: 746.7 and 744.0 k-marginal at 16 bins against 696.3 at 100 (32:
#: 715.2, 8: 707.1; MST 733); Adult 911.7 against 908.2
#: (``benchmarks/results/dpsgd_bins/README.md``).
DEFAULT_DP_BINS = 16
ORDERS = ("mixed", "random", "fixed")

Conditions = Mapping[str, Any] | pd.DataFrame | None


class AutoregressiveSynthesizer(DPSynthesizer):
    """Neural autoregressive synthesizer, non-private or (ε, δ)-DP with DP-SGD.

    Parameters
    ----------
    epsilon:
        ``None`` (default) for a non-private fit; a number > 0 for (ε, δ)-DP, the whole fit
        included (domain estimation and training).
    delta:
        Target δ of a DP fit, far below 1/n. Ignored without ``epsilon``.
    epochs, batch_size, width, blocks, learning_rate:
        Training length, (expected) batch size, features per column head, residual blocks per
        head, Adam's step size. ``None`` takes the mode's default (:data:`NON_PRIVATE_DEFAULTS`,
        :data:`DP_DEFAULTS`). In DP mode the epochs and the batch size fix the number of
        DP-SGD steps and the Poisson sampling rate, and with them the noise; the DP default
        width is 64, narrower when the domain would give the network more than 3 M
        parameters (:func:`~.dp.default_dp_width`), counted after the rare codes of columns
        with more than 128 codes are merged (:mod:`.compression`).
    bins:
        Bins per numeric or datetime column (integer columns with fewer values get one bin per
        value). Numbers are decoded uniformly inside their bin. ``None``: 100 without DP
        (:data:`DEFAULT_FINE_BINS`), 16 with DP (:data:`DEFAULT_DP_BINS`), where every code is
        a weight DP-SGD's noise must train.
    binning:
        DP only: where bin edges go (see :class:`~tabsynth.synthesizers.dp_base.DPSynthesizer`);
        non-private fits always cut at the data's quantiles.
    order:
        Column orders seen in training. ``"mixed"`` (default): half the rows in the table's
        order, half in random orders; ``"random"``: all in random orders. Both let sampling
        condition on any columns exactly. ``"fixed"``: the table's order only; conditions
        then work only on a leading run of columns.
    validation, patience:
        Non-private only: fraction of rows held out to stop training when their likelihood has
        not improved for ``patience`` epochs (the best epoch's averaged weights are kept).
        ``validation=0`` trains all ``epochs`` on every row and keeps the final average.
    max_grad_norm:
        DP only: per-row gradient clipping norm of DP-SGD.
    public_rows:
        DP only: the table's row count, if it is public knowledge (a census, a registry of
        known size). The DP-SGD schedule, and the domain's budget for long categorical tails
        (:func:`~tabsynth.synthesizers.dp_domain.default_budget`), are then sized from it for
        free; otherwise a noisy count is read off noisy 1-way marginals released from 3 % of
        the budget, and another (0.5 %) sizes the domain's budget when categories are
        estimated. Nothing stored or printed depends on the exact count.
    budget_split:
        DP only: fraction of the budget for estimating a domain that is not public; by
        default as for MST and AIM (:class:`~tabsynth.synthesizers.dp_base.DPSynthesizer`).
    progress:
        Show a tqdm progress bar (with ETA) during the fit.
    seed:
        Makes non-private fits reproducible, and sets the initialisation and column orders of
        DP fits; never the DP noise or the Poisson sampling.
    noise_seed:
        TEST ONLY: seeds the DP noise and sampling, which makes the fit NOT private.
    on_out_of_bounds:
        ``"error"`` or ``"clip"`` for values outside a declared domain.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [23, 35, 47, 59] * 50, "sex": ["F", "M"] * 100})
    >>> synth = AutoregressiveSynthesizer(epochs=2, seed=0, progress=False).fit(df)
    >>> synth.sample(3, seed=0, conditions={"sex": "F"})["sex"].tolist()
    ['F', 'F', 'F']
    """

    name: ClassVar[str] = "autoregressive"

    def __init__(
        self,
        epsilon: float | None = None,
        delta: float = DEFAULT_DELTA,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        width: int | None = None,
        blocks: int | None = None,
        learning_rate: float | None = None,
        bins: int | None = None,
        binning: Binning = "quantile",
        order: str = "mixed",
        validation: float = 0.1,
        patience: int = 3,
        max_grad_norm: float = 1.0,
        public_rows: int | None = None,
        budget_split: float | None = None,
        progress: bool = True,
        seed: int | None = None,
        noise_seed: int | None = None,
        on_out_of_bounds: OutOfBounds = "error",
    ):
        super().__init__(
            epsilon,  # type: ignore[arg-type] - None selects the non-private mode
            delta,
            budget_split=budget_split,
            bins=_default_bins(epsilon) if bins is None else bins,
            binning=binning,
            seed=seed,
            noise_seed=noise_seed,
            on_out_of_bounds=on_out_of_bounds,
        )
        self.epochs = epochs
        self.batch_size = batch_size
        self.width = width
        self.blocks = blocks
        self.learning_rate = learning_rate
        self.order = order
        self.validation = validation
        self.patience = patience
        self.max_grad_norm = max_grad_norm
        self.public_rows = public_rows
        self.progress = progress

    @property
    def private(self) -> bool:
        """Whether this synthesizer makes a DP claim (``epsilon`` given)."""
        return self.epsilon is not None

    # -- fit --------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, metadata: MetadataLike = None) -> AutoregressiveSynthesizer:
        """Learn from ``data``; under (ε, δ)-DP when ``epsilon`` was given."""
        self._check_training_params()
        if self.private:
            return super().fit(data, metadata)  # type: ignore[return-value]
        return Synthesizer.fit(self, data, metadata)  # type: ignore[return-value]

    def _resolve_metadata(self, data: pd.DataFrame, metadata: Metadata | None) -> Metadata:
        if self.private:
            return super()._resolve_metadata(data, metadata)
        return Synthesizer._resolve_metadata(self, data, metadata)

    def _fit(self, data: pd.DataFrame, metadata: Metadata) -> None:
        with torch_settings():
            if self.private:
                super()._fit(data, metadata)  # domain under DP, then _fit_codes
                self.zeros_ = self._network_zeros()  # the DP encoder is set last
                return
            encoder = fine_encoder(data, metadata, self.bins)
            if not encoder.columns:
                raise DataError("nothing to learn: every column is an id, pii or text column")
            params = self._resolved(NON_PRIVATE_DEFAULTS)
            params["epochs"], params["batch_size"] = default_schedule(
                len(data), self.validation, params["epochs"], params["batch_size"]
            )
            config = TrainConfig(
                order=self.order, validation=self.validation, patience=self.patience, **params
            )
            codes = encoder.encode(data)
            self.net_, self.history_ = train_network(
                codes, _sizes(encoder), config, self.seed, self.progress
            )
            self.encoder_ = encoder
            self.compression_ = Compression.identity(len(encoder.columns))
            self.zeros_ = self._network_zeros()

    def _public_rows(self) -> int | None:
        return self.public_rows

    def _fit_codes(
        self, codes: np.ndarray, encoder: DomainEncoder, ledger: PrivacyLedger, noise: NoiseSource
    ) -> None:
        from tabsynth.synthesizers.autoregressive.dp import (
            DPTrainConfig,
            default_dp_schedule,
            default_dp_width,
            forbid_codes,
            released_support,
            train_private,
        )

        support = released_support(codes, encoder, self.public_rows, ledger, noise)
        rows = support.rows
        # rare codes of high-cardinality columns merged, from the released marginals
        self.compression_ = Compression.from_released(support.one_way, support.unused)
        sizes = self.compression_.sizes(_sizes(encoder))
        params = self._resolved(DP_DEFAULTS)
        if params["width"] is None:
            params["width"] = default_dp_width(sizes)
        params["epochs"], params["batch_size"] = default_dp_schedule(
            rows, params["epochs"], params["batch_size"], sizes, params["width"]
        )
        config = DPTrainConfig(order=self.order, max_grad_norm=self.max_grad_norm, **params)
        self.net_, plan = train_private(
            self.compression_.compress(codes),
            sizes,
            config,
            ledger,
            noise,
            self.seed,
            self.progress,
            rows,
        )
        forbid_codes(self.net_, self.compression_.unused(support.unused))
        self.history_ = {
            "steps": plan.steps,
            "noise_multiplier": plan.noise_multiplier,
            "rows": rows,  # the released (noisy or declared) row count, never the exact one
        }

    def _resolved(self, defaults: dict[str, Any]) -> dict[str, Any]:
        return {k: v if getattr(self, k) is None else getattr(self, k) for k, v in defaults.items()}

    def _check_training_params(self) -> None:
        from tabsynth import limits

        for name in ("epochs", "batch_size", "public_rows"):
            if getattr(self, name) is not None:
                limits.check_int(name, getattr(self, name), 1)
        if self.width is not None:
            limits.check_int("width", self.width, 1, limits.MAX_WIDTH, limit="MAX_WIDTH")
        if self.blocks is not None:
            limits.check_int("blocks", self.blocks, 0, limits.MAX_BLOCKS, limit="MAX_BLOCKS")
        if self.learning_rate is not None:
            limits.check_positive_finite("learning_rate", self.learning_rate)
        if self.order not in ORDERS:
            raise ParameterError(f"order must be one of {ORDERS}, not {self.order!r}")
        if not 0 <= self.validation < 1:
            raise ParameterError(f"validation must be a fraction in [0, 1), not {self.validation}")
        if not isinstance(self.patience, int) or self.patience < 1:
            raise ParameterError(f"patience must be a positive integer, not {self.patience!r}")
        limits.check_int("bins", self.bins, 2, limits.MAX_BINS, limit="MAX_BINS")
        limits.check_positive_finite("max_grad_norm", self.max_grad_norm)
        limits.check_bool("progress", self.progress)

    # -- sampling ---------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        seed: int | None = None,
        conditions: Conditions = None,
        shares: Shares | None = None,
    ) -> pd.DataFrame:
        """``n`` synthetic rows; ``conditions`` fixes some columns exactly.

        ``conditions`` is a mapping ``{column: value}`` applied to every row, or a DataFrame of
        ``n`` partial rows whose non-missing cells are given (NaN = free). Given values must lie
        in the model's domain (declared or estimated categories and bounds). The other columns
        are drawn from the model's conditional distribution given them.

        The size limits and the chunking of :meth:`Synthesizer.sample` apply: up to
        :data:`tabsynth.limits.SAMPLE_CHUNK_ROWS` rows are drawn as before chunking existed
        (same seed, same rows); a conditions DataFrame is split along with the rows.
        ``shares`` rebalances groups as in :meth:`Synthesizer.sample`.
        """
        from tabsynth import limits

        if shares is not None:
            return sample_shares(self, n, seed, shares, conditions)
        self._check_fitted()
        n = check_count(n)
        limits.check_sample_memory(n, self.metadata_)
        rng = np.random.default_rng(check_seed(seed))
        partial = isinstance(conditions, pd.DataFrame)
        if partial and len(conditions) != n:
            self._encode_conditions(conditions, n)  # raises: one partial row per row

        def draw(size: int, start: int, chunk_rng: np.random.Generator) -> pd.DataFrame:
            return draw_rows(np.arange(start, start + size), chunk_rng)

        def draw_rows(rows: np.ndarray, chunk_rng: np.random.Generator) -> pd.DataFrame:
            size = len(rows)
            part = conditions.iloc[rows] if partial else conditions
            try:
                given, values = self._encode_conditions(part, size)
            except ParameterError as exc:
                if not partial or size == n:
                    raise
                raise ParameterError(
                    f"in rows {rows[0]} to {rows[-1]} of conditions: {exc}"
                ) from None
            small = None if given is None else self.compression_.compress(given)
            codes = sample_codes(
                self.net_, size, chunk_rng, self._sampling_order(), small, self.zeros_
            )
            codes = self.compression_.expand(codes, given, chunk_rng)
            frame = self.encoder_.decode(codes, chunk_rng)
            for name, column in values.items():
                keep = column.notna().to_numpy()
                frame[name] = frame[name].astype(object).where(~keep, column.astype(object))
            frame.attrs[GIVEN] = {name: col.notna().to_numpy() for name, col in values.items()}
            return frame

        # rows differ only when conditions differ row by row
        return self._sample_in_chunks(n, rng, draw, redraw=draw_rows if partial else None)

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        codes = sample_codes(self.net_, n, rng, self._sampling_order(), zeros=self.zeros_)
        return self.compression_.expand(codes, None, rng)

    def _network_zeros(self) -> list[StructuralZero]:
        """Cells the declared rules rule out, on the network's codes, masked at sampling
        (public: no budget). Computed once after the fit and after loading (:attr:`zeros_`):
        redraws under row-by-row conditions sample many times (0.2 s each for diabetes130's
        26 rules)."""
        return self.compression_.zeros(structural_zeros(self.metadata_, self.encoder_))

    def _sampling_order(self) -> list[int]:
        return list(range(len(self.encoder_.columns)))

    def _encode_conditions(
        self, conditions: Conditions, n: int
    ) -> tuple[np.ndarray | None, dict[str, pd.Series]]:
        """Codes of the given cells (:data:`FREE` elsewhere) and their values, per column."""
        if conditions is None:
            return None, {}
        if isinstance(conditions, pd.DataFrame):
            if len(conditions) != n:
                raise ParameterError(
                    f"conditions has {len(conditions)} rows but n = {n}; pass one partial row "
                    "per row to sample"
                )
            frame = conditions.reset_index(drop=True)
        elif isinstance(conditions, Mapping):
            unset = [name for name, value in conditions.items() if _is_missing(value)]
            if unset:
                # missing cells of a conditions *frame* mean "free"; in a dict they would make
                # the whole condition vanish without a word
                raise ParameterError(
                    f"conditions {unset} are missing values (None/NaN), which cannot be "
                    "conditioned on; leave those columns out to sample them freely"
                )
            frame = pd.DataFrame({name: [value] * n for name, value in conditions.items()})
        else:
            raise ParameterError(
                f"conditions must be a dict or a DataFrame, not {type(conditions).__name__}"
            )
        columns = self.encoder_.columns
        given = np.full((n, len(columns)), FREE, dtype=np.int64)
        values: dict[str, pd.Series] = {}
        for name in frame.columns:
            rows = frame[name].notna().to_numpy()
            if not rows.any():
                continue
            conformed = self._conform_condition(str(name), frame.loc[rows, [name]])
            j = columns.index(name)
            given[rows, j] = self.encoder_.codecs[name].encode(conformed)
            values[name] = conformed.reindex(range(n))
        if self.order == "fixed":
            _check_prefix(given, columns)
        return given, values

    def _conform_condition(self, name: str, cells: pd.DataFrame) -> pd.Series:
        if name not in self.metadata_.columns:
            raise ParameterError(f"cannot condition on {name!r}: not a column of the model")
        spec = self.encoder_.metadata.columns.get(name)
        if spec is None or spec.kind in GENERATED_KINDS:
            raise ParameterError(
                f"cannot condition on {name!r}: id, pii and text columns are generated fresh"
            )
        try:
            conformed = Metadata({name: spec}).validate(cells, on_out_of_bounds="error")[name]
            check_released(self.encoder_, name, conformed)
            self.encoder_.codecs[name].encode(conformed)
        except DataError as exc:
            raise ParameterError(f"cannot condition on {name!r}: {exc}") from None
        return conformed

    # -- persistence ------------------------------------------------------------------------
    def _get_model_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        net = self.net_
        state = {
            "sizes": list(net.sizes),
            "width": net.embed.bias.shape[1],
            "blocks": len(net.blocks),
        }
        arrays = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        state["compressed"], compressed = self.compression_.state()
        return state, {**arrays, **compressed}

    def _set_model_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        net = AutoregressiveNet(state["sizes"], int(state["width"]), int(state["blocks"]))
        self.compression_, weights = Compression.from_state(
            state.get("compressed", []), arrays, _sizes(self.encoder_)
        )
        if self.compression_.sizes(_sizes(self.encoder_)) != net.sizes:
            raise ModelFileError("the network's code counts do not match the model's domain")
        try:
            net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})
        except RuntimeError as exc:
            raise ModelFileError(f"the network weights do not match the model: {exc}") from None
        net.eval()
        self.net_ = net
        self.zeros_ = self._network_zeros()


def _default_bins(epsilon: float | None) -> int:
    return DEFAULT_FINE_BINS if epsilon is None else DEFAULT_DP_BINS


def _is_missing(value: Any) -> bool:
    """Whether a condition's value is a missing scalar (None, NaN, NaT, pd.NA)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays: not scalars, refused later
        return False


def _sizes(encoder: DomainEncoder) -> tuple[int, ...]:
    return tuple(encoder.sizes[name] for name in encoder.columns)


def _check_prefix(given: np.ndarray, columns: list[str]) -> None:
    """With a fixed training order, a row can only give a leading run of columns exactly."""
    mask = given != FREE
    gaps = mask[:, 1:] & ~mask[:, :-1]  # a given column right after a free one
    if gaps.any():
        row, j = np.argwhere(gaps)[0]
        raise ParameterError(
            f"this model was trained with order='fixed', so it conditions only on leading "
            f"columns; row {row} gives {columns[j + 1]!r} but not {columns[j]!r}. Refit with "
            "order='random' to condition on any columns"
        )
