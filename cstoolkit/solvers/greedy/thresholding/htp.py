"""Hard thresholding pursuit (Foucart 2011): a thresholding step, then least squares on its support."""

from __future__ import annotations

import numpy as np

from ...._validation import Interval
from ....linalg import lstsq_on_support
from ....prox import topk_mask
from ....registry import register
from ....studies import SPARSITY, StudySettings
from ._base import _GREEDY_K, _Thresholding

__all__ = ["HTP"]


@register("htp")
class HTP(_Thresholding):
    r"""Hard thresholding pursuit (Foucart 2011), vectorised over signals.

    Approximates

    .. math:: \min_x \tfrac12\|A x - y\|_2^2 \quad\text{s.t.}\quad \|x\|_0 \le k

    by ``S_{t+1} = supp H_k(x_t + μ Aᵀ(y − A x_t))`` and ``x_{t+1} = argmin_{supp x ⊆ S_{t+1}}
    ‖Ax − y‖``; a signal stops when its support repeats (then it never changes again).

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        Sparsity k (None: :func:`tuned_sparsity`).
    step_size : float, default=1.0
        μ (Foucart's analysis uses μ = 1 with unit-norm columns).
    max_iter : int, default=100

    References
    ----------
    Foucart, "Hard thresholding pursuit: an algorithm for compressive sensing", SIAM J.
    Numer. Anal. 49 (2011).
    """

    study_settings = StudySettings(family="greedy", embedding=dict(n_nonzero_coefs=SPARSITY, max_iter=100))

    _parameter_constraints = {
        **_GREEDY_K,
        "max_iter": [Interval("integral", 1, None)],
        "step_size": [Interval("real", 0, None, closed="neither")],
    }

    def __init__(self, *, n_nonzero_coefs=None, step_size=1.0, max_iter=100):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.step_size = step_size
        self.max_iter = max_iter
        self._validate_params()

    def _setup(self, A, Y, X0):
        return self._base_setup(A, Y, X0)

    def _step(self, st, it):
        act = np.flatnonzero(st.active)
        X = st.X[:, act]
        # Aᵀ(y − Ax) from the Gram matrix: n·n·B instead of two products with A
        g = st.AtY[:, act] - st.G @ X
        S = topk_mask(np.abs(X + self.step_size * g), st.k)
        same = np.all(S == (X != 0), axis=0) & (it > 1)
        Xn = lstsq_on_support(st.G, st.AtY[:, act], S)
        st.X[:, act] = Xn
        st.R[:, act] = st.Y[:, act] - st.D @ Xn
        return self._finish(st, same, "solved")
