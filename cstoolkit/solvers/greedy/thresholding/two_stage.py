"""Two-stage thresholding: CoSaMP (Needell & Tropp 2009) and subspace pursuit (Dai & Milenkovic 2009)."""

from __future__ import annotations

import abc

import numpy as np

from ....linalg import lstsq_on_support
from ....prox import topk_mask
from ....registry import RECOVERERS, register
from ....studies import SPARSITY, StudySettings
from ._base import _GREEDY_K, _ITER, _Thresholding

__all__ = ["CoSaMP", "SubspacePursuit"]


class _TwoStage(_Thresholding):
    """Merge ``n_add`` proxy atoms with the current support, fit, prune to k (and re-fit)."""

    _certificate_param = "tol"  # a relative residual
    _debias = True  # subspace pursuit re-fits on the pruned support; CoSaMP keeps the pruned fit

    @abc.abstractmethod
    def _n_add(self, k):
        """Number of proxy atoms merged with the support at each iteration."""

    def _setup(self, A, Y, X0):
        st = self._base_setup(A, Y, X0)
        st.rnorm = np.linalg.norm(st.R, axis=0)
        return st

    def _step(self, st, it):
        k = st.k
        act = np.flatnonzero(st.active)
        X, AtY = st.X[:, act], st.AtY[:, act]
        proxy = AtY - st.G @ X
        T = topk_mask(np.abs(proxy), self._n_add(k)) | (X != 0)
        b = lstsq_on_support(st.G, AtY, T)
        S = topk_mask(np.abs(b), k) & T
        Xn = lstsq_on_support(st.G, AtY, S) if self._debias else np.where(S, b, 0)
        Rn = st.Y[:, act] - st.D @ Xn
        rn = np.linalg.norm(Rn, axis=0)
        old = st.rnorm[act]
        # stop when the residual stops decreasing (Dai & Milenkovic); keep the better iterate
        worse = rn >= old * (1 - 1e-12)
        keep = ~worse | (it == 1)
        Xn[:, ~keep] = X[:, ~keep]
        Rn[:, ~keep] = st.R[:, act][:, ~keep]
        st.X[:, act], st.R[:, act] = Xn, Rn
        st.rnorm[act] = np.where(keep, rn, old)
        done = (worse & (it > 1)) | (rn <= self.tol * st.ynorm[act])
        return self._finish(st, done, "solved")


@register("cosamp")
class CoSaMP(_TwoStage):
    r"""Compressive sampling matching pursuit (Needell & Tropp 2009), vectorised over signals.

    Approximates

    .. math:: \min_x \tfrac12\|A x - y\|_2^2 \quad\text{s.t.}\quad \|x\|_0 \le k

    Each iteration merges the 2k largest entries of the proxy ``Aᵀr`` with the current
    support, solves least squares on the union (≤ 3k atoms), and keeps its k largest
    entries. A signal stops when its residual stops decreasing or ‖r‖ ≤ tol·‖y‖.

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        Sparsity k (None: :func:`tuned_sparsity`); the union of 3k atoms should not exceed m.
    max_iter : int, default=100
    tol : float, default=1e-10
        Relative residual at which a signal is solved.

    References
    ----------
    Needell & Tropp, "CoSaMP: iterative signal recovery from incomplete and inaccurate
    samples", Appl. Comput. Harmon. Anal. 26 (2009).
    """

    study_settings = StudySettings(family="greedy", embedding=dict(n_nonzero_coefs=SPARSITY, max_iter=100))

    _debias = False
    _parameter_constraints = {**_GREEDY_K, **_ITER}

    def __init__(self, *, n_nonzero_coefs=None, max_iter=100, tol=1e-10):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self.tol = tol
        self._validate_params()

    def _n_add(self, k):
        return 2 * k


@register("sp")
class SubspacePursuit(_TwoStage):
    r"""Subspace pursuit (Dai & Milenkovic 2009), vectorised over signals.

    Approximates

    .. math:: \min_x \tfrac12\|A x - y\|_2^2 \quad\text{s.t.}\quad \|x\|_0 \le k

    Each iteration merges the k largest entries of the proxy ``Aᵀr`` with the current
    support, solves least squares on the union (≤ 2k atoms), keeps the k largest
    coefficients and re-fits on them. A signal stops when its residual stops decreasing
    (the previous iterate is kept) or ‖r‖ ≤ tol·‖y‖.

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        Sparsity k (None: :func:`tuned_sparsity`).
    max_iter : int, default=100
    tol : float, default=1e-10

    References
    ----------
    Dai & Milenkovic, "Subspace pursuit for compressive sensing signal reconstruction",
    IEEE Trans. Inf. Theory 55 (2009).
    """

    study_settings = StudySettings(family="greedy", embedding=dict(n_nonzero_coefs=SPARSITY, max_iter=100))

    _parameter_constraints = {**_GREEDY_K, **_ITER}

    def __init__(self, *, n_nonzero_coefs=None, max_iter=100, tol=1e-10):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self.tol = tol
        self._validate_params()

    def _n_add(self, k):
        return k

    @classmethod
    def maleki_donoho(cls):
        """Maleki–Donoho tuned two-stage thresholding: SP-type with ``k = ⌊ρ_TST(δ)m⌋``.

        Returns
        -------
        TSTMalekiDonoho
            The registered ``"tst-md"`` preset (:mod:`.maleki_donoho`).
        """
        return RECOVERERS.create("tst-md")
