"""Iterative hard thresholding: IHT (Blumensath & Davies 2009) and normalised IHT (2010)."""

from __future__ import annotations

import numpy as np

from ...._validation import Interval
from ....operators import operator_norm
from ....prox import keep_topk, topk_mask
from ....registry import RECOVERERS, register
from ....studies import SPARSITY, StudySettings
from ._base import _GREEDY_K, _ITER, _Thresholding

__all__ = ["IHT", "NIHT"]


@register("iht")
class IHT(_Thresholding):
    r"""Iterative hard thresholding (Blumensath & Davies 2009), vectorised over signals.

    Approximates, for every column ``y`` of the batch,

    .. math:: \min_x \tfrac12\|A x - y\|_2^2 \quad\text{s.t.}\quad \|x\|_0 \le k

    by ``x_{t+1} = H_k(x_t + μ Aᵀ(y − A x_t))``, where ``H_k`` keeps the k largest entries. With
    ``μ‖A‖₂² ≤ 1`` the objective never increases and the iterates converge to a local minimiser
    (Blumensath & Davies 2009, Thm. 3). Only ``A``/``Aᵀ`` products are used (operators stay
    matrix-free).

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        Sparsity k. None uses the Maleki–Donoho tuned value ``⌊ρ_TST(m/n)·m⌋``
        (:func:`tuned_sparsity`).
    step_size : float or None, default=None
        μ. None uses ``1/‖A‖₂²`` (the convergent choice). Maleki & Donoho's relaxation
        parameter κ is this μ for A with unit-norm columns (their tuned value 0.65).
    max_iter : int, default=1000
    tol : float, default=1e-8
        A signal stops when ‖x_{t+1} − x_t‖ ≤ tol·‖x_{t+1}‖.

    See Also
    --------
    NIHT : adaptive step size, no need to scale A.
    IHT.maleki_donoho : the tuned preset.

    References
    ----------
    Blumensath & Davies, "Iterative hard thresholding for compressed sensing", Appl. Comput.
    Harmon. Anal. 27 (2009).
    Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed
    sensing", IEEE J. Sel. Topics Signal Process. 4 (2010).
    """

    study_settings = StudySettings(
        family="greedy", phase=dict(n_nonzero_coefs=SPARSITY, max_iter=20000, tol=1e-13),
        embedding=dict(n_nonzero_coefs=SPARSITY, max_iter=300))

    _needs_gram = False
    _param_units = {"step_size": "step"}  # μ in units of 1/‖A‖² (the convergence theorem's)
    _parameter_constraints = {
        **_GREEDY_K,
        **_ITER,
        "step_size": [Interval("real", 0, None, closed="neither"), None],
    }

    def __init__(self, *, n_nonzero_coefs=None, step_size=None, max_iter=1000, tol=1e-8):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.step_size = step_size
        self.max_iter = max_iter
        self.tol = tol
        self._validate_params()

    @classmethod
    def maleki_donoho(cls, n_nonzero_coefs=None):
        """The Maleki–Donoho tuned IHT: relaxation κ = 0.65, 300 iterations.

        Parameters
        ----------
        n_nonzero_coefs : int or None, default=None
            Sparsity; None derives it from δ = m/n (:func:`tuned_sparsity`).

        Returns
        -------
        IHTMalekiDonoho
            The registered ``"iht-md"`` preset (:mod:`.maleki_donoho`).
        """
        return RECOVERERS.create("iht-md", n_nonzero_coefs=n_nonzero_coefs)

    def _setup(self, A, Y, X0):
        st = self._base_setup(A, Y, X0)
        if self.step_size is None:
            L = operator_norm(A) ** 2
            st.mu = 1.0 / max(L, np.finfo(float).tiny)
        else:
            st.mu = float(self.step_size)
        return st

    def _step(self, st, it):
        act = np.flatnonzero(st.active)
        X, R = st.X[:, act], st.R[:, act]
        Xn = keep_topk(X + st.mu * st.A.rmatmat(R), st.k)
        st.R[:, act] = st.Y[:, act] - st.A.matmat(Xn)
        st.X[:, act] = Xn
        done = np.linalg.norm(Xn - X, axis=0) <= self.tol * np.linalg.norm(Xn, axis=0)
        return self._finish(st, done, "tol")

    @classmethod
    def _conformance_params(cls, k):
        return dict(n_nonzero_coefs=k, max_iter=20000, tol=1e-13)


@register("niht")
class NIHT(_Thresholding):
    r"""Normalised iterative hard thresholding (Blumensath & Davies 2010), vectorised.

    Approximates

    .. math:: \min_x \tfrac12\|A x - y\|_2^2 \quad\text{s.t.}\quad \|x\|_0 \le k

    with a per-signal adaptive step: ``g = Aᵀ(y − Ax)``, ``μ = ‖g_Γ‖²/‖A g_Γ‖²`` on the current
    support Γ, ``x̃ = H_k(x + μg)``. When the support changes the step must satisfy
    ``μ ≤ ω = (1 − c)‖x̃ − x‖²/‖A(x̃ − x)‖²``, otherwise ``μ ← μ/(κ(1 − c))`` (the backtracking
    safeguard that makes the objective decrease). Insensitive to the scaling of A.

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        Sparsity k (None: :func:`tuned_sparsity`).
    max_iter : int, default=1000
    tol : float, default=1e-8
        A signal stops when ‖x_{t+1} − x_t‖ ≤ tol·‖x_{t+1}‖.
    c : float, default=0.01
        Safeguard constant, 0 < c < 1.
    kappa : float, default=2.0
        Step shrink factor; must exceed 1/(1 − c).

    References
    ----------
    Blumensath & Davies, "Normalized iterative hard thresholding: guaranteed stability and
    performance", IEEE J. Sel. Topics Signal Process. 4 (2010).
    """

    study_settings = StudySettings(
        family="greedy", phase=dict(n_nonzero_coefs=SPARSITY, max_iter=5000, tol=1e-13),
        embedding=dict(n_nonzero_coefs=SPARSITY, max_iter=300))

    _needs_gram = False
    _parameter_constraints = {
        **_GREEDY_K,
        **_ITER,
        "c": [Interval("real", 0, 1, closed="neither")],
        "kappa": [Interval("real", 1, None, closed="neither")],
    }

    def __init__(self, *, n_nonzero_coefs=None, max_iter=1000, tol=1e-8, c=0.01, kappa=2.0):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self.tol = tol
        self.c = c
        self.kappa = kappa
        self._validate_params()

    def _check_params(self):
        if self.kappa <= 1 / (1 - self.c):
            raise ValueError(f"NIHT: kappa={self.kappa} must exceed 1/(1 - c) = {1 / (1 - self.c):.4g}.")

    def _setup(self, A, Y, X0):
        return self._base_setup(A, Y, X0)

    def _step(self, st, it):
        A, k = st.A, st.k
        act = np.flatnonzero(st.active)
        X, R = st.X[:, act], st.R[:, act]
        g = A.rmatmat(R)
        supp = X != 0
        empty = ~supp.any(axis=0)
        if empty.any():  # first step: Γ = supp(H_k(g))
            supp[:, empty] = topk_mask(np.abs(g[:, empty]), k)
        gG = np.where(supp, g, 0)
        num = np.sum(gG * gG, axis=0)
        den = np.sum(A.matmat(gG) ** 2, axis=0)
        tiny = np.finfo(float).tiny
        mu = np.where(den > tiny, num / np.maximum(den, tiny), 0.0)
        Xn = keep_topk(X + mu * g, k)
        AXn = A.matmat(Xn)
        shrink = 1.0 / (self.kappa * (1 - self.c))
        for _ in range(60):
            changed = np.any((Xn != 0) != supp, axis=0)
            if not changed.any():
                break
            D = Xn[:, changed] - X[:, changed]
            AD = AXn[:, changed] - (st.Y[:, act][:, changed] - R[:, changed])
            ad2 = np.sum(AD * AD, axis=0)
            omega = (1 - self.c) * np.sum(D * D, axis=0) / np.maximum(ad2, tiny)
            bad = mu[changed] > omega
            if not bad.any():
                break
            cols = np.flatnonzero(changed)[bad]
            mu[cols] *= shrink
            Xn[:, cols] = keep_topk(X[:, cols] + mu[cols] * g[:, cols], k)
            AXn[:, cols] = A.matmat(Xn[:, cols])
        st.X[:, act] = Xn
        st.R[:, act] = st.Y[:, act] - AXn
        done = np.linalg.norm(Xn - X, axis=0) <= self.tol * np.linalg.norm(Xn, axis=0)
        return self._finish(st, done, "tol")

    @classmethod
    def _conformance_params(cls, k):
        return dict(n_nonzero_coefs=k, max_iter=5000, tol=1e-13)
