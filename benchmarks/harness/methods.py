"""The methods the benchmark can run: tabsynth's synthesizers and the peers' adapters.

A :class:`Method` says which script fits it (``benchmarks/harness/peers/``), in which venv, with
which options, and whether it takes ε. Options are the configuration recorded with every
result; ``--set KEY.OPTION=VALUE`` on the command line overrides one (e.g. fewer epochs), and
the override is recorded too because the run's configuration is written by the script itself.

tabsynth's DP synthesizers come in two variants: with the public metadata of the data card
(``ts-mst``), and without any (``ts-mst-nometa``), where the domain (bounds, bin edges,
category lists) is estimated under DP from the same budget. A method whose module cannot be
imported yet, or whose peer venv is not installed, is reported as an "unavailable" row rather
than failing the benchmark.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.harness import venvs

PEERS = Path(__file__).resolve().parent / "peers"
#: Epochs of the GAN/VAE baselines in a benchmark run: SDV's default (300) would take hours on
#: two shared cores; every result records the number actually used.
NEURAL_EPOCHS = 30
#: MOSTLY AI's training cap (minutes). The engine's default is very long; always set one.
MOSTLY_MINUTES = 5.0


@dataclass(frozen=True)
class Method:
    """One row label of the results and how to run it."""

    key: str
    library: str
    private: bool
    script: str
    options: dict[str, Any] = field(default_factory=dict)
    env: str | None = None
    module: str | None = None
    public_metadata: bool = False

    def command(self, peers_root: Path = venvs.PEERS_DIR) -> list[str]:
        """The interpreter and script that run this method (the spec path is appended)."""
        if self.env is None:
            return [sys.executable, str(PEERS / self.script)]
        return [str(venvs.ENVS[self.env].python(peers_root)), str(PEERS / self.script)]

    def unavailable(self, peers_root: Path = venvs.PEERS_DIR) -> str | None:
        """Why this method cannot run here, or ``None`` when it can."""
        if self.env is not None:
            if venvs.install_record(venvs.ENVS[self.env], peers_root) is None:
                return (
                    f"not installed: peer venv .peers/{self.env} is missing "
                    "(python -m benchmarks.run --setup-peers)"
                )
            return None
        try:
            importlib.import_module(self.module or "tabsynth")
        except Exception as exc:  # a module being written may fail in any way
            return f"unavailable: import {self.module} failed ({type(exc).__name__}: {exc})"
        from tabsynth.synthesizers import REGISTRY

        name = self.options["synthesizer"]
        if name not in REGISTRY:
            return f"unavailable: {self.module} registers no synthesizer {name!r}"
        return None

    def with_overrides(self, overrides: dict[str, Any]) -> Method:
        """A copy whose ``params`` are updated with ``overrides`` (from ``--set``)."""
        if not overrides:
            return self
        params = {**self.options.get("params", {}), **overrides}
        return replace(self, options={**self.options, "params": params})


def _tabsynth(
    key: str, name: str, module: str, private: bool, public: bool = True, **params: Any
) -> Method:
    return Method(
        key=key,
        library="tabsynth",
        private=private,
        script="tabsynth_run.py",
        options={"synthesizer": name, "params": params},
        module=module,
        public_metadata=public,
    )


#: Peer venv -> (library label, run script).
_PEER_SCRIPTS = {
    "sdv": ("sdv", "sdv_run.py"),
    "sn": ("smartnoise", "smartnoise_run.py"),
    "mostly": ("mostlyai", "mostlyai_run.py"),
}


def _peer(key: str, env: str, private: bool, model: str | None = None, **params: Any) -> Method:
    library, script = _PEER_SCRIPTS[env]
    options = {"model": model, "params": params}
    return Method(
        key=key, library=library, private=private, script=script, options=options, env=env
    )


def _drafted(method: Method) -> Method:
    """The tabsynth method on ``Metadata.draft(train)``: what a user gets from ``tabsynth
    metadata draft`` before editing it (the issue's "drafted metadata" comparison)."""
    return replace(method, options={**method.options, "metadata_from": "draft"})


def _detected(method: Method) -> Method:
    """The SDV peer on SDV's own ``detect_from_dataframes(train)`` instead of the card's kinds."""
    return replace(method, options={**method.options, "metadata_from": "detect"})


_SDV = "tabsynth.synthesizers.sdv"
_MST = "tabsynth.synthesizers.mst"
_AIM = "tabsynth.synthesizers.aim"
_AR = "tabsynth.synthesizers.autoregressive"

METHODS: dict[str, Method] = {
    m.key: m
    for m in (
        _tabsynth("ts-gaussian_copula", "gaussian_copula", _SDV, False),
        _drafted(_tabsynth("ts-gaussian_copula-draft", "gaussian_copula", _SDV, False, False)),
        _tabsynth("ts-ctgan", "ctgan", _SDV, False, epochs=NEURAL_EPOCHS),
        _tabsynth("ts-tvae", "tvae", _SDV, False, epochs=NEURAL_EPOCHS),
        _tabsynth("ts-mst", "mst", _MST, True),
        _tabsynth("ts-mst-nometa", "mst", _MST, True, public=False),
        _tabsynth("ts-aim", "aim", _AIM, True),
        _tabsynth("ts-aim-nometa", "aim", _AIM, True, public=False),
        _tabsynth("ts-autoregressive", "autoregressive", _AR, False),
        _tabsynth("ts-autoregressive-dp", "autoregressive", _AR, True),
        _tabsynth("ts-autoregressive-dp-nometa", "autoregressive", _AR, True, public=False),
        _peer("sdv-gaussian_copula", "sdv", False, model="gaussian_copula"),
        _detected(_peer("sdv-gaussian_copula-detect", "sdv", False, model="gaussian_copula")),
        _peer("sdv-ctgan", "sdv", False, model="ctgan", epochs=NEURAL_EPOCHS),
        _peer("sdv-tvae", "sdv", False, model="tvae", epochs=NEURAL_EPOCHS),
        _peer("sn-mst", "sn", True, model="mst"),
        _peer("sn-aim", "sn", True, model="aim"),
        _peer("sn-dpctgan", "sn", True, model="dpctgan", epochs=NEURAL_EPOCHS),
        _peer("mostly-argn", "mostly", False, max_training_time=MOSTLY_MINUTES),
        _peer("mostly-argn-dp", "mostly", True, max_training_time=MOSTLY_MINUTES),
    )
}

GROUPS: dict[str, list[str]] = {
    "tabsynth": [k for k, m in METHODS.items() if m.library == "tabsynth"],
    "peers": [k for k, m in METHODS.items() if m.library != "tabsynth"],
    "all": list(METHODS),
}


def select(spec: str) -> list[Method]:
    """Methods named in a comma list of keys and group names (``tabsynth``, ``peers``, ``all``)."""
    keys: list[str] = []
    for word in (w.strip() for w in spec.split(",") if w.strip()):
        if word in GROUPS:
            keys += GROUPS[word]
        elif word in METHODS:
            keys.append(word)
        else:
            known = ", ".join([*GROUPS, *METHODS])
            raise ValueError(f"unknown method {word!r}; choose from {known}")
    return [METHODS[k] for k in dict.fromkeys(keys)]
