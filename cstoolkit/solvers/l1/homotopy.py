r"""The Lasso path by homotopy (LARS with the Lasso modification), exact breakpoints.

Objective: F(x) = ½‖Ax − y‖₂² + λ‖x‖₁. The solution x(λ) is piecewise linear in λ; starting
from λ_max = ‖Aᵀy‖∞ (x = 0) the active set changes only at breakpoints, where an inactive
correlation reaches ±λ (the atom joins) or an active coefficient crosses zero (it leaves — the
Lasso modification of LARS). Between breakpoints ``x_A`` moves along ``(A_AᵀA_A)⁻¹ s_A``, kept as
a Cholesky factor updated by one row per join.

Why one file (over 400 lines): the path algorithm, its batched driver and the two solvers built
on it (Lasso, basis pursuit) are one algorithm stopped at different λ.
"""

from __future__ import annotations

import abc
import logging

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular

from ..._threads import blas_single_thread, gram_is_small
from ..._validation import Interval, Options
from ...base import DirectRecoverer, DirectSolution, IterativeRecoverer
from ...registry import register
from ...linalg import dense_matrix
from ...studies import StudySettings
from .._engine import ENGINES
from ._common import L1_CONSTRAINTS, lam_vector

__all__ = ["Homotopy", "BasisPursuitHomotopy", "homotopy_batch", "lasso_path_homotopy"]

logger = logging.getLogger(__name__)


#: path end codes, shared with the compiled kernel (:mod:`._homotopy_numba`)
REACHED, MAX_STEPS, COLLINEAR = 0, 1, 2
_STATUS = {REACHED: "solved", MAX_STEPS: "max_iter", COLLINEAR: "stalled"}


def _homotopy(G, c, lam_stop, max_steps, tol, keep_path, rank=None):
    """Core path for one signal from Gram ``G = AᵀA`` and ``c = Aᵀy``; returns (λ_k, coefs, x, end).

    ``end`` is REACHED (λ = ``lam_stop``), MAX_STEPS (budget exhausted) or COLLINEAR.

    ``rank`` is the rank bound ``min(m, n)``: with that many active atoms no join exists (the
    inactive ratios c_j/λ are frozen), so joins are not searched. Events closer to ``lam_stop``
    than ``tol·λ_max`` are the end point itself (at λ → 0 every inactive correlation reaches ±λ
    together with λ, a tie that rounding would turn into spurious joins).
    """
    n = G.shape[0]
    rank = n if rank is None else int(rank)
    c = c.astype(float, copy=True)
    x = np.zeros(n)
    j0 = int(np.argmax(np.abs(c)))
    lam = float(abs(c[j0]))
    lams, path = [lam], [x.copy()] if keep_path else None
    if lam <= lam_stop or lam == 0.0:
        return np.array(lams), (np.array(path).T if keep_path else None), x, REACHED
    active = [j0]
    signs = [1.0 if c[j0] > 0 else -1.0]  # kept, not re-read from c (c_j = ±λ is noisy near λ = 0)
    is_active = np.zeros(n, dtype=bool)
    is_active[j0] = True
    L = np.sqrt(np.array([[G[j0, j0]]]))
    diag = np.diag(G)
    # the active columns of G, contiguous (Fortran order): one gemv per step, appended on joins
    cap = min(n, 2 * int(np.sqrt(n)) + 16)
    GA = np.empty((n, cap), order="F")
    GA[:, 0] = G[:, j0]
    eps_end = tol * lam
    dropped = -1  # an atom that just left may not rejoin at the next breakpoint (Lasso rule)
    end = MAX_STEPS
    for _ in range(max_steps):
        k = len(active)
        s = np.asarray(signs)
        d = cho_solve((L, True), s, check_finite=False)  # direction of x_A as λ decreases
        a = GA[:, :k] @ d  # rate of change of every correlation
        # joins: |c_j − γ a_j| = λ − γ for inactive j
        with np.errstate(divide="ignore", invalid="ignore"):
            g1 = (lam - c) / (1.0 - a)
            g2 = (lam + c) / (1.0 + a)
        g1 = np.where(is_active | (g1 <= tol * lam), np.inf, g1)
        g2 = np.where(is_active | (g2 <= tol * lam), np.inf, g2)
        if dropped >= 0:
            g1[dropped] = g2[dropped] = np.inf
        gj = np.minimum(g1, g2)
        j_in = int(np.argmin(gj))
        g_in = gj[j_in] if k < rank else np.inf
        # drops: an active coefficient reaches zero
        xa = x[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            gd = -xa / d
        gd = np.where(gd > tol * lam, gd, np.inf)
        k_out = int(np.argmin(gd)) if gd.size else 0
        g_out = gd[k_out] if gd.size else np.inf
        g_end = lam - lam_stop
        if g_in >= g_end - eps_end:
            g_in = np.inf
        if g_out >= g_end - eps_end:
            g_out = np.inf
        gamma = min(g_in, g_out, g_end)
        x[active] = xa + gamma * d
        c -= gamma * a
        lam -= gamma
        if gamma == g_end or not np.isfinite(gamma):
            end = REACHED
            lams.append(lam)  # always: len(lams) − 1 is the number of breakpoints followed
            if keep_path:
                path.append(x.copy())
            break
        dropped = -1
        if g_out <= g_in:
            j = active.pop(k_out)
            signs.pop(k_out)
            dropped = j
            x[j] = 0.0
            is_active[j] = False
            GA[:, k_out:k - 1] = GA[:, k_out + 1:k]
            L = cholesky(G[np.ix_(active, active)], lower=True) if active else np.zeros((0, 0))
        else:
            w = solve_triangular(L, GA[j_in, :k], lower=True, check_finite=False) if active else np.zeros(0)
            r2 = diag[j_in] - w @ w
            if r2 <= tol * diag[j_in]:
                logger.warning("homotopy: atom %d is collinear with the active set; path stopped at λ=%g "
                               "(the result is the solution there, not at the requested λ)", j_in, lam)
                end = COLLINEAR
                lams.append(lam)
                if keep_path:
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
            signs.append(1.0 if g1[j_in] <= g2[j_in] else -1.0)
            is_active[j_in] = True
        lams.append(lam)
        if keep_path:
            path.append(x.copy())
        if not active:
            end = REACHED
            break
    return np.array(lams), (np.array(path).T if keep_path else None), x, end


def lasso_path_homotopy(A, y, *, lam_min=0.0, max_steps=None, tol=1e-12, engine="auto"):
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
    engine : {"auto", "numpy", "numba"}, default="auto"
        The compiled kernel (optional numba) or the numpy implementation; same breakpoints.

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
    from .._engine import use_numba  # validates engine

    steps = 8 * min(A.shape) if max_steps is None else int(max_steps)
    G, c = A.T @ A, A.T @ y
    if use_numba(engine):
        from ._homotopy_numba import homotopy_path_numba

        lams, path, _ = homotopy_path_numba(G, c, float(lam_min), steps, tol, min(A.shape))
        return lams, np.ascontiguousarray(path.T)
    lams, path, _, _ = _homotopy(G, c, float(lam_min), steps, tol, True, min(A.shape))
    return lams, path


def homotopy_batch(G, C, lam_stop, *, max_steps, tol=1e-12, rank=None, engine="auto"):
    """Lasso solutions at ``lam_stop`` for a batch by homotopy, from ``G = AᵀA`` and ``C = AᵀY``.

    Parameters
    ----------
    G : ndarray, shape (n, n)
    C : ndarray, shape (n, B)
    lam_stop : ndarray, shape (B,)
        λ at which each path stops (0 gives basis pursuit when m < n).
    max_steps : int
        Breakpoint budget per signal.
    tol : float, default=1e-12
    rank : int or None, default=None
        Bound on the active-set size (``min(m, n)``).
    engine : {"auto", "numpy", "numba"}, default="auto"
        The compiled kernel (numba, optional) runs the signals in parallel, with Cholesky
        up- and downdates; the numpy engine follows one signal at a time.

    Returns
    -------
    X : ndarray, shape (n, B)
    steps : ndarray, shape (B,)
        Breakpoints followed per signal.
    end : ndarray of int, shape (B,)
        How each path ended: ``REACHED`` (λ = lam_stop), ``MAX_STEPS`` or ``COLLINEAR``.
    """
    from .._engine import use_numba

    n, B = C.shape
    rank = n if rank is None else int(rank)
    lam_stop = np.broadcast_to(np.asarray(lam_stop, dtype=np.float64), (B,))
    if use_numba(engine):
        from ._homotopy_numba import homotopy_gram_numba

        X, steps, status, lam_end = homotopy_gram_numba(G, C, lam_stop, max_steps, tol, rank)
        for code, what in ((MAX_STEPS, "breakpoint budget (max_iter) exhausted"),
                           (COLLINEAR, "next atom collinear with the active set")):
            bad = np.flatnonzero(status == code)
            if bad.size:
                logger.warning("homotopy: %d of %d paths stopped early (%s), e.g. signal %d at λ=%g: "
                               "those results are the solutions there, not at the requested λ",
                               bad.size, B, what, bad[0], lam_end[bad[0]])
        return X, steps, status
    X = np.zeros((n, B))
    steps = np.zeros(B, dtype=np.int64)
    status = np.zeros(B, dtype=np.int64)
    for b in range(B):  # the path is sequential per signal; Gram and AᵀY are shared
        lams, _, X[:, b], status[b] = _homotopy(G, C[:, b], float(lam_stop[b]), max_steps, tol, False, rank)
        steps[b] = len(lams) - 1
    return X, steps, status


class _HomotopyBase(DirectRecoverer):
    """Shared machinery: Gram and correlations once per batch, one compiled path per signal.

    ``n_iter`` is the number of breakpoints (joins and drops) followed per signal; a path that
    exhausts ``max_iter`` breakpoints is reported as ``"max_iter"``, one stopped by a collinear
    atom as ``"stalled"`` (neither is the solution at the requested λ).
    """

    _HOMOTOPY_CONSTRAINTS = {
        "max_iter": [Interval("integral", 1, None), None],
        "tol": [Interval("real", 0, None, closed="left")],
        "engine": [Options(*ENGINES)],
    }

    @abc.abstractmethod
    def _lam(self, C):
        """λ at which each path stops, shape (B,), from the correlations ``C = AᵀY``."""

    def _solve(self, A, Y, X0):
        from .._engine import use_numba

        D = dense_matrix(A).astype(np.float64, copy=False)
        compiled = use_numba(self.engine) and gram_is_small(*D.shape, Y.shape[1])
        steps = 8 * min(D.shape) if self.max_iter is None else self.max_iter
        with blas_single_thread(compiled):  # spinning BLAS threads would slow the parallel kernel
            C = D.T @ Y.astype(np.float64, copy=False)
            G = D.T @ D
            lam = self._lam(C)
            X, n_steps, end = homotopy_batch(G, C, lam, max_steps=steps, tol=self.tol, rank=min(D.shape),
                                             engine=self.engine)
        status = [_STATUS[int(e)] for e in end]
        return DirectSolution(X.astype(Y.dtype, copy=False), n_steps, status,
                              lam=lam if self.objective_kind == "lasso" else None)


@register("homotopy")
class Homotopy(_HomotopyBase):
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
    engine : {"auto", "numpy", "numba"}, default="auto"
        "auto" uses the compiled kernel (signals in parallel, Cholesky up/downdates) when numba
        is installed.

    References
    ----------
    Osborne, Presnell & Turlach, IMA J. Numer. Anal. 20 (2000). Efron, Hastie, Johnstone &
    Tibshirani, "Least angle regression", Ann. Statist. 32 (2004).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(lam=1e-9, lam_scale="relative"), embedding={}, studies={"embedding"}, slow=True,
        note="the ℓ1 reference at λ → 0; a long path per signal on non-sparse vectors")

    objective_kind = "lasso"
    _parameter_constraints = {**L1_CONSTRAINTS, **_HomotopyBase._HOMOTOPY_CONSTRAINTS}

    def __init__(self, *, lam=0.1, lam_scale="absolute", max_iter=None, tol=1e-12, engine="auto"):
        self.lam = lam
        self.lam_scale = lam_scale
        self.max_iter = max_iter
        self.tol = tol
        self.engine = engine
        self._validate_params()

    _param_units = {"lam": "lam"}

    def _lam(self, C):
        return lam_vector(self.lam, self.lam_scale, C, np.float64)

    def recover_gram(self, gram, correlations, *, norms_squared=None, factor=None):
        """The path followed on ``gram`` and ``correlations`` directly (see :meth:`Recoverer.recover_gram`).

        The rank bound of the path is ``n`` (the dictionary's row count is not known from the
        Gram matrix), so a path reaching rank(D) active atoms ends as :func:`homotopy_batch`
        says; ``max_iter=None`` allows ``8·n`` breakpoints. Without ``norms_squared``, or for
        complex input, the generic default runs.
        """
        if norms_squared is None or np.iscomplexobj(gram) or np.iscomplexobj(correlations):
            return super().recover_gram(gram, correlations, norms_squared=norms_squared, factor=factor)
        from ...gram_coding import check_gram_inputs, gram_lasso_solution
        from ..greedy._omp_kernels import use_numba

        G, C, yy, single = check_gram_inputs(gram, correlations, norms_squared)
        G64, C64 = G.astype(np.float64), C.astype(np.float64)
        lam = self._lam(C64)
        steps = 8 * G.shape[0] if self.max_iter is None else self.max_iter
        with blas_single_thread(use_numba(self.engine) and gram_is_small(*G.shape, C.shape[1])):
            X, _, _ = homotopy_batch(G64, C64, lam, max_steps=steps, tol=self.tol, engine=self.engine)
        return gram_lasso_solution(G64, C64, yy, X.astype(G.dtype), lam, single)

    @classmethod
    def _conformance_params(cls, k):
        return dict(lam=1e-9, lam_scale="relative")


@register("bp-homotopy")
class BasisPursuitHomotopy(_HomotopyBase):
    r"""Exact basis pursuit by the Lasso homotopy followed down to λ = 0.

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad A x = y

    The solution of ½‖Ax − y‖² + λ‖x‖₁ tends to the ℓ1-minimal interpolant as λ → 0 (m < n,
    A of full row rank); the homotopy reaches λ = 0 exactly, through the breakpoints of the
    path. A k-sparse solution is reached in about k breakpoints of O(n·k) each, so below the
    phase transition this is orders of magnitude faster than a linear program
    (bench/bench_bp.py) and just as exact — no tolerance to tune. ‖x‖₁ is
    ``history["l1_norm"]``. Real data; use ``"admm-bp"`` or ``"bp"`` for complex signals.

    Parameters
    ----------
    max_iter : int or None, default=None
        Maximum number of breakpoints per signal; default ``8·min(m, n)``.
    tol : float, default=1e-12
        Relative tolerance for step lengths and collinear atoms.
    engine : {"auto", "numpy", "numba"}, default="auto"

    See Also
    --------
    BasisPursuitLP : the same problem as a linear program (HiGHS).
    Homotopy : stop the path at a given λ > 0 (the Lasso).

    References
    ----------
    Osborne, Presnell & Turlach, "A new approach to variable selection in least squares
    problems", IMA J. Numer. Anal. 20 (2000). Donoho & Tsaig, "Fast solution of ℓ1-norm
    minimization problems when the solution may be sparse", IEEE Trans. Inf. Theory 54 (2008).
    """

    study_settings = StudySettings(
        family="bp", phase={}, embedding={}, studies={"embedding"},
        note="the phase diagram's ℓ1 reference itself (drawn as l1)")

    objective_kind = "bp"
    _parameter_constraints = dict(_HomotopyBase._HOMOTOPY_CONSTRAINTS)

    def __init__(self, *, max_iter=None, tol=1e-12, engine="auto"):
        self.max_iter = max_iter
        self.tol = tol
        self.engine = engine
        self._validate_params()

    def _lam(self, C):
        return np.zeros(C.shape[1])

