"""Proximal gradient solvers for the Lasso: ISTA and FISTA (Beck & Teboulle 2009)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validation import Interval, Options
from ..._certificates import lasso_gap, safe_col_norms
from ...base import DirectRecoverer, DirectSolution, IterativeRecoverer
from ...operators import operator_norm
from ...registry import register
from ...prox import soft_threshold
from ...studies import StudySettings
from ._common import L1_CONSTRAINTS, l1_objective, lam_vector

__all__ = ["ISTA", "FISTA"]


@dataclass
class ProxGradState:
    """State of ISTA/FISTA (arrays: one column per signal).

    ``A`` operator (m, n); ``Y`` (m, B); ``X`` (n, B) iterate and ``AX``; ``lam`` (B,); ``L`` (B,)
    Lipschitz estimates (step 1/L); FISTA's momentum ``t`` (B,), extrapolated point ``Z`` and
    ``AZ``; ``ynorm`` (B,) and ``gap`` (B,) once the duality gap has been checked.
    """

    A: object
    Y: np.ndarray
    X: np.ndarray
    AX: np.ndarray
    lam: np.ndarray
    L: np.ndarray
    t: np.ndarray
    Z: np.ndarray
    AZ: np.ndarray
    ynorm: np.ndarray | None = None
    gap: np.ndarray | None = None


class _ProximalGradient(IterativeRecoverer):
    """Common loop state of ISTA/FISTA: iterate X, cached A X, step size(s) 1/L."""

    supports_complex = True
    objective_kind = "lasso"
    _param_units = {"lam": "lam", "step_size": "step"}
    _certificate_param = "tol"
    _precision_params = ("tol",)

    _parameter_constraints = {
        **L1_CONSTRAINTS,
        "max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
        "step_size": [Interval("real", 0, None, closed="neither"), None],
        "backtracking": [bool],
        "check_every": [Interval("integral", 1, None)],
    }

    def _setup(self, A, Y, X0):
        n, B = A.shape[1], Y.shape[1]
        dt = Y.dtype
        X = np.zeros((n, B), dtype=dt) if X0 is None else X0
        AtY = A.rmatmat(Y)
        lam = lam_vector(self.lam, self.lam_scale, AtY, dt)
        if self.step_size is not None:
            L = np.full(B, 1.0 / self.step_size)
        elif self.backtracking:
            # Beck–Teboulle backtracking starts from a cheap under-estimate and only grows.
            L = np.full(B, max(operator_norm(A, n_iter=5) ** 2 / 4.0, np.finfo(float).tiny))
        else:
            L = np.full(B, max(operator_norm(A) ** 2, np.finfo(float).tiny))
        AX = A.matmat(X) if X0 is not None else np.zeros_like(Y)
        st = ProxGradState(A=A, Y=Y, X=X, AX=AX, lam=lam, L=L.astype(np.finfo(dt).dtype), t=np.ones(B), Z=X.copy(),
                           AZ=AX.copy())
        return st

    def _prox_step(self, st, Z, AZ):
        """x⁺ = prox_{λ/L}(z − ∇f(z)/L), with backtracking on L per signal if asked."""
        A, Y, lam = st.A, st.Y, st.lam
        RZ = AZ - Y
        G = A.rmatmat(RZ)
        L = st.L
        while True:
            Xn = soft_threshold(Z - G / L, lam / L)
            AXn = A.matmat(Xn)
            if not self.backtracking or self.step_size is not None:
                return Xn, AXn, G, RZ
            D = Xn - Z
            fx = 0.5 * np.sum(np.abs(AXn - Y) ** 2, axis=0)
            q = 0.5 * np.sum(np.abs(RZ) ** 2, axis=0) + np.real(np.sum(np.conj(G) * D, axis=0)) + 0.5 * L * np.sum(np.abs(D) ** 2, axis=0)
            bad = fx > q * (1 + 1e-12) + 1e-30
            if not np.any(bad):
                return Xn, AXn, G, RZ
            L = np.where(bad, L * 2.0, L)
            st.L = L

    def _gap_converged(self, st, it):
        if it % self.check_every:
            return False
        R = st.AX - st.Y
        if st.ynorm is None:
            st.ynorm = safe_col_norms(st.Y)
        primal, gap, rounding = lasso_gap(R, st.A.rmatmat(R), st.X, st.lam, ynorm=st.ynorm,
                                          with_rounding=True)
        st.gap = gap
        return bool(np.all(gap - rounding <= self.tol * np.maximum(primal, np.finfo(float).tiny)))

    def _monitor(self, st):
        return l1_objective(st.AX - st.Y, st.X, st.lam)

    def _coef(self, st):
        return st.X


@register("ista")
class ISTA(_ProximalGradient):
    r"""Iterative shrinkage-thresholding for the Lasso.

    Minimises, for every column ``y`` of the batch,

    .. math:: F(x) = \tfrac12\|A x - y\|_2^2 + \lambda \|x\|_1

    with ``x_{k+1} = soft_threshold(x_k − Aᴴ(A x_k − y)/L, λ/L)``, ``L = ‖A‖₂²`` (or found by
    backtracking). F(x_k) − F* ≤ L‖x₀ − x*‖² / (2k). Real or complex data.

    Parameters
    ----------
    lam : float, default=0.1
        λ ≥ 0 (absolute, or a fraction of λ_max = ‖Aᴴy‖∞ when ``lam_scale="relative"``).
    lam_scale : {"absolute", "relative"}, default="absolute"
    max_iter : int, default=1000
    tol : float, default=1e-6
        Stop when the duality gap ≤ tol·F(x) for every signal.
    step_size : float or None, default=None
        Fixed step 1/L; default uses L = ‖A‖₂² (exact for small dense A, power iteration otherwise).
    backtracking : bool, default=False
        Beck–Teboulle backtracking on L per signal (starting from an under-estimate).
    check_every : int, default=10
        Iterations between duality-gap checks (each costs one ``Aᴴ`` product).

    References
    ----------
    Daubechies, Defrise & De Mol, "An iterative thresholding algorithm for linear inverse
    problems with a sparsity constraint", CPAM 57 (2004).
    Beck & Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse
    problems", SIAM J. Imaging Sci. 2 (2009).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(lam=3e-3, lam_scale="relative", max_iter=20000, tol=1e-10),
        embedding=dict(max_iter=500, tol=1e-6), studies={"embedding"},
        note="tens of thousands of iterations per phase-diagram cell")

    def __init__(self, *, lam=0.1, lam_scale="absolute", max_iter=1000, tol=1e-6, step_size=None,
                 backtracking=False, check_every=10):
        self.lam = lam
        self.lam_scale = lam_scale
        self.max_iter = max_iter
        self.tol = tol
        self.step_size = step_size
        self.backtracking = backtracking
        self.check_every = check_every
        self._validate_params()

    def _step(self, st, it):
        Xn, AXn, _, _ = self._prox_step(st, st.X, st.AX)
        st.X, st.AX = Xn, AXn
        return "tol" if self._gap_converged(st, it) else None

    @classmethod
    def _conformance_params(cls, k):
        return dict(lam=3e-3, lam_scale="relative", max_iter=20000, tol=1e-10)


@register("fista")
class FISTA(_ProximalGradient):
    r"""Fast iterative shrinkage-thresholding (accelerated proximal gradient) for the Lasso.

    Minimises, for every column ``y`` of the batch,

    .. math:: F(x) = \tfrac12\|A x - y\|_2^2 + \lambda \|x\|_1

    with Nesterov momentum: ``x_k = p_L(z_k)``, ``t_{k+1} = (1 + √(1 + 4t_k²))/2``,
    ``z_{k+1} = x_k + ((t_k − 1)/t_{k+1})(x_k − x_{k−1})``, so F(x_k) − F* ≤ 2L‖x₀ − x*‖²/(k+1)².
    ``A z`` is obtained from ``A x_k`` and ``A x_{k−1}`` by linearity, so one iteration costs
    one ``A`` and one ``Aᴴ`` product. Real or complex data.

    Parameters
    ----------
    lam : float, default=0.1
        λ ≥ 0 (absolute, or a fraction of λ_max = ‖Aᴴy‖∞ when ``lam_scale="relative"``).
    lam_scale : {"absolute", "relative"}, default="absolute"
    max_iter : int, default=1000
    tol : float, default=1e-6
        Stop when the duality gap ≤ tol·F(x) for every signal.
    step_size : float or None, default=None
        Fixed step 1/L; default L = ‖A‖₂².
    backtracking : bool, default=False
        Beck–Teboulle backtracking on L per signal.
    restart : {None, "gradient", "function"}, default="gradient"
        Adaptive restart of the momentum per signal (O'Donoghue & Candès 2015): "gradient"
        when (z_k − x_k)ᴴ(x_k − x_{k−1}) > 0, "function" when F increases.
    check_every : int, default=10
        Iterations between duality-gap checks.

    References
    ----------
    Beck & Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse
    problems", SIAM J. Imaging Sci. 2 (2009).
    O'Donoghue & Candès, "Adaptive restart for accelerated gradient schemes", FoCM 15 (2015).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(lam=1e-4, lam_scale="relative", max_iter=3000, tol=1e-10),
        embedding=dict(max_iter=500, tol=1e-7), budget_limited=True,
        note="capped at 3000 iterations in the phase diagram (at λ = 1e-4·λ_max it needs up to 20,000 "
             "above the curve: 29 s per cell)")

    _parameter_constraints = {
        **_ProximalGradient._parameter_constraints,
        "restart": [Options("gradient", "function"), None],
    }

    def __init__(self, *, lam=0.1, lam_scale="absolute", max_iter=1000, tol=1e-6, step_size=None,
                 backtracking=False, restart="gradient", check_every=10):
        self.lam = lam
        self.lam_scale = lam_scale
        self.max_iter = max_iter
        self.tol = tol
        self.step_size = step_size
        self.backtracking = backtracking
        self.restart = restart
        self.check_every = check_every
        self._validate_params()

    def _step(self, st, it):
        X, AX, t = st.X, st.AX, st.t
        Xn, AXn, _, _ = self._prox_step(st, st.Z, st.AZ)
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        beta = (t - 1) / tn
        if self.restart == "gradient":
            restart = np.real(np.sum(np.conj(st.Z - Xn) * (Xn - X), axis=0)) > 0
        elif self.restart == "function":
            restart = l1_objective(AXn - st.Y, Xn, st.lam)[0] > l1_objective(AX - st.Y, X, st.lam)[0]
        else:
            restart = np.zeros_like(t, dtype=bool)
        beta = np.where(restart, 0.0, beta)
        tn = np.where(restart, 1.0, tn)
        b = beta.astype(np.finfo(X.dtype).dtype)
        st.Z = Xn + b * (Xn - X)
        st.AZ = AXn + b * (AXn - AX)
        st.X, st.AX, st.t = Xn, AXn, tn
        return "tol" if self._gap_converged(st, it) else None

    @classmethod
    def _conformance_params(cls, k):
        return dict(lam=1e-4, lam_scale="relative", max_iter=20000, tol=1e-10)

