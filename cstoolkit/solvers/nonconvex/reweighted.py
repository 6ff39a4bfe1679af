r"""Sharper-than-ℓ1 recovery: reweighted ℓ1 (Candès, Wakin & Boyd) and IRLS for ℓp (p ≤ 1).

Both replace ‖x‖₁ by a concave surrogate of ‖x‖₀ and solve a sequence of convex (weighted)
problems, recovering at sparsities where plain basis pursuit fails. They minimise no single
convex objective, so ``history["objective"]`` holds ½‖Ax − y‖² (as for greedy solvers) and the
conformance reference is the exact support of an easy instance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validation import Interval
from ...base import IterativeRecoverer
from ...registry import register
from ...linalg import dense_matrix
from ...studies import StudySettings
from ..l1.admm import ADMMBasisPursuit, polish_l1

__all__ = ["ReweightedL1", "IRLS"]


@dataclass
class ReweightedL1State:
    """State of reweighted ℓ1: ``A``, dense ``D`` (m, n), ``Y`` (m, B), the ``inner`` ADMM solver,
    weights ``W`` (n, B), projection iterate ``X`` (n, B) (None before the first solve) and the
    returned sparse iterate ``Xout``."""

    A: object
    D: np.ndarray
    Y: np.ndarray
    inner: object
    W: np.ndarray
    X: np.ndarray | None
    Xout: np.ndarray


@dataclass
class IRLSState:
    """State of IRLS: dense ``D`` (m, n), ``Y`` (m, B), ``X`` (n, B), smoothing ``eps`` (B,),
    per-signal ``scale`` (B,) and ``done`` (B,)."""

    D: np.ndarray
    Y: np.ndarray
    X: np.ndarray
    eps: np.ndarray
    scale: np.ndarray
    done: np.ndarray


@register("reweighted-l1")
class ReweightedL1(IterativeRecoverer):
    r"""Iteratively reweighted ℓ1 minimisation (basis pursuit form), batched over signals.

    Outer iteration ``t``: solve the weighted basis pursuit

    .. math:: x^{(t)} = \arg\min_x \sum_i w_i^{(t)} |x_i| \quad\text{s.t.}\quad A x = y,
              \qquad w_i^{(t+1)} = \frac{1}{|x_i^{(t)}| + \epsilon}

    starting from ``w = 1`` (plain basis pursuit). The weighted problems are solved by the
    batched ADMM of :class:`~cstoolkit.ADMMBasisPursuit` through its public
    :meth:`~cstoolkit.ADMMBasisPursuit.solve_weighted` (per-entry thresholds ``w/ρ``, one
    projection onto ``{Ax = y}`` for all signals, warm-started from the previous solve). The last iterate is polished on its support (exact when the
    support is right). One ``recover`` iteration = one reweighting.

    Parameters
    ----------
    max_iter : int, default=6
        Number of weighted solves (the first is plain basis pursuit).
    epsilon : float, default=0.1
        ε relative to the largest |x| of the current iterate (per signal): ε_b = epsilon·‖x_b‖∞.
    inner_max_iter : int, default=500
        ADMM iterations per weighted solve.
    tol : float, default=1e-7
        Relative ADMM tolerance of the inner solves.

    References
    ----------
    Candès, Wakin & Boyd, "Enhancing sparsity by reweighted ℓ1 minimization", J. Fourier Anal.
    Appl. 14 (2008).
    """

    study_settings = StudySettings(
        family="beyond-l1", phase={}, embedding={}, slow=True,
        note="a weighted ℓ1 problem per signal per outer iteration")

    supports_complex = True
    objective_kind = "greedy"
    _parameter_constraints = {
        "max_iter": [Interval("integral", 1, None)],
        "epsilon": [Interval("real", 0, None, closed="neither")],
        "inner_max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
    }

    def __init__(self, *, max_iter=6, epsilon=0.1, inner_max_iter=500, tol=1e-7):
        self.max_iter = max_iter
        self.epsilon = epsilon
        self.inner_max_iter = inner_max_iter
        self.tol = tol
        self._validate_params()

    def _setup(self, A, Y, X0):
        inner = ADMMBasisPursuit(polish=False, tol=self.tol, max_iter=self.inner_max_iter)
        n, B = A.shape[1], Y.shape[1]
        D = dense_matrix(A).astype(Y.dtype, copy=False)
        return ReweightedL1State(A=A, D=D, Y=Y, inner=inner, W=np.ones((n, B), dtype=np.finfo(Y.dtype).dtype),
                                 X=X0, Xout=np.zeros((n, B), dtype=Y.dtype) if X0 is None else X0.copy())

    def _step(self, st, it):
        # one weighted basis pursuit through the inner solver's public entry point, warm-started
        X, Z, _ = st.inner.solve_weighted(st.A, st.Y, st.W, st.X)
        st.X, st.Xout = X, Z
        mag = np.abs(X)  # the projection iterate satisfies Ax = y
        eps = self.epsilon * np.max(mag, axis=0, initial=0.0)
        W = 1.0 / (mag + np.maximum(eps, np.finfo(float).tiny))
        st.W = (W / np.max(W, axis=0)).astype(st.W.dtype)  # keep the ADMM scale of plain BP
        if it == self.max_iter:
            # final support polish: least squares on the iterate's support (kept where exact)
            Zs = np.where(mag >= 1e-6 * np.max(mag, axis=0, initial=0.0), Z, 0)
            Xp, _ = polish_l1(st.D, st.Y, Zs, positive=False, dual=None)
            R = st.D @ Xp - st.Y
            exact = np.sqrt(np.sum(np.abs(R) ** 2, axis=0)) <= 1e-9 * np.sqrt(np.sum(np.abs(st.Y) ** 2, axis=0)) + 1e-300
            st.Xout = np.where(exact, Xp, Z)
            return "tol"
        return None

    def _monitor(self, st):
        R = st.D @ st.Xout - st.Y
        r2 = np.sum(np.abs(R) ** 2, axis=0)
        return 0.5 * r2, np.sqrt(r2)

    def _coef(self, st):
        return st.Xout


@register("irls")
class IRLS(IterativeRecoverer):
    r"""Iteratively reweighted least squares for ℓp minimisation (p ≤ 1), batched over signals.

    .. math:: \min_x \sum_i (x_i^2 + \epsilon^2)^{p/2} \quad\text{s.t.}\quad A x = y

    Each iteration solves the weighted least-norm problem in closed form,
    ``x = Q Aᴴ (A Q Aᴴ)⁻¹ y`` with ``Q = diag((|x|² + ε²)^{1 − p/2})``, batched as ``B``
    Cholesky solves of ``m × m`` systems; ε is divided by 10 whenever the iterate stalls
    (‖Δx‖ < √ε/100 relative, Chartrand & Yin's schedule) until ε < ``eps_min`` (relative to
    ‖x‖∞). p = 1 approximates basis pursuit; p < 1 recovers sparser-than-ℓ1 signals. Real or
    complex data.

    Parameters
    ----------
    p : float, default=0.5
        Exponent in (0, 1].
    max_iter : int, default=500
    eps_min : float, default=1e-9
        Final ε relative to the largest entry of the least-norm solution.

    References
    ----------
    Chartrand & Yin, "Iteratively reweighted algorithms for compressive sensing", ICASSP 2008.
    Daubechies, DeVore, Fornasier & Güntürk, "Iteratively reweighted least squares minimization
    for sparse recovery", CPAM 63 (2010).
    """

    study_settings = StudySettings(
        family="beyond-l1", phase={}, embedding=dict(max_iter=100), studies={"embedding"}, slow=True,
        note="a weighted least-squares problem per signal per outer iteration (50–160 s per cell)")

    supports_complex = True
    objective_kind = "greedy"
    _parameter_constraints = {
        "p": [Interval("real", 0, 1, closed="right")],
        "max_iter": [Interval("integral", 1, None)],
        "eps_min": [Interval("real", 0, None, closed="neither")],
    }

    def __init__(self, *, p=0.5, max_iter=500, eps_min=1e-9):
        self.p = p
        self.max_iter = max_iter
        self.eps_min = eps_min
        self._validate_params()

    def _setup(self, A, Y, X0):
        D = dense_matrix(A).astype(Y.dtype, copy=False)
        X = np.linalg.lstsq(D, Y, rcond=None)[0] if X0 is None else X0
        scale = np.max(np.abs(X), axis=0, initial=0.0)
        scale = np.where(scale > 0, scale, 1.0)
        return IRLSState(D=D, Y=Y, X=X, eps=np.ones(Y.shape[1]) * scale, scale=scale,
                         done=np.zeros(Y.shape[1], dtype=bool))

    def _step(self, st, it):
        D, Y, X = st.D, st.Y, st.X
        act = np.flatnonzero(~st.done)
        q = (np.abs(X[:, act]) ** 2 + st.eps[act] ** 2) ** (1 - self.p / 2)  # (n, b)
        Q = q.T[:, :, None]  # (b, n, 1)
        DQ = D[None] * np.swapaxes(Q, 1, 2)  # (b, m, n) = A diag(q)
        M = DQ @ D.conj().T  # (b, m, m)
        M = M + (1e-14 * np.trace(M, axis1=1, axis2=2).real / D.shape[0])[:, None, None] * np.eye(D.shape[0])
        rhs = Y[:, act].T[:, :, None]
        try:
            L = np.linalg.cholesky(M)
            w = np.linalg.solve(np.swapaxes(L.conj(), 1, 2), np.linalg.solve(L, rhs))
        except np.linalg.LinAlgError:  # rank-deficient A (a zero or rank-1 matrix): pseudo-inverse
            w = np.linalg.pinv(M, rcond=1e-12, hermitian=True) @ rhs
        Xn = (np.swapaxes(DQ.conj(), 1, 2) @ w)[..., 0].T  # diag(q) Aᴴ w
        step = np.sqrt(np.sum(np.abs(Xn - X[:, act]) ** 2, axis=0)) / st.scale[act]
        X[:, act] = Xn
        eps = st.eps[act] / st.scale[act]
        shrink = step < np.sqrt(eps) / 100
        eps = np.where(shrink, eps / 10, eps)
        st.eps[act] = eps * st.scale[act]
        st.done[act[eps < self.eps_min]] = True
        return "tol" if st.done.all() else None

    def _monitor(self, st):
        R = st.D @ st.X - st.Y
        r2 = np.sum(np.abs(R) ** 2, axis=0)
        return 0.5 * r2, np.sqrt(r2)

    def _active(self, st):
        return ~st.done

    def _coef(self, st):
        return st.X

