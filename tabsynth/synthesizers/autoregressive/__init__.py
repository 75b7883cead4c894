"""Neural autoregressive synthesizer, non-private or DP-SGD (see :mod:`.synthesizer`).

Modules: :mod:`.model` (the torch network), :mod:`.encoding` (fine numeric bins),
:mod:`.training` (non-private training), :mod:`.dp` (opacus wiring and accounting),
:mod:`.sampling` (conditional sampling), :mod:`.synthesizer` (the public class).
"""

from tabsynth.synthesizers.autoregressive.synthesizer import AutoregressiveSynthesizer

__all__ = ["AutoregressiveSynthesizer"]
