r"""Hard-thresholding and stagewise greedy pursuits, vectorised over a batch of signals.

IHT and normalised IHT (Blumensath & Davies), HTP (Foucart), CoSaMP (Needell & Tropp),
subspace pursuit (Dai & Milenkovic), StOMP (Donoho, Tsaig, Drori & Starck) and the
Maleki–Donoho tuned presets (``"iht-md"``, ``"ist-md"``, ``"tst-md"``).

One subject per file: :mod:`._base` (state and base class), :mod:`.iht` (IHT, NIHT),
:mod:`.htp`, :mod:`.two_stage` (CoSaMP, SP), :mod:`.stomp`, :mod:`.md_fits` (the Maleki–Donoho
empirical fits) and :mod:`.maleki_donoho` (the tuned presets). Every name is re-exported here.

Every solver works on all B signals at once: supports are boolean ``(n, B)`` masks chosen
per column by :func:`cstoolkit.prox.topk_mask` (ties to the lowest index), and the least-squares fits on per-signal supports are
batched ``(B, s, s)`` Gram systems solved by one stacked ``np.linalg.solve`` (supports of
different sizes are padded with identity rows whose solution is zero). Signals that meet their
stopping rule are frozen, so a signal gets the same answer alone or in a batch.

Objective in ``history``: ½‖A s − y‖² (λ = 0; sparsity is the constraint ``‖s‖₀ ≤ k``).
"""

from ._base import ThresholdingState, _Thresholding  # noqa: F401
from .htp import HTP
from .iht import IHT, NIHT
from .maleki_donoho import IHTMalekiDonoho, ISTMalekiDonoho, TSTMalekiDonoho, _mean_column_norm  # noqa: F401
from .md_fits import iht_false_alarm_rate, ist_false_alarm_rate, tuned_sparsity
from .stomp import StOMP
from .two_stage import CoSaMP, SubspacePursuit

__all__ = [
    "IHT", "NIHT", "HTP", "CoSaMP", "SubspacePursuit", "StOMP", "IHTMalekiDonoho", "TSTMalekiDonoho",
    "ISTMalekiDonoho", "ist_false_alarm_rate", "iht_false_alarm_rate", "tuned_sparsity", "ThresholdingState",
]
