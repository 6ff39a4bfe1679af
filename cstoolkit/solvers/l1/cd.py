"""Lasso by coordinate descent on the Gram matrix, with working sets and a duality-gap stop."""

from __future__ import annotations

import numpy as np

from ..._threads import blas_single_thread, gram_is_small
from ..._validation import Interval, Options
from ...base import DirectRecoverer, DirectSolution, IterativeRecoverer
from ...linalg import dense_matrix, gram, padded_gram, scatter_support, solve_padded, support_index
from ...prox import soft_threshold
from ...registry import register
from ...studies import StudySettings
from .._engine import ENGINES
from ._common import L1_CONSTRAINTS, lam_vector

__all__ = ["Lasso", "lasso_gram_numpy"]


def _kernel(engine: str):
    """The Gram kernel for ``engine`` in {"auto", "numpy", "numba"} (:func:`._engine.use_numba`)."""
    from .._engine import use_numba

    if not use_numba(engine):
        return lasso_gram_numpy
    from ._cd_numba import lasso_gram_numba

    return lasso_gram_numba


_P0 = 16  # smallest working set (same rule as the compiled kernel)
_POLISH_EVERY = 10  # CD sweeps between two exact-support solves


def _gap_h(C, X, H, yy, lam):
    """(primal, gap) per column from ``c``, ``x`` and ``h = c − Gx`` (rows may be a working set).

    ``‖r‖² = ‖y‖² − cᵀx − xᵀh`` and ``⟨r, y⟩ = ‖y‖² − cᵀx``; θ = r·min(1, λ/‖h‖∞) is dual feasible.
    """
    cx = np.sum(C * X, axis=0)
    r2 = np.maximum(yy - cx - np.sum(X * H, axis=0), 0.0)
    primal = 0.5 * r2 + lam * np.sum(np.abs(X), axis=0)
    hmax = np.max(np.abs(H), axis=0) if H.shape[0] else np.zeros_like(lam)
    s = np.where(hmax > lam, lam / np.maximum(hmax, np.finfo(float).tiny), 1.0)
    return primal, primal - (s * (yy - cx) - 0.5 * s * s * r2)


def _full_grad(G, C, X):
    """``C − G X`` using only the rows of the union support (BLAS-3)."""
    U = np.flatnonzero(np.any(X != 0, axis=1))
    return C - G[:, U] @ X[U] if U.size else C.copy()


def _polish_batch(GW, CW, XW, lam):
    """Exact solutions ``x_S = G_SS⁻¹(c_S − λ·sign x_S)`` on each row's current support, batched.

    Rows of ``XW`` (b, P) are signals; supports are packed to a common size with identity
    padding. Returns ``(Xc, Hc)`` or None when a padded system is exactly singular.
    """
    b, P = XW.shape
    idx, valid = support_index((XW != 0).T)  # (smax, b)
    if idx.shape[0] == 0:
        return None
    it, vt = idx.T, valid.T
    sg = np.sign(np.take_along_axis(XW, it, axis=1))
    rhs = np.where(vt, np.take_along_axis(CW, it, axis=1) - lam[:, None] * sg, 0.0)
    z = solve_padded(padded_gram(GW, idx, valid), rhs, singular="none")
    if z is None:
        return None
    Xc = scatter_support(z, idx, valid, P, XW.dtype).T
    Hc = CW - np.matmul(GW, Xc[:, :, None])[:, :, 0]
    return Xc, Hc


def lasso_gram_numpy(G, C, yy, lam, X, *, tol=1e-8, max_epochs=10000):
    r"""Working-set coordinate descent for the Lasso on a Gram matrix, vectorised over signals.

    Minimises, for every column ``b``,

    .. math:: F_b(x) = \tfrac12\|A x - y_b\|_2^2 + \lambda_b \|x\|_1

    from ``G = AᵀA``, ``C = AᵀY`` and ``‖y_b‖²`` only, and stops each signal when its duality
    gap is at most ``tol·F_b(x)``. Same algorithm as the compiled kernel
    :func:`cstoolkit.solvers.l1._cd_numba.lasso_gram_numba`, run in lock-step over signals.

    Parameters
    ----------
    G : ndarray, shape (n, n)
        ``AᵀA``.
    C : ndarray, shape (n, B)
        ``AᵀY``.
    yy : ndarray, shape (B,)
        ``‖y_b‖²``.
    lam : ndarray, shape (B,)
        λ ≥ 0 per signal.
    X : ndarray, shape (n, B)
        Initial point (warm start); overwritten with the solution.
    tol : float, default=1e-8
        Relative duality-gap target.
    max_epochs : int, default=10000
        Maximum coordinate sweeps over the working set, per signal.

    Returns
    -------
    X : ndarray, shape (n, B)
    n_epochs : int
        Largest number of sweeps used by any signal.
    primal : ndarray, shape (B,)
    gap : ndarray, shape (B,)

    Notes
    -----
    Each signal has its own working set: its support plus its strongest KKT violators ranked
    by ``(|h_j| − λ)/√G_jj`` (celer/Blitz), at most ``max(16, 2·|supp x|)`` coordinates. Working
    sets are padded to a common size ``P`` and the coordinates at position ``a = 0..P−1`` of
    every signal are updated at once, so the Python loop runs over ``P`` positions, not over
    ``n`` coordinates nor over signals, and the gradient ``h = c − Gx`` is kept only on the
    working set (``O(P)`` per signal and move). Every 10 sweeps an exact solve on the current
    support and signs (``x_S = G_SS⁻¹(c_S − λ s)``, batched) is tried and kept where it lowers
    the sub-problem's duality gap: coordinate descent identifies the support quickly but then
    converges only linearly on ill-conditioned supports (small λ), the solve finishes the job.
    A sub-problem is solved to gap ``max(0.3·gap, tol·F/10)``, then the full gradient is rebuilt
    and the gap re-certified.

    References
    ----------
    Massias, Gramfort & Salmon, "Celer: a fast solver for the Lasso with dual extrapolation",
    ICML 2018.
    Johnson & Guestrin, "Blitz: a principled meta-algorithm for scaling sparse optimization",
    ICML 2015.
    """
    n, B = C.shape
    diag = np.diag(G).astype(np.float64)
    sqd = np.sqrt(np.maximum(diag, 0.0))
    inv_all = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.0)
    H = _full_grad(G, C, X)
    primal, gap = _gap_h(C, X, H, yy, lam)
    epochs = np.zeros(B, dtype=np.int64)
    while True:
        act = np.flatnonzero((gap > tol * primal) & (epochs < max_epochs))
        if act.size == 0:
            return X, int(epochs.max(initial=0)), primal, gap
        Xa, Ha, la = X[:, act], H[:, act], lam[act]
        supp = Xa != 0
        nnz = supp.sum(axis=0)
        viol = ~supp & (np.abs(Ha) > la) & (sqd[:, None] > 0)
        score = np.where(supp, np.inf, np.where(viol, (np.abs(Ha) - la) / np.where(sqd > 0, sqd, 1.0)[:, None], -np.inf))
        size = np.minimum(nnz + viol.sum(axis=0), np.maximum(_P0, 2 * nnz))
        P = max(int(size.max()), 1)
        W = np.argsort(-score, axis=0, kind="stable")[:P].T  # (b, P)
        valid = np.arange(P)[None, :] < size[:, None]
        cols = act[:, None]
        XW = np.where(valid, X[W, cols], 0.0)
        HW = H[W, cols]
        CW = C[W, cols]
        GW = G[W[:, :, None], W[:, None, :]]  # (b, P, P)
        inv = np.where(valid, inv_all[W], 0.0)
        thr = la[:, None] * inv
        inner_tol = np.maximum(0.3 * gap[act], 0.1 * tol * primal[act])
        live = np.ones(act.size, dtype=bool)
        every, since = _POLISH_EVERY, 0
        rows = np.arange(act.size)
        while live.any():
            for a in range(P):
                old = XW[:, a]
                z = old + HW[:, a] * inv[:, a]
                new = soft_threshold(z, thr[:, a])
                d = np.where(live, new - old, 0.0)
                moved = np.flatnonzero(d)
                if moved.size:
                    XW[moved, a] = new[moved]
                    HW[moved] -= GW[moved, a, :] * d[moved, None]
            epochs[act[live]] += 1
            since += 1
            # padding positions are outside this signal's sub-problem: keep them out of its gap
            _, gin = _gap_h(CW.T, XW.T, (HW * valid).T, yy[act], la)
            live &= (gin > inner_tol) & (epochs[act] < max_epochs)
            if since >= every and live.any():
                since = 0
                L = rows[live]
                pol = _polish_batch(GW[L], CW[L], XW[L], la[L])
                if pol is not None:
                    Xc, Hc = pol
                    _, gc = _gap_h(CW[L].T, Xc.T, (Hc * valid[L]).T, yy[act[L]], la[L])
                    better = gc < gin[L]
                    XW[L[better]], HW[L[better]] = Xc[better], Hc[better]
                    gin[L[better]] = gc[better]
                    live[L[better]] = gc[better] > inner_tol[L[better]]
                    if not better.all():
                        every = min(2 * every, 8 * _POLISH_EVERY)
        X[W[valid], np.broadcast_to(cols, W.shape)[valid]] = XW[valid]
        H[:, act] = _full_grad(G, C[:, act], X[:, act])
        primal[act], gap[act] = _gap_h(C[:, act], X[:, act], H[:, act], yy[act], lam[act])


@register("lasso")
class Lasso(DirectRecoverer):
    r"""The Lasso by working-set coordinate descent on the Gram matrix.

    Minimises, for every column ``y`` of the batch,

    .. math:: F(x) = \tfrac12\|A x - y\|_2^2 + \lambda \|x\|_1

    and stops when the duality gap is at most ``tol·F(x)`` for every signal — a certificate,
    not a heuristic. scikit-learn's ``Lasso(alpha)`` minimises ``F/m`` with ``λ = m·alpha``
    (see :func:`cstoolkit.conventions.lam_from_sklearn_alpha`).

    Parameters
    ----------
    lam : float, default=0.1
        λ ≥ 0 (absolute, or a fraction of λ_max = ‖Aᵀy‖∞ with ``lam_scale="relative"``).
    lam_scale : {"absolute", "relative"}, default="absolute"
    tol : float, default=1e-8
        Relative duality-gap target.
    max_iter : int, default=10000
        Maximum coordinate sweeps.
    engine : {"auto", "numpy", "numba"}, default="auto"
        "auto" uses the compiled kernel when numba is installed.

    References
    ----------
    Friedman, Hastie & Tibshirani, "Regularization paths for generalized linear models via
    coordinate descent", J. Stat. Softw. 33 (2010).
    Massias, Gramfort & Salmon, "Celer: a fast solver for the Lasso with dual
    extrapolation", ICML 2018 (working sets and gap-based stopping).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(lam=1e-4, lam_scale="relative", tol=1e-10),
        embedding=dict(max_iter=2000, tol=1e-8),
        studies={"embedding"}, note="14–22 s per phase-diagram cell at its 10,000 epochs")

    objective_kind = "lasso"
    _parameter_constraints = {
        **L1_CONSTRAINTS,
        "tol": [Interval("real", 0, None, closed="left")],
        "max_iter": [Interval("integral", 1, None)],
        "engine": [Options(*ENGINES)],
    }

    def __init__(self, *, lam=0.1, lam_scale="absolute", tol=1e-8, max_iter=10000, engine="auto"):
        self.lam = lam
        self.lam_scale = lam_scale
        self.tol = tol
        self.max_iter = max_iter
        self.engine = engine
        self._validate_params()

    supports_x0 = True  # coordinate descent starts from any x0
    _param_units = {"lam": "lam"}
    _certificate_param = "tol"
    _precision_params = ("tol",)

    def _solve(self, A, Y, X0):
        D = dense_matrix(A).astype(Y.dtype, copy=False)
        # Gram quantities in float64: the gap needs ‖y‖² − 2cᵀx + xᵀGx without cancellation loss.
        D64 = D.astype(np.float64, copy=False)
        kernel = _kernel(self.engine)
        compiled = kernel is not lasso_gram_numpy and gram_is_small(*D.shape, Y.shape[1])
        with blas_single_thread(compiled):  # spinning BLAS threads would slow the parallel kernel
            G = gram(D64)
            C = D64.T @ Y.astype(np.float64, copy=False)
            lam = lam_vector(self.lam, self.lam_scale, C, np.float64)
            X = np.zeros(C.shape) if X0 is None else X0.astype(np.float64)
            yy = np.sum(Y.astype(np.float64) ** 2, axis=0)
            X, epochs, primal, gap = kernel(G, C, yy, lam, X, tol=self.tol, max_epochs=self.max_iter)
        met = gap <= self.tol * np.maximum(primal, np.finfo(float).tiny)
        status = np.where(met, "tol", np.where(np.asarray(epochs) >= self.max_iter, "max_iter", "stalled"))
        return DirectSolution(X.astype(Y.dtype), np.asarray(epochs, dtype=np.int64), status, lam=lam)

    def recover_gram(self, gram, correlations, *, norms_squared=None, factor=None):
        """The coordinate-descent kernel run on ``gram`` and ``correlations`` directly (it is a Gram
        method); see :meth:`Recoverer.recover_gram`. Without ``norms_squared`` (which the duality
        gap needs), or for complex input, the generic default runs."""
        if norms_squared is None or np.iscomplexobj(gram) or np.iscomplexobj(correlations):
            return super().recover_gram(gram, correlations, norms_squared=norms_squared, factor=factor)
        from ...gram_coding import check_gram_inputs, gram_lasso_solution

        G, C, yy, single = check_gram_inputs(gram, correlations, norms_squared)
        G64, C64 = G.astype(np.float64), C.astype(np.float64)
        lam = lam_vector(self.lam, self.lam_scale, C64, np.float64)
        tol = max(float(self.tol), 10 * float(np.finfo(G.dtype).eps))  # as recover's precision floor
        kernel = _kernel(self.engine)
        with blas_single_thread(kernel is not lasso_gram_numpy and gram_is_small(*G.shape, C.shape[1])):
            X, _, _, _ = kernel(G64, C64, yy, lam, np.zeros(C64.shape), tol=tol, max_epochs=self.max_iter)
        return gram_lasso_solution(G64, C64, yy, X.astype(G.dtype), lam, single)

    @classmethod
    def _conformance_params(cls, k):
        return dict(lam=1e-4, lam_scale="relative", tol=1e-10)

