r"""Approximate message passing for the Lasso (Donoho, Maleki & Montanari 2009), vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validation import Interval, Options
from ...base import DirectRecoverer, DirectSolution, IterativeRecoverer
from ...registry import register
from ...studies import StudySettings
from ...theory import minimax_alpha
from ...prox import soft_threshold
from ._common import l1_objective, lam_vector

__all__ = ["AMP"]


@dataclass
class AMPState:
    """State of AMP (arrays: one column per signal): ``A`` (m, n), ``Y`` (m, B), ``X`` (n, B),
    ``AX``, residual ``Z`` (m, B) with the Onsager term, ``active`` (B,), threshold ``theta`` (B,),
    equivalent λ ``lam`` (B,), and ``alpha`` (the minimax threshold multiplier) when the
    threshold is calibrated rather than given by λ."""

    A: object
    Y: np.ndarray
    X: np.ndarray
    AX: np.ndarray
    Z: np.ndarray
    m: int
    n: int
    active: np.ndarray
    theta: np.ndarray | None = None
    lam: np.ndarray | None = None
    alpha: float | None = None


@register("amp")
class AMP(IterativeRecoverer):
    r"""Approximate message passing with soft thresholding (AMP for the Lasso).

    For every column ``y`` of the batch, with ``A`` of i.i.d. ``N(0, 1/m)`` entries (unit-norm
    columns), iterates

    .. math::

        x^{t+1} &= \eta\big(x^t + A^\top z^t;\ \theta_t\big), \\
        z^{t+1} &= y - A x^{t+1} + \frac{\|x^{t+1}\|_0}{m}\, z^t

    where ``η`` is soft thresholding and the last term is the Onsager correction
    (``⟨η'⟩/δ = ‖x‖₀/m``). Any fixed point solves the Lasso

    .. math:: \min_x \tfrac12\|A x - y\|_2^2 + \lambda\|x\|_1,\qquad
              \lambda = \theta_\infty\,(1 - \|x_\infty\|_0/m).

    Two threshold policies:

    * ``alpha`` mode (``lam=None``): ``θ_t = α·σ̂_t`` with ``σ̂_t = ‖z^t‖₂/√m``, the estimated
      effective noise level. α defaults to the minimax value for ``δ = m/n``
      (:func:`cstoolkit.theory.minimax_alpha`), whose phase transition is the ℓ1 curve
      :func:`cstoolkit.theory.rho_l1`. The equivalent λ is reported in ``result.lam`` per signal
      (and the result is certified by the Lasso duality gap at that λ).
    * ``lam`` mode: ``θ_{t+1} = λ + θ_t‖x^{t+1}‖₀/m`` so that the fixed point is the Lasso
      solution for the given λ (the λ ↔ α calibration of Bayati & Montanari, run online).

    AMP's guarantees (state evolution, :func:`cstoolkit.theory.state_evolution`) hold for
    Gaussian-like matrices with unit-norm columns; for other operators use FISTA. At small n
    (a few hundred) AMP occasionally fails to converge (we measured 1 oscillating signal in
    200 trials at n = 200, δ = 0.5, ρ = 0.15, ±1 amplitudes) and converges slowly near the phase
    transition, so give it ``max_iter`` in the thousands there.

    Parameters
    ----------
    lam : float or None, default=None
        Lasso penalty λ ≥ 0; None selects the α threshold policy.
    alpha : float or None, default=None
        Threshold multiplier of the α policy (ignored when ``lam`` is given); None uses
        ``minimax_alpha(m/n)``.
    lam_scale : {"absolute", "relative"}, default="absolute"
        With "relative", ``lam`` is a fraction of ``λ_max = ‖Aᵀy‖∞``.
    max_iter : int, default=1000
    tol : float, default=1e-8
        A signal stops when ‖x^{t+1} − x^t‖ ≤ tol·‖x^{t+1}‖.

    Notes
    -----
    ``RecoveryResult.lam`` is the Lasso λ the final iterate corresponds to, ``θ(1 − ‖x‖₀/m)``
    (``recover`` leaves the solver object unchanged).

    References
    ----------
    Donoho, Maleki & Montanari, "Message-passing algorithms for compressed sensing", PNAS 106
    (2009).
    Bayati & Montanari, "The LASSO risk for Gaussian matrices", IEEE Trans. Inf. Theory 58
    (2012).
    Montanari, "Graphical models concepts in compressed sensing", in Compressed Sensing:
    Theory and Applications, Cambridge Univ. Press (2012).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(max_iter=5000, tol=1e-13), embedding=dict(max_iter=300, tol=1e-7))

    objective_kind = "lasso"
    _param_units = {"lam": "lam"}
    _precision_params = ("tol",)
    _unit_columns = True  # the threshold and the Onsager term assume unit-norm columns
    _parameter_constraints = {
        "lam": [Interval("real", 0, None, closed="left"), None],
        "alpha": [Interval("real", 0, None, closed="neither"), None],
        "lam_scale": [Options("absolute", "relative")],
        "max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
    }

    def __init__(self, *, lam=None, alpha=None, lam_scale="absolute", max_iter=1000, tol=1e-8):
        self.lam = lam
        self.alpha = alpha
        self.lam_scale = lam_scale
        self.max_iter = max_iter
        self.tol = tol
        self._validate_params()

    def _setup(self, A, Y, X0):
        m, n = A.shape
        B = Y.shape[1]
        dt = Y.dtype
        rdt = np.finfo(dt).dtype
        X = np.zeros((n, B), dtype=dt) if X0 is None else X0
        AX = np.zeros_like(Y) if X0 is None else A.matmat(X)
        Z = Y - AX
        st = AMPState(A=A, Y=Y, X=X, AX=AX, Z=Z, m=m, n=n, active=np.ones(B, dtype=bool))
        if self.lam is not None:
            lam = lam_vector(self.lam, self.lam_scale, A.rmatmat(Y), dt)
            st.lam = lam
            st.theta = lam.astype(rdt).copy()
        else:
            alpha = self.alpha if self.alpha is not None else float(minimax_alpha(min(m / n, 1.0)))
            st.alpha = alpha
            st.theta = (alpha * np.linalg.norm(Z, axis=0) / np.sqrt(m)).astype(rdt)
            st.lam = st.theta.copy()
        return st

    def _step(self, st, it):
        A, m = st.A, st.m
        act = np.flatnonzero(st.active)
        if act.size == st.active.size:
            act = slice(None)  # all signals running: views instead of gathered copies
        X, Z, theta = st.X[:, act], st.Z[:, act], st.theta[act]
        Xn = soft_threshold(X + A.rmatmat(Z), theta)
        df = np.count_nonzero(Xn, axis=0) / m
        AXn = A.matmat(Xn)
        Zn = st.Y[:, act] - AXn + Z * df.astype(Z.dtype)
        if st.alpha is not None:
            lam_now = theta * (1 - df)
            theta_n = st.alpha * np.linalg.norm(Zn, axis=0) / np.sqrt(m)
            st.lam[act] = lam_now
        else:
            theta_n = st.lam[act] + theta * df
        done = np.linalg.norm(Xn - X, axis=0) <= self.tol * np.linalg.norm(Xn, axis=0)
        st.X[:, act], st.AX[:, act], st.Z[:, act] = Xn, AXn, Zn
        st.theta[act] = theta_n.astype(st.theta.dtype)
        st.active[np.flatnonzero(st.active)[done]] = False
        return None if st.active.any() else "tol"

    def _monitor(self, st):
        return l1_objective(st.AX - st.Y, st.X, st.lam)

    def _coef(self, st):
        return st.X

    @classmethod
    def _conformance_params(cls, k):
        return dict(max_iter=5000, tol=1e-13)

