"""Greedy pursuits: orthogonal matching pursuit (batched, Gram + QR updates) and matching pursuit.

Why one file (over 400 lines): OMP and MP are the two variants of one greedy selection step and
share its budget rule (``_greedy_budget``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..._validation import Interval, Options
from ...base import DirectRecoverer, DirectSolution, IterativeRecoverer
from ...linalg import dense_matrix
from ...linalg import gram as gram_matrix  # omp_batch has a parameter named gram
from ...registry import register
from ...studies import SPARSITY, StudySettings
from .._engine import ENGINES

__all__ = ["OMP", "MP", "omp_batch"]


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
class OMP(DirectRecoverer):
    r"""Orthogonal matching pursuit, vectorised over a batch of signals.

    Greedily selects the atom most correlated with the residual, then re-fits all selected
    coefficients by least squares, for ``k`` steps or until ``‖r‖₂ ≤ tol``:

    .. math::

        \min_s \tfrac12 \|A s - y\|_2^2 \quad\text{s.t.}\quad \|s\|_0 \le k

    (λ = 0; ``history`` holds ½‖A s − y‖² and ‖A s − y‖ after each atom; ``n_iter`` is the
    number of atoms per signal). Callbacks are called once, after the pursuit: the same
    kernel runs whether or not the run is observed.

    The Gram matrix ``AᴴA`` and the correlations ``AᴴY`` of a chunk of signals are computed
    by one BLAS-3 call each; the pursuit then updates the correlations from the Gram matrix
    and the orthogonalised atoms ``Aᴴq_t`` (a QR of the selected columns held in coefficient
    space), ``O(n·t)`` per signal and step — the Batch-OMP scheme of Rubinstein et al. The
    compiled engine (numba) runs the signals of a chunk in parallel, each in cache; the numpy
    engine advances all signals in lock-step with no Python loop over signals. Both select
    the same atoms. Signals stop early, without taking the atom, when the next atom is
    linearly dependent on the chosen ones (as scikit-learn).

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        Number of atoms per signal (1 ≤ k ≤ min(m, n)). Default: ``min(m, n)`` if ``tol`` is
        given, else 10% of the atoms (as scikit-learn).
    tol : float or None, default=None
        Stop a signal once its residual norm ‖A s − y‖₂ ≤ tol (scikit-learn's ``tol`` is the
        *squared* norm: ``tol_ours = sqrt(tol_sklearn)``). Both rules apply when both are given.
    batch_size : int or None, default=None
        Signals processed per chunk. Default: 4096 for the numba engine (memory ``batch_size·n``
        values) and, for the numpy engine, the chunk whose ``batch_size·k·n`` working set is
        about 64 MiB (between 32 and 1024 signals).
        Results do not depend on it.
    engine : {"auto", "numpy", "numba"}, default="auto"
        Kernel; "auto" uses the compiled kernel when numba is installed and the data are
        real (complex data always use the numpy engine).

    See Also
    --------
    omp_batch : the same pursuit as a function on an explicit dictionary.

    References
    ----------
    Pati, Rezaiifar & Krishnaprasad, "Orthogonal matching pursuit", Asilomar 1993.
    Tropp & Gilbert, "Signal recovery from random measurements via orthogonal matching
    pursuit", IEEE Trans. Inf. Theory 53 (2007).
    Rubinstein, Zibulevsky & Elad, "Efficient implementation of the K-SVD algorithm using
    batch orthogonal matching pursuit", Technion CS-2008-08.

    Examples
    --------
    >>> import numpy as np, cstoolkit
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((64, 256)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(256); x[[3, 70, 200]] = [1.0, -2.0, 0.5]
    >>> res = cstoolkit.OMP(n_nonzero_coefs=3).recover(A, A @ x)
    >>> np.flatnonzero(res.coef).tolist()
    [3, 70, 200]
    """

    study_settings = StudySettings(family="greedy")

    supports_complex = True
    _parameter_constraints = {
        "n_nonzero_coefs": [Interval("integral", 1, None), None],
        "tol": [Interval("real", 0, None, closed="left"), None],
        "batch_size": [Interval("integral", 1, None), None],
        "engine": [Options(*ENGINES)],
    }

    def __init__(self, *, n_nonzero_coefs=None, tol=None, batch_size=None, engine="auto"):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.batch_size = batch_size
        self.engine = engine
        self._validate_params()

    _param_units = {"tol": "y"}
    _sparsity_budget = True

    def _solve(self, A, Y, X0):
        m, n = A.shape
        k = _greedy_budget(self.n_nonzero_coefs, self.tol, m, n, type(self).__name__)
        D = dense_matrix(A).astype(Y.dtype, copy=False)
        coef, res_hist, n_steps, sparse = omp_batch(D, Y, k, tol=self.tol, batch_size=self.batch_size,
                                                    engine=self.engine, return_sparse=True)
        r = res_hist[1:]  # residual norm after each atom (frozen once a signal stops)
        final = res_hist[n_steps, np.arange(Y.shape[1])]
        status = np.where((self.tol is not None) & (final <= (self.tol or 0.0)), "residual_tol", "sparsity")
        return DirectSolution(coef, n_steps, status, history={"objective": 0.5 * r * r, "residual_norm": r},
                              sparse=sparse)

    def _certificate_tols(self, dtype, run):
        """An absolute residual target ``tol`` is met by ‖r‖ ≤ tol, i.e. a relative one of tol/‖y‖."""
        base = super()._certificate_tols(dtype, run)
        if self.tol is None:
            return base
        from ..._certificates import safe_col_norms

        yn = safe_col_norms(run.Y)
        return np.maximum(base, self.tol / np.where(yn > 0, yn, 1.0))

    def recover_gram(self, gram, correlations, *, norms_squared=None, factor=None):
        """Batch-OMP on the Gram matrix (Rubinstein et al.), as scikit-learn's ``orthogonal_mp_gram``.

        The same atoms and coefficients as ``recover(D, x)`` (to rounding) without ``D``:
        the correlations are updated from ``gram`` (see :meth:`Recoverer.recover_gram` for
        the parameters). ``norms_squared`` drives the residual recursion (the ``tol`` rule and
        the residual norms); without it the generic equivalent-problem default runs.
        ``n_nonzero_coefs`` may exceed rank(G): a signal then stops at a dependent atom.
        """
        if norms_squared is None:
            return super().recover_gram(gram, correlations, factor=factor)
        from ...gram_coding import GramCoding, check_gram_inputs

        G, C, nrm, single = check_gram_inputs(gram, correlations, norms_squared)
        n, B = C.shape
        k = _greedy_budget(self.n_nonzero_coefs, self.tol, n, n, type(self).__name__)
        # a copy per chunk: the compiled kernel updates the correlations in place
        coef, res, steps = _omp_chunks(G, lambda sl: np.array(C[:, sl].T, order="C"), lambda sl: nrm[sl], B, k, tol=self.tol,
                                       batch_size=self.batch_size, engine=self.engine, return_sparse=False,
                                       dtype=G.dtype)
        r = res[steps, np.arange(B)]
        if single:
            return GramCoding(coef=coef[:, 0], objective=float(0.5 * r[0] ** 2), residual_norm=float(r[0]))
        return GramCoding(coef=coef, objective=0.5 * r * r, residual_norm=r)

    @classmethod
    def _conformance_params(cls, k):
        return dict(n_nonzero_coefs=k)


def _sq_norms(Y):
    """‖y_b‖² per column, as float64."""
    if np.iscomplexobj(Y):
        return np.einsum("ij,ij->j", Y.real, Y.real, dtype=float) + np.einsum("ij,ij->j", Y.imag, Y.imag, dtype=float)
    return np.einsum("ij,ij->j", Y, Y, dtype=float)


def _auto_batch_size(engine, k, n, itemsize):
    if engine == "numba":
        return 4096
    # lock-step numpy: a (batch, k, n) block of orthogonalised atoms near 64 MiB; smaller
    # chunks pay more Python overhead per signal, larger ones gained nothing when measured
    return int(np.clip((64 << 20) // max(k * n * itemsize, 1), 32, 1024))


def omp_batch(D, Y, k, *, tol=None, batch_size=None, engine="auto", gram=None, return_sparse=False):
    r"""Batched OMP on an explicit dictionary.

    Solves, for every column ``y`` of ``Y``, greedily

    .. math::

        \min_s \tfrac12 \|D s - y\|_2^2 \quad\text{s.t.}\quad \|s\|_0 \le k
        \ \text{(or until } \|D s - y\|_2 \le \mathrm{tol})

    with the algorithm of :class:`OMP`.

    Parameters
    ----------
    D : ndarray, shape (m, n)
        Dictionary (columns are atoms; need not be normalised). Real or complex.
    Y : ndarray, shape (m, B)
        Signals, same dtype as ``D`` (float32 stays float32).
    k : int
        Maximum atoms per signal.
    tol : float or None, default=None
        Residual-norm target per signal.
    batch_size : int or None, default=None
        Signals per chunk; None chooses as :class:`OMP` does. Results do not depend on it.
    engine : {"auto", "numpy", "numba"}, default="auto"
        Kernel; complex data always use numpy.
    gram : ndarray (n, n), optional
        Precomputed ``DᴴD``.
    return_sparse : bool, default=False
        Also return the coefficients as a ``scipy.sparse.csc_matrix`` (built from the supports,
        no scan of the dense array).

    Returns
    -------
    coef : ndarray (n, B)
        Coefficients, dtype of ``Y``.
    res_norms : ndarray (k_done + 1, B)
        Residual norm before the first and after every step (frozen once a signal stops).
    n_steps : ndarray of int (B,)
        Atoms selected per signal.
    coef_sparse : scipy.sparse.csc_matrix (n, B)
        Only with ``return_sparse=True``.

    References
    ----------
    Rubinstein, Zibulevsky & Elad, "Efficient implementation of the K-SVD algorithm using
    batch orthogonal matching pursuit", Technion CS-2008-08.
    """
    dt = np.result_type(D.dtype, Y.dtype)
    complex_ = dt.kind == "c"
    D = np.asarray(D, dtype=dt)
    G = gram_matrix(D) if gram is None else gram
    Dc = D.conj() if complex_ else D

    def alpha(sl):  # (b, n) = (Dᴴ Y_b)ᵀ, C-contiguous: one BLAS-3 call per chunk
        return np.asarray(Y[:, sl], dtype=dt).T @ Dc

    return _omp_chunks(G, alpha, lambda sl: _sq_norms(np.asarray(Y[:, sl], dtype=dt)), Y.shape[1], k, tol=tol,
                       batch_size=batch_size, engine=engine, return_sparse=return_sparse, dtype=dt)


def _omp_chunks(G, alpha, norms2, B, k, *, tol, batch_size, engine, return_sparse, dtype):
    """The Batch-OMP kernel over chunks of signals: ``alpha(sl)`` gives the chunk's correlations
    ``(Dᴴ Y_sl)ᵀ`` (b, n) and ``norms2(sl)`` its ``‖y‖²`` (b,); returns what :func:`omp_batch` does."""
    from .._engine import use_numba
    from ._omp_kernels import omp_gram_numpy, scatter_coefficients

    dt = np.dtype(dtype)
    compiled = use_numba(engine) and dt.kind != "c"  # complex data: the numpy engine
    if compiled:
        from ._omp_numba import omp_gram_numba

        kernel = omp_gram_numba
    else:
        kernel = omp_gram_numpy
    G = np.ascontiguousarray(G, dtype=dt)
    n = G.shape[0]
    if batch_size is None:
        batch_size = _auto_batch_size("numba" if compiled else "numpy", k, n, dt.itemsize)
    coef = np.zeros((n, B), dtype=dt)
    res = np.empty((k + 1, B))
    steps = np.zeros(B, dtype=np.int64)
    # squared target; beyond 1e150 it exceeds every representable ‖y‖² anyway (no overflow)
    tol2 = -1.0 if tol is None else min(float(tol), 1e150) ** 2
    args = () if not compiled else (_dep_tol(dt),)
    parts = []
    for s in range(0, B, batch_size):
        sl = slice(s, min(s + batch_size, B))
        S, gam, r2, st = kernel(G, np.ascontiguousarray(alpha(sl), dtype=dt), norms2(sl), k, tol2, *args)
        scatter_coefficients(coef, S, gam, st, offset=s)
        if return_sparse:
            b, t = np.nonzero(np.arange(S.shape[1])[None, :] < st[:, None])
            parts.append((S[b, t], s + b, gam[b, t]))
        np.sqrt(np.maximum(r2, 0), out=res[:, sl])
        steps[sl] = st
    last = int(steps.max()) if B else 0
    if return_sparse:
        rows, cols, vals = (np.concatenate([p[i] for p in parts]) if parts else np.zeros(0) for i in range(3))
        return coef, res[: last + 1], steps, sp.csc_matrix((vals, (rows, cols)), shape=(n, B), dtype=dt)
    return coef, res[: last + 1], steps


def _dep_tol(dtype):
    from ._omp_kernels import dependence_tol

    return dependence_tol(dtype)


@dataclass
class MPState:
    """State of matching pursuit: Gram ``G`` (n, n), squared atom norms ``d2`` (n,) and their
    ``inv_sqrt``, correlations ``alpha`` (B, n), coefficients ``X`` (B, n), squared residual
    norms ``r2`` (B,), ``ynorm`` (B,), ``active`` (B,)."""

    G: np.ndarray
    d2: np.ndarray
    alpha: np.ndarray
    X: np.ndarray
    r2: np.ndarray
    ynorm: np.ndarray
    active: np.ndarray
    inv_sqrt: np.ndarray


@register("mp")
class MP(IterativeRecoverer):
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

    study_settings = StudySettings(
        family="greedy", phase=dict(max_iter=5000, tol=1e-7),
        embedding=dict(n_nonzero_coefs=SPARSITY, max_iter=2000, tol=1e-8))

    supports_x0 = False  # pursues y from x = 0 (a warm start would change the algorithm)
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
        D = dense_matrix(A).astype(Y.dtype, copy=False)
        G = gram_matrix(D)
        d2 = np.real(np.diag(G)).copy()
        zero = d2 <= 0  # an all-zero atom is never selected (its score is 0)
        d2[zero] = 1.0
        alpha = (D.conj().T @ Y).T.copy()  # (B, n) correlations Aᴴr
        B = Y.shape[1]
        X = np.zeros((B, n), dtype=Y.dtype)
        r2 = np.sum(np.abs(Y) ** 2, axis=0).astype(float)
        ynorm = np.sqrt(r2)
        active = np.ones(B, dtype=bool)
        if self.tol is not None:
            active &= ynorm > 0
        return MPState(G=G, d2=d2, alpha=alpha, X=X, r2=r2, ynorm=ynorm, active=active,
                       inv_sqrt=np.where(zero, 0.0, 1 / np.sqrt(d2)))

    def _step(self, st, it):
        act = np.flatnonzero(st.active)
        if act.size == 0:
            return "residual_tol"
        alpha = st.alpha[act]
        score = np.abs(alpha) * st.inv_sqrt
        j = np.argmax(score, axis=1)
        a_j = alpha[np.arange(act.size), j]
        c = a_j / st.d2[j]
        st.X[act, j] += c
        st.alpha[act] -= c[:, None] * st.G[j].conj()
        # ‖r − c a_j‖² = ‖r‖² − |⟨a_j, r⟩|²/‖a_j‖²
        st.r2[act] = np.maximum(st.r2[act] - np.abs(a_j) ** 2 / st.d2[j], 0)
        done = np.zeros(act.size, dtype=bool)
        if self.tol is not None:
            done |= np.sqrt(st.r2[act]) <= self.tol * st.ynorm[act]
        if self.n_nonzero_coefs is not None:
            done |= np.count_nonzero(st.X[act], axis=1) >= self.n_nonzero_coefs
        st.active[act[done]] = False
        if not st.active.any():
            return "residual_tol" if self.tol is not None and self.n_nonzero_coefs is None else "sparsity"
        return None

    def _monitor(self, st):
        r = np.sqrt(st.r2)
        return 0.5 * st.r2, r

    def _coef(self, st):
        return st.X.T

    _certificate_param = "tol"
    _precision_params = ("tol",)

    @classmethod
    def _conformance_params(cls, k):
        return dict(max_iter=5000, tol=1e-7)
