"""Lasso by coordinate descent on the Gram matrix, with working sets and a duality-gap stop."""

from __future__ import annotations

import numpy as np

from .._validation import Interval, Options
from ..base import Recoverer
from ..registry import register
from ._l1 import L1_CONSTRAINTS, lam_vector, soft
from .greedy import _dictionary

__all__ = ["Lasso", "lasso_gram_numpy"]

import importlib.util as _ilu

_HAVE_CD_NUMBA = _ilu.find_spec("cstoolkit.solvers._cd_numba") is not None


def _gap_gram(G, C, X, yy, lam):
    """Primal value and duality gap per column using only Gram quantities.

    ``‖r‖² = ‖y‖² − 2cᵀx + xᵀGx``, ``⟨r, y⟩ = ‖y‖² − cᵀx``, ``Aᵀr = c − Gx``; the dual point
    θ = r·min(1, λ/‖Aᵀr‖∞) is feasible, D(θ) = ⟨θ, y⟩ − ½‖θ‖².
    """
    GX = G @ X
    H = C - GX
    cx = np.sum(C * X, axis=0)
    r2 = np.maximum(yy - 2 * cx + np.sum(X * GX, axis=0), 0.0)
    primal = 0.5 * r2 + lam * np.sum(np.abs(X), axis=0)
    hmax = np.max(np.abs(H), axis=0)
    s = np.where(hmax > lam, lam / np.maximum(hmax, np.finfo(float).tiny), 1.0)
    dual = s * (yy - cx) - 0.5 * s * s * r2
    return primal, primal - dual, H, r2


def lasso_gram_numpy(G, C, yy, lam, X, *, tol=1e-8, max_epochs=10000, ws_init=32):
    """Working-set coordinate descent for the Lasso, vectorised over signals.

    Parameters
    ----------
    G : ndarray (n, n)
        ``AᵀA``.
    C : ndarray (n, B)
        ``Aᵀy`` per signal.
    yy : ndarray (B,)
        ``‖y‖²``.
    lam : ndarray (B,)
    X : ndarray (n, B)
        Initial point (modified in place).
    tol : float
        Relative duality-gap target.
    max_epochs : int
        Total coordinate sweeps over the working set.

    Returns
    -------
    X, n_epochs, primal (B,), gap (B,)

    Notes
    -----
    The working set is the union over signals of the current supports plus the strongest
    KKT violators (|(Aᵀr)_j| > λ); it doubles each outer round, as in Blitz/celer. Inside,
    coordinates are swept cyclically with all signals updated at once, keeping ``Aᵀr`` only
    on the working set (cost ``|W|·B`` per coordinate).
    """
    n, B = C.shape
    diag = np.diag(G).copy()
    diag[diag == 0] = np.inf  # a zero column never moves
    epochs = 0
    p = min(n, ws_init)
    primal, gap, H, _ = _gap_gram(G, C, X, yy, lam)
    while True:
        done = gap <= tol * np.maximum(primal, np.finfo(float).tiny)
        if np.all(done) or epochs >= max_epochs:
            return X, epochs, primal, gap
        # rank coordinates by KKT violation, supports first
        viol = np.where(X != 0, np.inf, np.abs(H) / lam)
        score = np.max(viol[:, ~done], axis=1)
        nsupp = int(np.count_nonzero(np.any(X[:, ~done] != 0, axis=1)))
        p = min(n, max(p, 2 * nsupp))
        W = np.sort(np.argpartition(-score, p - 1)[:p]) if p < n else np.arange(n)
        GW = G[np.ix_(W, W)]
        HW = H[W].copy()
        XW = X[W]
        thr = lam / diag[W][:, None]
        inv = 1.0 / diag[W]
        for _ in range(max(10, 0)):
            max_d = 0.0
            for i in range(W.size):
                old = XW[i].copy()
                new = soft(old + HW[i] * inv[i], thr[i])
                d = new - old
                if np.any(d):
                    XW[i] = new
                    HW -= GW[:, i : i + 1] * d[None, :]
                    max_d = max(max_d, float(np.max(np.abs(d))))
            epochs += 1
            if max_d <= 1e-3 * tol ** 0.5 * max(float(np.max(np.abs(XW))), 1e-300) or epochs >= max_epochs:
                break
        X[W] = XW
        primal, gap, H, _ = _gap_gram(G, C, X, yy, lam)
        p = min(n, 2 * p)


@register("lasso")
class Lasso(Recoverer):
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

    objective_kind = "lasso"
    _parameter_constraints = {
        **L1_CONSTRAINTS,
        "tol": [Interval("real", 0, None, closed="left")],
        "max_iter": [Interval("integral", 1, None)],
        "engine": [Options("auto", "numpy", "numba")],
    }

    def __init__(self, *, lam=0.1, lam_scale="absolute", tol=1e-8, max_iter=10000, engine="auto"):
        self.lam = lam
        self.lam_scale = lam_scale
        self.tol = tol
        self.max_iter = max_iter
        self.engine = engine
        self._validate_params()

    def _setup(self, A, Y, X0):
        D = _dictionary(A).astype(Y.dtype, copy=False)
        # Gram quantities in float64: the gap needs ‖y‖² − 2cᵀx + xᵀGx without cancellation loss.
        D64 = D.astype(np.float64, copy=False)
        G = D64.T @ D64
        C = D64.T @ Y.astype(np.float64, copy=False)
        lam = lam_vector(self.lam, self.lam_scale, C, np.float64)
        X = np.zeros(C.shape) if X0 is None else X0.astype(np.float64)
        yy = np.sum(Y.astype(np.float64) ** 2, axis=0)
        return dict(D=D, Y=Y, G=G, C=C, lam=lam, X=X, yy=yy)

    def _max_iterations(self, st):
        return 1

    def _step(self, st, it):
        from ._omp_kernels import numba_available

        use_numba = self.engine == "numba" or (self.engine == "auto" and numba_available() and _HAVE_CD_NUMBA)
        if use_numba:
            from ._cd_numba import lasso_gram_numba as kernel
        else:
            kernel = lasso_gram_numpy
        X, epochs, primal, gap = kernel(st["G"], st["C"], st["yy"], st["lam"], st["X"], tol=self.tol, max_epochs=self.max_iter)
        st["X"], st["epochs"], st["gap"] = X, epochs, gap
        return "tol" if np.all(gap <= self.tol * np.maximum(primal, np.finfo(float).tiny)) else None

    def _monitor(self, st):
        X = st["X"].astype(st["Y"].dtype)
        R = st["D"] @ X - st["Y"]
        rn2 = np.sum(R.astype(np.float64) ** 2, axis=0)
        return 0.5 * rn2 + st["lam"] * np.sum(np.abs(st["X"]), axis=0), np.sqrt(rn2)

    def _coef(self, st):
        return st["X"].astype(st["Y"].dtype)

    @classmethod
    def _conformance_params(cls, k):
        return dict(lam=1e-4, lam_scale="relative", tol=1e-10)

    _conformance_tol = 2e-2
