r"""The Lasso path by homotopy (LARS with the Lasso modification), exact breakpoints.

Objective: F(x) = ½‖Ax − y‖₂² + λ‖x‖₁. The solution x(λ) is piecewise linear in λ; starting
from λ_max = ‖Aᵀy‖∞ (x = 0) the active set changes only at breakpoints, where an inactive
correlation reaches ±λ (the atom joins) or an active coefficient crosses zero (it leaves — the
Lasso modification of LARS). Between breakpoints ``x_A`` moves along ``(A_AᵀA_A)⁻¹ s_A``, kept as
a Cholesky factor updated by one row per join.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular

from .._validation import Interval
from ..base import Recoverer
from ..registry import register
from ._l1 import L1_CONSTRAINTS, lam_vector
from .greedy import _dictionary

__all__ = ["Homotopy", "lasso_path_homotopy"]

logger = logging.getLogger(__name__)


def _homotopy(G, c, lam_stop, max_steps, tol, keep_path):
    """Core path for one signal from Gram ``G = AᵀA`` and ``c = Aᵀy``; returns (λ_k, coefs, x)."""
    n = G.shape[0]
    c = c.astype(float, copy=True)
    x = np.zeros(n)
    j0 = int(np.argmax(np.abs(c)))
    lam = float(abs(c[j0]))
    lams, path = [lam], [x.copy()] if keep_path else None
    if lam <= lam_stop or lam == 0.0:
        return np.array(lams), (np.array(path).T if keep_path else None), x
    active = [j0]
    is_active = np.zeros(n, dtype=bool)
    is_active[j0] = True
    L = np.sqrt(np.array([[G[j0, j0]]]))
    diag = np.diag(G)
    # the active columns of G, contiguous (Fortran order): one gemv per step, appended on joins
    cap = min(n, 2 * int(np.sqrt(n)) + 16)
    GA = np.empty((n, cap), order="F")
    GA[:, 0] = G[:, j0]
    for _ in range(max_steps):
        k = len(active)
        s = np.sign(c[active])
        d = cho_solve((L, True), s, check_finite=False)  # direction of x_A as λ decreases
        a = GA[:, :k] @ d  # rate of change of every correlation
        # joins: |c_j − γ a_j| = λ − γ for inactive j
        with np.errstate(divide="ignore", invalid="ignore"):
            g1 = (lam - c) / (1.0 - a)
            g2 = (lam + c) / (1.0 + a)
        g1 = np.where(is_active | (g1 <= tol * lam), np.inf, g1)
        g2 = np.where(is_active | (g2 <= tol * lam), np.inf, g2)
        gj = np.minimum(g1, g2)
        j_in = int(np.argmin(gj))
        g_in = gj[j_in]
        # drops: an active coefficient reaches zero
        xa = x[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            gd = -xa / d
        gd = np.where(gd > tol * lam, gd, np.inf)
        k_out = int(np.argmin(gd)) if gd.size else 0
        g_out = gd[k_out] if gd.size else np.inf
        g_end = lam - lam_stop
        gamma = min(g_in, g_out, g_end)
        x[active] = xa + gamma * d
        c -= gamma * a
        lam -= gamma
        if gamma == g_end or not np.isfinite(gamma):
            if keep_path:
                lams.append(lam)
                path.append(x.copy())
            break
        if g_out <= g_in:
            j = active.pop(k_out)
            x[j] = 0.0
            is_active[j] = False
            GA[:, k_out:k - 1] = GA[:, k_out + 1:k]
            L = cholesky(G[np.ix_(active, active)], lower=True) if active else np.zeros((0, 0))
        else:
            w = solve_triangular(L, GA[j_in, :k], lower=True, check_finite=False) if active else np.zeros(0)
            r2 = diag[j_in] - w @ w
            if r2 <= tol * diag[j_in]:
                logger.info("homotopy: atom %d is collinear with the active set; path stopped at λ=%g", j_in, lam)
                if keep_path:
                    lams.append(lam)
                    path.append(x.copy())
                break
            if k + 1 > GA.shape[1]:
                GA = np.asfortranarray(np.hstack([GA, np.empty((n, min(n, 2 * GA.shape[1]) - GA.shape[1]))]))
            GA[:, k] = G[:, j_in]
            Ln = np.zeros((k + 1, k + 1))
            Ln[:k, :k] = L
            Ln[k, :k] = w
            Ln[k, k] = np.sqrt(r2)
            L = Ln
            active.append(j_in)
            is_active[j_in] = True
        if keep_path:
            lams.append(lam)
            path.append(x.copy())
        if not active:
            break
    return np.array(lams), (np.array(path).T if keep_path else None), x


def lasso_path_homotopy(A, y, *, lam_min=0.0, max_steps=None, tol=1e-12):
    r"""The whole Lasso path by homotopy / LARS-Lasso, with exact breakpoints.

    .. math:: x(\lambda) = \arg\min_x \tfrac12\|A x - y\|_2^2 + \lambda \|x\|_1

    Parameters
    ----------
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    lam_min : float, default=0.0
        Stop the path at this λ (its endpoint is included as the last breakpoint).
    max_steps : int or None, default=None
        Maximum number of joins/drops; default ``8·min(m, n)``.
    tol : float, default=1e-12
        Relative tolerance for step lengths and for collinear atoms (a join whose new Cholesky
        pivot² is ≤ tol·‖a_j‖² stops the path).

    Returns
    -------
    lambdas : ndarray, shape (K,)
        Breakpoints λ_0 = ‖Aᵀy‖∞ > λ_1 > ... (scikit-learn's ``lars_path`` alphas are ``λ/m``).
    coefs : ndarray, shape (n, K)
        x(λ_k) at every breakpoint; x(λ) is linear in between.

    References
    ----------
    Osborne, Presnell & Turlach, "A new approach to variable selection in least squares
    problems", IMA J. Numer. Anal. 20 (2000). Efron, Hastie, Johnstone & Tibshirani, "Least
    angle regression", Ann. Statist. 32 (2004).
    """
    A = np.asarray(A, dtype=float)
    y = np.asarray(y, dtype=float)
    if A.ndim != 2 or y.shape != (A.shape[0],):
        raise ValueError(f"expected A of shape (m, n) and y of shape (m,), got {A.shape} and {y.shape}.")
    steps = 8 * min(A.shape) if max_steps is None else int(max_steps)
    lams, path, _ = _homotopy(A.T @ A, A.T @ y, float(lam_min), steps, tol, True)
    return lams, path


@register("homotopy")
class Homotopy(Recoverer):
    r"""The Lasso at a given λ by homotopy (LARS-Lasso): exact, no tolerance to tune.

    .. math:: F(x) = \tfrac12\|A x - y\|_2^2 + \lambda \|x\|_1

    Follows the piecewise-linear path from λ_max = ‖Aᵀy‖∞ down to λ, with exact breakpoints
    (joins and zero crossings). The Gram matrix ``AᵀA`` and the correlations ``AᵀY`` are
    computed once for the batch (BLAS-3); the path itself is followed per signal (breakpoints
    differ between signals). Cheap when the solution is sparse (a few dozen breakpoints).
    Real data. See :func:`lasso_path_homotopy` for the whole path.

    Parameters
    ----------
    lam : float, default=0.1
        λ ≥ 0 (absolute, or a fraction of λ_max = ‖Aᵀy‖∞ when ``lam_scale="relative"``).
    lam_scale : {"absolute", "relative"}, default="absolute"
    max_iter : int or None, default=None
        Maximum number of breakpoints per signal; default ``8·min(m, n)``.
    tol : float, default=1e-12
        Relative tolerance for step lengths and collinear atoms.

    References
    ----------
    Osborne, Presnell & Turlach, IMA J. Numer. Anal. 20 (2000). Efron, Hastie, Johnstone &
    Tibshirani, "Least angle regression", Ann. Statist. 32 (2004).
    """

    objective_kind = "lasso"
    _parameter_constraints = {
        **L1_CONSTRAINTS,
        "max_iter": [Interval("integral", 1, None), None],
        "tol": [Interval("real", 0, None, closed="left")],
    }

    def __init__(self, *, lam=0.1, lam_scale="absolute", max_iter=None, tol=1e-12):
        self.lam = lam
        self.lam_scale = lam_scale
        self.max_iter = max_iter
        self.tol = tol
        self._validate_params()

    def _setup(self, A, Y, X0):
        D = _dictionary(A).astype(np.float64, copy=False)
        Y64 = Y.astype(np.float64, copy=False)
        C = D.T @ Y64
        return dict(D=D, Y=Y, G=D.T @ D, C=C, lam=lam_vector(self.lam, self.lam_scale, C, np.float64))

    def _max_iterations(self, st):
        return 1

    def _step(self, st, it):
        G, C, lam = st["G"], st["C"], st["lam"]
        steps = 8 * min(st["D"].shape) if self.max_iter is None else self.max_iter
        X = np.zeros_like(C)
        for b in range(C.shape[1]):  # the path is sequential per signal; Gram and AᵀY are shared
            lams, _, X[:, b] = _homotopy(G, C[:, b], float(lam[b]), steps, self.tol, False)
        st["X"] = X.astype(st["Y"].dtype, copy=False)
        return "solved"

    def _monitor(self, st):
        X = st["X"]
        R = st["D"] @ X - st["Y"]
        rn2 = np.sum(R * R, axis=0)
        return 0.5 * rn2 + st["lam"] * np.sum(np.abs(X), axis=0), np.sqrt(rn2)

    def _coef(self, st):
        return st["X"]

    @classmethod
    def _conformance_params(cls, k):
        return dict(lam=1e-9, lam_scale="relative")

    _conformance_tol = 1e-6
