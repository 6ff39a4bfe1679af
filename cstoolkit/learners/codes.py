r"""Sparse codes of a dictionary learner: the coding step and the codes' storage.

The coding step (:func:`code_signals`) goes through the coder's Gram hook,
:meth:`cstoolkit.base.Recoverer.recover_gram`, for every coder: the Gram matrix ``DᵀD`` of the
atoms is formed once per dictionary, the correlations ``DᵀX`` once per block (one BLAS-3
call), and each coder codes from them — OMP with its Batch-OMP kernels, the Lasso coders on
their Gram kernels, any other recoverer through the equivalent small problem of
:mod:`cstoolkit.gram_coding`. :class:`SparseCodes` holds the codes of a whole training set in
the padded row layout the batch learners update from. :func:`data_scale` is the power of two
every learner divides the data by before coding.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..rows import RowSource

__all__ = ["data_scale", "code_signals", "SparseCodes", "fit_error_sq"]


def data_scale(X) -> float:
    """The power of two ``s`` with ``max|X| / s`` in [1/2, 1) (1.0 for ``X = 0``).

    ``X`` is an array or a :class:`~cstoolkit.rows.RowSource` (scanned one block at a time);
    ``max|X|`` is taken as ``max(max X, −min X)``, so no table-sized ``|X|`` is allocated.

    Every learner works on ``X / s`` internally: dividing by a power of two is exact, so the
    result for ``c·X`` is ``c`` times the result for ``X`` bit for bit when ``c`` is a power of
    two (and to rounding otherwise), and no squared norm, Gram matrix or running statistic can
    overflow or underflow whatever the magnitude of the data (float32 at 1e30, float64 at 1e300).
    """
    if isinstance(X, RowSource):
        amax = X.max_abs()
    else:
        amax = max(float(np.max(X)), -float(np.min(X))) if X.size else 0.0
    if not amax > 0 or not np.isfinite(amax):
        return 1.0
    _, e = np.frexp(amax)
    return float(np.ldexp(1.0, int(e)))


def code_signals(coder, D: np.ndarray, Ys: np.ndarray, scale: float = 1.0, gram=None):
    """Sparse-code the columns of ``Ys`` (m, B), the data divided by ``scale``, over ``D`` (m, K).

    The coder's parameters that carry units (a residual ``tol``, an absolute ``lam``, see
    ``Recoverer._param_units``) keep their meaning in the units of the data: the coder is
    converted to the units of ``Ys`` exactly as :meth:`~cstoolkit.base.Recoverer.recover`
    normalises a problem, so the codes of the data are ``scale · S`` for every coder and no
    squared norm of the data is formed at its own magnitude. Coefficients of rounding size
    are dropped (see :func:`_drop_rounding_noise`).

    Parameters
    ----------
    coder : Recoverer
    D : ndarray, shape (m, K)
        Atoms as columns.
    Ys : ndarray, shape (m, B)
        Signals (float32 stays float32).
    scale : float, default=1.0
        Power of two the data were divided by (:func:`data_scale`).
    gram : ndarray, shape (K, K), optional
        ``DᵀD``, when the caller keeps it across calls.

    Returns
    -------
    S : ndarray, shape (K, B)
        Codes of ``Ys`` (dense, dtype of ``Ys``).
    objective : ndarray, shape (B,)
        The coder's objective per signal, in the units of ``Ys``.
    residual_norm : ndarray, shape (B,)
        ``‖y_b − D s_b‖`` in the units of ``Ys``.
    """
    G = D.T @ D if gram is None else gram
    if scale != 1.0:
        coder = coder._normalised_clone(1.0, scale, Ys.dtype)
    corr = (Ys.T @ D).T  # DᵀY as the transpose of a C-contiguous (B, K) block: OMP's chunks are views
    yy = np.einsum("ij,ij->j", Ys, Ys, dtype=np.float64)
    out = coder.recover_gram(G, corr, norms_squared=yy, factor=D)  # D: the default needs no O(K³) factorisation
    S = np.asarray(out.coef, dtype=Ys.dtype).reshape(D.shape[1], Ys.shape[1])  # a fresh array of the hook
    r = np.array(out.residual_norm, dtype=np.float64, copy=True).reshape(-1)
    obj = np.array(out.objective, dtype=np.float64, copy=True).reshape(-1)
    cols = _drop_rounding_noise(S, yy, r)
    if cols.size:  # (their residuals stay at rounding size; recomputed, the objective with them)
        new = np.linalg.norm(Ys[:, cols] - D @ S[:, cols], axis=0).astype(np.float64)
        obj[cols] += 0.5 * (new * new - r[cols] * r[cols])
        r[cols] = new
    return S, obj, r


def _drop_rounding_noise(S: np.ndarray, yy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Zero, in place, the coefficients of ``S`` (K, B) that are rounding noise; return the columns.

    A sample that a few atoms represent exactly (a training sample drawn as an initial atom)
    has a residual of rounding size; a coder with a fixed budget (OMP with ``k`` atoms) then
    spends the rest of the budget on atoms chosen from that noise, with coefficients of
    ``eps·‖x‖`` times the conditioning of the selected atoms (seen up to ``400·eps·‖x‖``). Left
    in, they decide which samples "use" an atom, and the exact K-SVD update fits such an atom to
    noise (the top singular vector of a residual of rounding size) — a choice that changes with
    the last bit of the data, so that ``c·X`` and ``X`` learned different dictionaries.

    Rule: in a column represented to rounding, residual ``r_i ≤ 10·√eps·‖x_i‖`` (Batch-OMP's
    residual recursion itself bottoms out near ``√eps·‖x_i‖``), the entries with
    ``|c_ij| ≤ √eps·‖x_i‖`` (atoms have unit norm; 1.5e-8 in float64, 3.5e-4 in float32) are set
    to zero — far above the noise, and they move that column by at most ``k·√eps`` relative.
    Only those columns are looked at (usually none after the first iteration), so the cost is
    negligible next to the coding.

    Parameters
    ----------
    S : ndarray, shape (K, B)
    yy : ndarray, shape (B,)
        ``‖y_b‖²`` of the signals that were coded (float64).
    r : ndarray, shape (B,)
        Their residual norms.

    Returns
    -------
    cols : ndarray of int
        The columns that were looked at (their residuals may have changed by rounding).
    """
    root_eps = np.sqrt(np.finfo(S.dtype).eps)
    ynorm = np.sqrt(yy)
    cols = np.flatnonzero(np.asarray(r, dtype=np.float64) <= 10.0 * root_eps * ynorm)
    if cols.size:
        sub = S[:, cols]
        sub[np.abs(sub) <= (root_eps * ynorm[cols]).astype(S.dtype)] = 0
        S[:, cols] = sub
    return cols


def fit_error_sq(xx: float, W: np.ndarray, CtC: np.ndarray, CtX: np.ndarray) -> float:
    r"""``‖X − C W‖_F²`` from ``CᵀC`` (K, K) and ``CᵀX`` (K, m) without forming the residual.

    ``xx = ‖X‖_F²``, ``W`` (K, m) atoms as rows:
    ``‖X‖² − 2⟨W, CᵀX⟩ + ⟨W Wᵀ, CᵀC⟩`` (accumulated in float64).
    """
    W = np.asarray(W, dtype=np.float64)
    val = xx - 2.0 * float(np.vdot(W, np.asarray(CtX, dtype=np.float64)))
    val += float(np.vdot(W @ W.T, np.asarray(CtC, dtype=np.float64)))
    return max(val, 0.0)


class SparseCodes:
    """Codes of N samples with at most ``s`` atoms each, in a padded row layout.

    ``idx`` (N, s) atom indices and ``val`` (N, s) coefficients (padding: index 0, value 0),
    so that sample ``i`` is ``Σ_t val[i, t] · W[idx[i, t]]``. This layout makes the K-SVD atom
    update a gather over the samples that use the atom, and converts to CSR in O(N s).
    """

    def __init__(self, idx: np.ndarray, val: np.ndarray, n_atoms: int):
        self.idx, self.val, self.n_atoms = idx, val, int(n_atoms)

    @classmethod
    def from_dense(cls, S: np.ndarray) -> "SparseCodes":
        """From coefficients as columns, ``S`` of shape (K, N)."""
        K, N = S.shape
        C = sp.csc_array(S)
        C.eliminate_zeros()
        counts = np.diff(C.indptr)
        s = max(int(counts.max()) if N else 0, 1)
        col = np.repeat(np.arange(N), counts)
        slot = np.arange(C.nnz) - C.indptr[col]
        idx = np.zeros((N, s), dtype=np.int64)
        val = np.zeros((N, s), dtype=S.dtype)
        idx[col, slot] = C.indices
        val[col, slot] = C.data
        return cls(idx, val, K)

    def to_csr(self) -> sp.csr_array:
        """Codes as a (N, K) CSR array (explicit zeros of the padding removed)."""
        N, s = self.idx.shape
        # copies: csr_array would share val/idx, and eliminate_zeros compacts them in place
        C = sp.csr_array((self.val.ravel().copy(), self.idx.ravel().copy(), np.arange(0, N * s + 1, s)),
                         shape=(N, self.n_atoms))
        C.sum_duplicates()
        C.eliminate_zeros()
        return C

    def atom_positions(self):
        """Per atom ``j``: flat positions into ``idx``/``val`` where atom ``j`` is used (non-zero)."""
        flat_idx = self.idx.ravel()
        used = np.flatnonzero(self.val.ravel() != 0)
        order = used[np.argsort(flat_idx[used], kind="stable")]
        counts = np.bincount(flat_idx[used], minlength=self.n_atoms)
        return np.split(order, np.cumsum(counts)[:-1])

    def reconstruct(self, W: np.ndarray, rows=None) -> np.ndarray:
        """``C W`` for the given rows (all by default), shape (n_rows, m)."""
        if rows is None:  # sparse product: the gather below makes an (N, s, m) temporary (1.2 GB at s = 170)
            return np.asarray(self.to_csr() @ W)
        idx = self.idx if rows is None else self.idx[rows]
        val = self.val if rows is None else self.val[rows]
        return np.matmul(val[:, None, :], W[idx])[:, 0, :]

    def gram_stats(self, X: np.ndarray):
        """``(CᵀC (K, K) dense, CᵀX (K, m))``."""
        C = self.to_csr()
        CtC = (C.T @ C).toarray()
        CtX = np.asarray(C.T @ X)
        return CtC, CtX
