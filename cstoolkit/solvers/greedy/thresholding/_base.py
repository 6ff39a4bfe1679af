"""What every thresholding pursuit shares: the typed state, the sparsity checks and the
base class (dense A and Gram when needed, residual, frozen finished signals, monitor)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...._validation import Interval
from ....base import IterativeRecoverer
from ....linalg import dense_matrix, gram
from ....prox import keep_topk
from .md_fits import tuned_sparsity


def _check_k(k, m, n, owner):
    if k > min(m, n):
        raise ValueError(
            f"{owner}: n_nonzero_coefs={k} exceeds min(m, n)={min(m, n)} for A of shape ({m}, {n}); "
            "choose a smaller sparsity."
        )
    return k


def _resolve_k(k, m, n, owner):
    if k is None:
        return tuned_sparsity(m, n)
    return _check_k(k, m, n, owner)


_GREEDY_K = {"n_nonzero_coefs": [Interval("integral", 1, None), None]}
_ITER = {
    "max_iter": [Interval("integral", 1, None)],
    "tol": [Interval("real", 0, None, closed="left")],
}


@dataclass
class ThresholdingState:
    """Iteration state of the thresholding pursuits (arrays: one column per signal).

    ``A`` operator (m, n); ``Y`` (m, B); ``k`` sparsity (None for soft thresholding); ``X`` (n, B)
    iterate and ``R = Y − AX`` (m, B); ``active`` (B,) signals still iterating; ``ynorm`` (B,).
    With a Gram-based step (``_needs_gram``): ``D`` dense A, ``G = DᵀD``, ``AtY = DᵀY``.
    Per solver: ``mu`` step size(s), ``lam`` threshold factor (Maleki–Donoho), ``rnorm`` (B,)
    residual norms of the two-stage pursuits, ``S`` (n, B) StOMP's support, ``t_cfar`` its
    CFAR threshold.
    """

    A: object
    Y: np.ndarray
    k: int | None
    m: int
    n: int
    X: np.ndarray = None
    R: np.ndarray = None
    active: np.ndarray = None
    ynorm: np.ndarray = None
    D: np.ndarray | None = None
    G: np.ndarray | None = None
    AtY: np.ndarray | None = None
    mu: object = None
    lam: float | None = None
    rnorm: np.ndarray | None = None
    S: np.ndarray | None = None
    t_cfar: float | None = None


class _Thresholding(IterativeRecoverer):
    """Shared state: dense A (when needed), Y, X, residual, active mask; monitor and coef."""

    objective_kind = "greedy"
    _needs_gram = True
    _sparsity_budget = True
    _precision_params = ("tol",)

    def _base_setup(self, A, Y, X0=None, *, sparsity=True):
        m, n = A.shape
        k = _resolve_k(self.n_nonzero_coefs, m, n, type(self).__name__) if sparsity else None
        st = ThresholdingState(A=A, Y=Y, k=k, m=m, n=n)
        if self._needs_gram:
            D = dense_matrix(A).astype(Y.dtype, copy=False)
            st.D, st.G, st.AtY = D, gram(D), D.T @ Y
        B = Y.shape[1]
        if X0 is None:
            st.X = np.zeros((n, B), dtype=Y.dtype)
            st.R = Y.copy()
        else:  # warm start: the iteration continues from x0 (k-sparse solvers keep its k largest)
            X = X0 if k is None else keep_topk(X0, k)
            st.X = np.ascontiguousarray(X, dtype=Y.dtype)
            st.R = Y - np.asarray(self._apply(st, st.X))
        st.active = np.ones(B, dtype=bool)
        st.ynorm = np.linalg.norm(Y, axis=0)  # safe: the base class hands over ‖y‖ ≤ ~1
        # an all-zero measurement is already solved by x = 0
        st.active &= st.ynorm > 0
        return st

    def _apply(self, st, X):
        return st.D @ X if st.D is not None else st.A.matmat(X)

    def _monitor(self, st):
        r2 = np.sum(st.R ** 2, axis=0)
        return 0.5 * r2, np.sqrt(r2)

    def _coef(self, st):
        return st.X

    def _finish(self, st, done, reason):
        """Freeze the finished columns; return the stop reason once all are frozen."""
        st.active[np.flatnonzero(st.active)[done]] = False
        return None if st.active.any() else reason

    @classmethod
    def _conformance_params(cls, k):
        return dict(n_nonzero_coefs=k)
