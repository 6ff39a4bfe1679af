"""Greedy pursuits: orthogonal matching pursuit (batched, Gram + QR updates) and matching pursuit."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import Interval, Options
from ..base import Recoverer
from ..operators import explicit_matrix, to_dense
from ..registry import register

__all__ = ["OMP", "MP"]


def _dictionary(A):
    """Explicit dense matrix of ``A`` (operators are materialised: n applications)."""
    mat = explicit_matrix(A)
    if mat is None:
        return to_dense(A)
    return mat.toarray() if sp.issparse(mat) else np.asarray(mat)


def _greedy_budget(n_nonzero_coefs, tol, m, n, owner):
    if n_nonzero_coefs is not None and n_nonzero_coefs > min(m, n):
        raise ValueError(
            f"{owner}: n_nonzero_coefs={n_nonzero_coefs} exceeds min(m, n)={min(m, n)} for A of shape ({m}, {n})."
        )
    if n_nonzero_coefs is None:
        # Same default as scikit-learn: 10% of the atoms when neither stopping rule is given.
        return min(m, n) if tol is not None else max(int(0.1 * n), 1)
    return n_nonzero_coefs


@register("omp")
class OMP(Recoverer):
    r"""Orthogonal matching pursuit, vectorised over a batch of signals.

    Greedily selects the atom most correlated with the residual, then re-fits all selected
    coefficients by least squares, for ``k`` steps or until ``‖r‖₂ ≤ tol``. Objective in
    ``history``: ½‖A s − y‖² (λ = 0; sparsity is the constraint ``‖s‖₀ ≤ k``).

    Every signal of the batch advances in lock-step: the correlations ``Aᵀr`` are updated
    from a precomputed Gram matrix and the orthogonalised atoms ``Aᵀq_t`` (a QR of the
    selected columns held in coefficient space), so one step costs ``O(n·k)`` per signal
    with no Python loop over signals — the Batch-OMP scheme of Rubinstein et al.

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        Number of atoms per signal (1 ≤ k ≤ min(m, n)). Default: ``min(m, n)`` if ``tol`` is
        given, else 10% of the atoms (as scikit-learn).
    tol : float or None, default=None
        Stop a signal once its residual norm ‖A s − y‖₂ ≤ tol (scikit-learn's ``tol`` is the
        *squared* norm: ``tol_ours = sqrt(tol_sklearn)``). Overrides nothing: both rules apply.
    batch_size : int, default=1024
        Signals processed together (memory is ``batch_size·k·n`` floats).
    engine : {"auto", "numpy", "numba"}, default="auto"
        Kernel; "auto" uses the compiled kernel when numba is installed.

    References
    ----------
    Pati, Rezaiifar & Krishnaprasad, "Orthogonal matching pursuit", Asilomar 1993.
    Tropp & Gilbert, "Signal recovery from random measurements via orthogonal matching
    pursuit", IEEE Trans. Inf. Theory 53 (2007).
    Rubinstein, Zibulevsky & Elad, "Efficient implementation of the K-SVD algorithm using
    batch orthogonal matching pursuit", Technion CS-2008-08.
    """

    _parameter_constraints = {
        "n_nonzero_coefs": [Interval("integral", 1, None), None],
        "tol": [Interval("real", 0, None, closed="left"), None],
        "batch_size": [Interval("integral", 1, None)],
        "engine": [Options("auto", "numpy", "numba")],
    }

    def __init__(self, *, n_nonzero_coefs=None, tol=None, batch_size=1024, engine="auto"):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.batch_size = batch_size
        self.engine = engine
        self._validate_params()

    def _setup(self, A, Y, X0):
        m, n = A.shape
        k = _greedy_budget(self.n_nonzero_coefs, self.tol, m, n, type(self).__name__)
        D = _dictionary(A).astype(Y.dtype, copy=False)
        st = dict(D=D, Y=Y, k=k)
        if self._observed:
            # callbacks watch every atom: run the lock-step kernel on the whole batch
            from ._omp_kernels import OMPState

            tol2 = -1.0 if self.tol is None else float(self.tol) ** 2
            alpha0 = np.ascontiguousarray((D.conj().T @ Y).T)
            st["omp"] = OMPState(_gram(D), alpha0, np.sum(np.abs(Y) ** 2, axis=0), k, tol2)
        return st

    def _max_iterations(self, st):
        return st["k"] if "omp" in st else 1

    def _step(self, st, it):
        if "omp" in st:
            more = st["omp"].step()
            r = np.sqrt(st["omp"].r2)
            st["res_now"] = r
            if more:
                return None
            return "residual_tol" if self.tol is not None and np.all(r <= self.tol) else "sparsity"
        # Without observers the pursuit runs in one sweep per chunk of signals (compiled when
        # numba is available); its per-atom residuals are reported through _history.
        D, Y, k = st["D"], st["Y"], st["k"]
        coef, res_hist, n_steps = omp_batch(D, Y, k, tol=self.tol, batch_size=self.batch_size, engine=self.engine)
        st["coef"], st["res_hist"], st["res_now"] = coef, res_hist, res_hist[-1]
        return "residual_tol" if self.tol is not None and np.all(res_hist[-1] <= self.tol) else "sparsity"

    def _monitor(self, st):
        r = st["res_now"]
        return 0.5 * r * r, r

    def _coef(self, st):
        if "omp" in st:
            return st["omp"].coefficients().T
        return st["coef"]

    def _history(self, st):
        if "omp" in st:
            return None
        r = st["res_hist"][1:]  # after each atom
        return {"objective": 0.5 * r * r, "residual_norm": r}

    @classmethod
    def _conformance_params(cls, k):
        return dict(n_nonzero_coefs=k)

    _conformance_tol = 1e-8


def _gram(D):
    return D.conj().T @ D


def omp_batch(D, Y, k, *, tol=None, batch_size=1024, engine="auto", gram=None):
    """Batched OMP on an explicit dictionary.

    Parameters
    ----------
    D : ndarray, shape (m, n)
        Dictionary (columns are atoms; need not be normalised).
    Y : ndarray, shape (m, B)
        Signals.
    k : int
        Maximum atoms per signal.
    tol : float or None
        Residual-norm target per signal.
    batch_size : int
    engine : {"auto", "numpy", "numba"}
    gram : ndarray (n, n), optional
        Precomputed ``DᵀD``.

    Returns
    -------
    coef : ndarray (n, B)
    res_norms : ndarray (k_done + 1, B)
        Residual norm before the first and after every step (frozen once a signal stops).
    n_steps : ndarray of int (B,)
        Atoms selected per signal.
    """
    from ._omp_kernels import omp_gram_numpy, numba_available

    G = _gram(D) if gram is None else gram
    B = Y.shape[1]
    use_numba = engine == "numba" or (engine == "auto" and numba_available())
    if use_numba:
        if not numba_available():
            raise ImportError("engine='numba' needs numba: pip install numba (or use engine='numpy').")
        from ._omp_kernels import omp_gram_numba as kernel
    else:
        kernel = omp_gram_numpy
    coef = np.zeros((D.shape[1], B), dtype=Y.dtype)
    res = np.zeros((k + 1, B))
    steps = np.zeros(B, dtype=np.int64)
    tol2 = -1.0 if tol is None else float(tol) ** 2
    for s in range(0, B, batch_size):
        sl = slice(s, min(s + batch_size, B))
        Yb = Y[:, sl]
        alpha0 = D.conj().T @ Yb
        norms2 = np.sum(np.abs(Yb) ** 2, axis=0)
        c, r, st = kernel(G, np.ascontiguousarray(alpha0.T), norms2, k, tol2)
        coef[:, sl] = c.T
        res[:, sl] = np.sqrt(np.maximum(r, 0))
        steps[sl] = st
    last = int(steps.max()) if B else 0
    return coef, res[: last + 1], steps


@register("mp")
class MP(Recoverer):
    r"""Matching pursuit (Mallat & Zhang 1993), vectorised over a batch.

    Each iteration picks the atom ``j`` most correlated with the residual (relative to its
    norm) and adds the 1-D projection ``⟨a_j, r⟩/‖a_j‖²`` to coefficient ``j``, without re-fitting
    the others. Objective in ``history``: ½‖A s − y‖² (λ = 0).

    Parameters
    ----------
    max_iter : int, default=1000
        Atom selections per signal (an atom may be chosen more than once).
    tol : float or None, default=1e-6
        Stop a signal once ‖r‖₂ ≤ tol·‖y‖₂ (relative).
    n_nonzero_coefs : int or None, default=None
        Also stop a signal once it has this many distinct atoms.

    References
    ----------
    Mallat & Zhang, "Matching pursuits with time-frequency dictionaries", IEEE Trans.
    Signal Process. 41 (1993).
    """

    supports_complex = True
    _parameter_constraints = {
        "max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left"), None],
        "n_nonzero_coefs": [Interval("integral", 1, None), None],
    }

    def __init__(self, *, max_iter=1000, tol=1e-6, n_nonzero_coefs=None):
        self.max_iter = max_iter
        self.tol = tol
        self.n_nonzero_coefs = n_nonzero_coefs
        self._validate_params()

    def _setup(self, A, Y, X0):
        m, n = A.shape
        if self.n_nonzero_coefs is not None:
            _greedy_budget(self.n_nonzero_coefs, self.tol, m, n, "MP")
        D = _dictionary(A).astype(Y.dtype, copy=False)
        G = _gram(D)
        d2 = np.real(np.diag(G)).copy()
        if np.any(d2 <= 0):
            raise ValueError("MP: A has an all-zero column; remove it or normalise the dictionary.")
        alpha = (D.conj().T @ Y).T.copy()  # (B, n) correlations Aᴴr
        B = Y.shape[1]
        X = np.zeros((B, n), dtype=Y.dtype)
        r2 = np.sum(np.abs(Y) ** 2, axis=0).astype(float)
        ynorm = np.sqrt(r2)
        active = np.ones(B, dtype=bool)
        if self.tol is not None:
            active &= ynorm > 0
        return dict(G=G, d2=d2, alpha=alpha, X=X, r2=r2, ynorm=ynorm, active=active, inv_sqrt=1 / np.sqrt(d2))

    def _step(self, st, it):
        act = np.flatnonzero(st["active"])
        if act.size == 0:
            return "residual_tol"
        alpha = st["alpha"][act]
        score = np.abs(alpha) * st["inv_sqrt"]
        j = np.argmax(score, axis=1)
        a_j = alpha[np.arange(act.size), j]
        c = a_j / st["d2"][j]
        st["X"][act, j] += c
        st["alpha"][act] -= c[:, None] * st["G"][j].conj()
        # ‖r − c a_j‖² = ‖r‖² − |⟨a_j, r⟩|²/‖a_j‖²
        st["r2"][act] = np.maximum(st["r2"][act] - np.abs(a_j) ** 2 / st["d2"][j], 0)
        done = np.zeros(act.size, dtype=bool)
        if self.tol is not None:
            done |= np.sqrt(st["r2"][act]) <= self.tol * st["ynorm"][act]
        if self.n_nonzero_coefs is not None:
            done |= np.count_nonzero(st["X"][act], axis=1) >= self.n_nonzero_coefs
        st["active"][act[done]] = False
        if not st["active"].any():
            return "residual_tol" if self.tol is not None and self.n_nonzero_coefs is None else "sparsity"
        return None

    def _monitor(self, st):
        r = np.sqrt(st["r2"])
        return 0.5 * st["r2"], r

    def _coef(self, st):
        return st["X"].T

    @classmethod
    def _conformance_params(cls, k):
        return dict(max_iter=5000, tol=1e-7)

    _conformance_tol = 1e-4
