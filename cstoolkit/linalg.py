r"""Shared dense linear algebra of the solvers: one home for each piece, called from everywhere.

* dtypes — :func:`working_dtype` (the precision a solve runs in) and :func:`inexact_dtype`
  (the floating dtype an entrywise operation returns);
* matrices from operators — :func:`dense_matrix` (explicit ``(m, n)`` array of an ndarray,
  sparse matrix or LinearOperator), :func:`gram` (``DᴴD``) and :func:`row_gram` (``AAᴴ``);
* the row space of ``A`` — :class:`RowSpace`, the eigendecomposition ``AAᴴ = U diag(s) Uᴴ`` cut
  at its numerical rank, with the least-norm solution and the projector onto ``{x : Ax = y}``;
* least squares on per-signal supports, batched — :func:`support_index` pads the supports of B
  signals to a common size, :func:`padded_gram` (from a Gram matrix) or :func:`support_columns`
  and :func:`support_gram` (from the columns of D) give the ``(B, s, s)`` normal equations (identity on padded slots), :func:`solve_padded` solves them in one stacked
  ``numpy.linalg.solve`` and :func:`scatter_support` writes the solutions back;
  :func:`lstsq_on_support` is the whole chain for a shared Gram matrix.

Shapes follow the solvers: ``A`` is ``(m, n)``, signals are columns ``(n, B)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = [
    "working_dtype", "inexact_dtype", "dense_matrix", "gram", "row_gram", "RowSpace",
    "support_index", "padded_gram", "support_columns", "support_gram", "solve_padded", "scatter_support",
    "lstsq_on_support",
]

logger = logging.getLogger(__name__)


# --- dtypes ----------------------------------------------------------------------------------

def working_dtype(*dtypes) -> np.dtype:
    """The precision a solve runs in: float32 when every input is single precision, else float64.

    Complex analogues are kept (complex64 / complex128); ``None`` entries are ignored; integers,
    float16 and long double map to float64.

    Parameters
    ----------
    *dtypes : dtype or None

    Returns
    -------
    numpy.dtype
    """
    dt = np.result_type(*[d for d in dtypes if d is not None])
    if dt.kind == "c":
        return np.dtype(np.complex64) if dt == np.complex64 else np.dtype(np.complex128)
    return np.dtype(np.float32) if dt == np.float32 else np.dtype(np.float64)


def inexact_dtype(dtype) -> np.dtype:
    """The dtype an entrywise floating operation (shrinkage) returns: floating and complex
    dtypes unchanged (float16 stays float16), booleans and integers float64.

    Parameters
    ----------
    dtype : dtype

    Returns
    -------
    numpy.dtype
    """
    dtype = np.dtype(dtype)
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


# --- matrices from operators -----------------------------------------------------------------

def dense_matrix(A) -> np.ndarray:
    """Explicit dense ``(m, n)`` array of ``A``.

    Parameters
    ----------
    A : ndarray, scipy.sparse matrix or LinearOperator, shape (m, n)
        A matrix-free operator is applied to the identity (``n`` applications, in
        ``result_type(A.dtype, float32)``).

    Returns
    -------
    ndarray, shape (m, n)
        No copy for a dense ndarray or a :class:`~cstoolkit.operators.MatrixOperator` holding one.
    """
    from .operators import MatrixOperator

    if isinstance(A, MatrixOperator):
        A = A.matrix
    if sp.issparse(A):
        return A.toarray()
    if isinstance(A, np.ndarray):
        return A
    dtype = np.result_type(A.dtype, np.float32) if A.dtype is not None else np.float64
    return np.asarray(A.matmat(np.eye(A.shape[1], dtype=dtype)))


def gram(D) -> np.ndarray:
    """Gram matrix ``DᴴD``, shape (n, n), of a dense ``(m, n)`` matrix."""
    return D.conj().T @ D if np.iscomplexobj(D) else D.T @ D


def row_gram(A, dtype) -> np.ndarray:
    """``AAᴴ``, shape (m, m), Hermitian by construction (symmetrised against rounding).

    Parameters
    ----------
    A : ndarray, scipy.sparse matrix or LinearOperator, shape (m, n)
        Explicit matrices are multiplied directly; an operator is applied to ``I_m``
        (``m`` adjoint and ``m`` forward applications).
    dtype : dtype
        Working dtype of the identity applied to an operator.

    Returns
    -------
    ndarray, shape (m, m)
    """
    from .operators import MatrixOperator

    mat = A.matrix if isinstance(A, MatrixOperator) else A
    if isinstance(mat, np.ndarray) or sp.issparse(mat):
        G = mat @ mat.conj().T
        G = G.toarray() if sp.issparse(G) else np.asarray(G)
    else:
        G = np.asarray(A.matmat(A.rmatmat(np.eye(A.shape[0], dtype=dtype))))
    return 0.5 * (G + G.conj().T)


@dataclass
class RowSpace:
    r"""The row space of ``A`` through ``AAᴴ = U diag(s) Uᴴ``, cut at its numerical rank ``r``.

    Eigenvalues below ``10·m·eps·s_max`` (float64) are dropped, so ``A`` of rank ``r < m`` gets
    the pseudo-inverse of ``AAᴴ``. Built by :meth:`of`.

    Attributes
    ----------
    s : ndarray, shape (r,)
        Kept eigenvalues of ``AAᴴ`` (real, working precision).
    U : ndarray, shape (m, r)
        Their eigenvectors.
    AU : ndarray, shape (n, r)
        ``AᴴU``: ``AU / √s`` is an orthonormal basis of range(Aᴴ).
    """

    s: np.ndarray
    U: np.ndarray
    AU: np.ndarray

    @classmethod
    def of(cls, A, dtype, *, G=None, adjoint=None, owner: str = "") -> "RowSpace":
        """Eigendecompose ``AAᴴ`` (computed in float64/complex128) and keep its numerical rank.

        Parameters
        ----------
        A : ndarray, scipy.sparse matrix or LinearOperator, shape (m, n)
        dtype : dtype
            Working dtype of ``U`` and ``AU`` (``s`` in its real counterpart).
        G : ndarray, shape (m, m), optional
            ``AAᴴ`` when the caller has it (default :func:`row_gram`).
        adjoint : callable, optional
            ``R ↦ AᴴR`` (default ``A.conj().T @`` for a matrix, ``A.rmatmat`` for an operator).
        owner : str
            Name used in the log line when ``AAᴴ`` is rank deficient.
        """
        dtype = np.dtype(dtype)
        m = A.shape[0]
        if G is None:
            G = row_gram(A, dtype)
        s, U = np.linalg.eigh(G.astype(np.complex128 if np.iscomplexobj(G) else np.float64))
        smax = max(float(s[-1]), np.finfo(float).tiny)
        keep = s > smax * m * np.finfo(float).eps * 10  # numerical rank of A Aᴴ
        if not np.all(keep):
            logger.info("%s: A Aᴴ has numerical rank %d < m=%d; using its pseudo-inverse",
                        owner or "RowSpace", int(keep.sum()), m)
        s, U = s[keep].astype(np.finfo(dtype).dtype), U[:, keep].astype(dtype)
        if adjoint is None:
            adjoint = (lambda R: A.conj().T @ R) if (isinstance(A, np.ndarray) or sp.issparse(A)) else A.rmatmat
        AU = adjoint(U)
        AU = np.asarray(AU.toarray() if sp.issparse(AU) else AU).astype(dtype, copy=False)
        return cls(s=s, U=U, AU=AU)

    def least_norm(self, Y) -> np.ndarray:
        """``Aᴴ(AAᴴ)⁺Y``, shape (n, B): the least-norm solution of ``AX = Y`` (Y projected on range(A))."""
        return self.AU @ ((self.U.conj().T @ Y) / self.s[:, None])

    def orthonormal_basis(self) -> np.ndarray:
        """``AᴴU s^{-1/2}``, shape (n, r): orthonormal columns spanning range(Aᴴ)."""
        return self.AU * (1.0 / np.sqrt(self.s)).astype(self.AU.real.dtype)

    def project(self, X, Y) -> np.ndarray:
        """Projection of every column of ``X`` (n, B) onto ``{x : Ax = y_b}``: ``X − Aᴴ(AAᴴ)⁺(AX − Y)``."""
        return X - self.AU @ ((self.AU.conj().T @ X - self.U.conj().T @ Y) / self.s[:, None])


# --- least squares on per-signal supports -------------------------------------------------

def support_index(mask: np.ndarray):
    """Pad per-column supports to a common size ``s``.

    Parameters
    ----------
    mask : ndarray of bool, shape (n, B)

    Returns
    -------
    idx : ndarray of intp, shape (s, B)
        Indices of every column's support in increasing order (canonical: a signal's solve does
        not depend on its batch), interleaved with padding indices off the support.
    valid : ndarray of bool, shape (s, B)
        True where ``idx`` is in the support.
    """
    n, B = mask.shape
    s = int(mask.sum(axis=0).max()) if B else 0
    if s == 0:
        return np.zeros((0, B), dtype=np.intp), np.zeros((0, B), dtype=bool)
    key = -mask.astype(np.int8)
    idx = np.argsort(key, axis=0, kind="stable")[:s] if s == n else np.argpartition(key, s - 1, axis=0)[:s]
    idx = np.sort(idx, axis=0)
    return idx, mask[idx, np.arange(B)]


def padded_gram(G: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The ``(B, s, s)`` normal matrices ``G_SS`` of every column's support, identity on padding.

    Parameters
    ----------
    G : ndarray, shape (n, n) (shared) or (B, n, n) (one per signal)
    idx, valid : ndarray, shape (s, B)
        From :func:`support_index`.

    Returns
    -------
    ndarray, shape (B, s, s)
    """
    it, vt = idx.T, valid.T
    if G.ndim == 2:
        Gs = G[it[:, :, None], it[:, None, :]]
    else:
        Gs = G[np.arange(G.shape[0])[:, None, None], it[:, :, None], it[:, None, :]]
    Gs = np.where(vt[:, :, None] & vt[:, None, :], Gs, 0)
    diag = np.arange(it.shape[1])
    Gs[:, diag, diag] += (~vt).astype(Gs.dtype)
    return Gs


def support_columns(D: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The columns ``D_S`` of every support, zero on padding: shape (B, m, s)."""
    return np.ascontiguousarray(np.moveaxis(D[:, idx] * valid[None], 2, 0))


def support_gram(As: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``A_SᴴA_S`` per signal from the padded columns of :func:`support_columns`, identity on
    padding: shape (B, s, s)."""
    G = np.conj(np.swapaxes(As, 1, 2)) @ As
    diag = np.arange(As.shape[2])
    G[:, diag, diag] += (~valid.T).astype(G.dtype)
    return G


def solve_padded(Gs: np.ndarray, rhs: np.ndarray, *, singular: str = "pinv"):
    """Solve the stacked systems ``Gs[b] c_b = rhs[b]`` in one call.

    Parameters
    ----------
    Gs : ndarray, shape (B, s, s)
        Hermitian (from :func:`padded_gram`).
    rhs : ndarray, shape (B, s)
        Zero on padded slots (their solution is then zero).
    singular : {"pinv", "none"}, default="pinv"
        What a singular or non-finite solve does: fall back to the pseudo-inverse
        (``rcond=1e-10``) or return None.

    Returns
    -------
    ndarray, shape (B, s), or None
    """
    try:
        sol = np.linalg.solve(Gs, rhs[..., None])[..., 0]
        if singular == "pinv" and not np.all(np.isfinite(sol)):
            raise np.linalg.LinAlgError("non-finite solution")
    except np.linalg.LinAlgError:
        if singular != "pinv":
            return None
        sol = (np.linalg.pinv(Gs, rcond=1e-10, hermitian=True) @ rhs[..., None])[..., 0]
    return sol


def scatter_support(sol: np.ndarray, idx: np.ndarray, valid: np.ndarray, n: int, dtype=None) -> np.ndarray:
    """Coefficients ``(n, B)`` from per-support solutions ``sol`` (B, s); zero off the supports."""
    B = idx.shape[1]
    X = np.zeros((n, B), dtype=sol.dtype if dtype is None else dtype)
    it, vt = idx.T, valid.T
    X[it[vt], np.broadcast_to(np.arange(B)[:, None], it.shape)[vt]] = sol[vt]
    return X


def lstsq_on_support(G: np.ndarray, C: np.ndarray, mask: np.ndarray) -> np.ndarray:
    r"""Least squares restricted to each column's support, for the whole batch.

    Solves :math:`\min_c \|A_S c - y\|_2` per column through the normal equations
    ``G_SS c = C_S`` (``G = AᴴA``, ``C = AᴴY``), stacked as one ``(B, s, s)`` system; padded
    slots get an identity row and a zero. Rank-deficient systems (a support larger than m)
    fall back to the pseudo-inverse.

    Parameters
    ----------
    G : ndarray, shape (n, n)
    C : ndarray, shape (n, B)
    mask : ndarray of bool, shape (n, B)

    Returns
    -------
    X : ndarray, shape (n, B)
        Coefficients, zero off the supports.
    """
    n, B = C.shape
    idx, valid = support_index(mask)
    if idx.shape[0] == 0:
        return np.zeros_like(C)
    it, vt = idx.T, valid.T
    rhs = np.where(vt, C[it, np.arange(B)[:, None]], 0)
    sol = solve_padded(padded_gram(G, idx, valid), rhs)
    return scatter_support(sol, idx, valid, n, C.dtype)
