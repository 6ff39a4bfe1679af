"""Linear operators: one uniform view of ndarrays, scipy.sparse matrices and ``LinearOperator``.

Every solver receives its measurement matrix through :func:`as_operator`, which returns a
:class:`scipy.sparse.linalg.LinearOperator` supporting ``matmat``/``rmatmat`` (blocks of
signals at once). Operators built from an explicit matrix remember it (:func:`explicit_matrix`)
so that solvers may use BLAS-3 paths such as a precomputed Gram matrix; fast transforms
(:class:`PartialDCT`, :class:`PartialFourier`, :class:`DCTBasis`) never form a matrix.

A dot test (:func:`dottest`) proves that each adjoint matches its forward operator.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ._validation import check_random_state

__all__ = [
    "MatrixOperator",
    "as_operator",
    "explicit_matrix",
    "to_dense",
    "compose",
    "DCTBasis",
    "PartialDCT",
    "PartialFourier",
    "dottest",
    "operator_norm",
]


class MatrixOperator(LinearOperator):
    """A ``LinearOperator`` backed by an explicit dense or sparse matrix.

    Parameters
    ----------
    matrix : ndarray or scipy.sparse matrix, shape (m, n)
        The matrix. Sparse input is converted to CSR once (fast ``A @ X`` and ``A.T @ X``).
    """

    def __init__(self, matrix):
        if sp.issparse(matrix):
            matrix = sp.csr_matrix(matrix)
        self.matrix = matrix
        super().__init__(dtype=matrix.dtype, shape=matrix.shape)

    def _matvec(self, x):
        return self.matrix @ x

    def _matmat(self, X):
        return self.matrix @ X

    def _rmatvec(self, y):
        return self.matrix.T.conj() @ y if np.iscomplexobj(self.matrix) else self.matrix.T @ y

    def _rmatmat(self, Y):
        return self.matrix.T.conj() @ Y if np.iscomplexobj(self.matrix) else self.matrix.T @ Y

    def _adjoint(self):
        return MatrixOperator(self.matrix.T.conj())

    def __repr__(self) -> str:
        kind = "sparse" if sp.issparse(self.matrix) else "dense"
        return f"<{self.shape[0]}x{self.shape[1]} {kind} MatrixOperator of dtype {self.dtype}>"


def as_operator(A, *, name: str = "A") -> LinearOperator:
    """Wrap ``A`` as a ``LinearOperator``, validating it.

    Parameters
    ----------
    A : ndarray, scipy.sparse matrix/array, or LinearOperator, shape (m, n)
        The measurement matrix or operator. Integer matrices are promoted to float64.
    name : str, default="A"
        Name used in error messages.

    Returns
    -------
    op : LinearOperator, shape (m, n)
        ``A`` itself if it is already a ``LinearOperator``, otherwise a :class:`MatrixOperator`.

    Raises
    ------
    TypeError
        If ``A`` is not a matrix or operator, or holds non-numeric data.
    ValueError
        If ``A`` is not 2-D, is empty, or contains NaN/Inf.
    """
    if isinstance(A, LinearOperator):
        if A.dtype is not None and np.dtype(A.dtype).kind not in "fc":
            raise TypeError(f"{name} has dtype {A.dtype}; a floating-point operator is required.")
        if _lacks_adjoint(A):
            raise TypeError(
                f"{name} is a LinearOperator without rmatvec/rmatmat (its adjoint {name}ᴴ); every recoverer "
                f"needs {name}ᴴ: build it as LinearOperator(shape, matvec=..., rmatvec=...).")
        return A
    if sp.issparse(A):
        # lil, dok, coo, dia, bsr...: one conversion to CSR (the format every solver path uses)
        mat = A if A.format in ("csr", "csc") else A.tocsr()
        data = mat.data
    else:
        if isinstance(A, (list, tuple)):
            A = np.asarray(A)
        if not isinstance(A, np.ndarray):
            raise TypeError(
                f"{name} must be a numpy array, a scipy.sparse matrix or a LinearOperator, "
                f"got {type(A).__name__}."
            )
        mat = A
        data = A
    if mat.ndim != 2:
        raise ValueError(f"{name} must be 2-D (m, n), got shape {mat.shape}.")
    if mat.dtype == object or mat.dtype.kind not in "biufc":
        raise TypeError(f"{name} must hold real or complex numbers, got dtype {mat.dtype}.")
    if 0 in mat.shape:
        raise ValueError(f"{name} has shape {mat.shape}; it must have at least one row and one column.")
    if mat.dtype.kind in "biu":
        mat = mat.astype(np.float64)
        data = mat.data if sp.issparse(mat) else mat
    elif mat.dtype == np.float16:
        mat = mat.astype(np.float32)
        data = mat.data if sp.issparse(mat) else mat
    elif mat.dtype.itemsize > 8 and mat.dtype.kind == "f" or mat.dtype.itemsize > 16:
        # long double: no BLAS, no compiled kernel; solvers work in double precision
        mat = mat.astype(np.complex128 if mat.dtype.kind == "c" else np.float64)
        data = mat.data if sp.issparse(mat) else mat
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or Inf entries.")
    return MatrixOperator(mat)


def _lacks_adjoint(op: LinearOperator) -> bool:
    """True for a ``LinearOperator(shape, matvec=...)`` built without ``rmatvec``/``rmatmat``."""
    custom = getattr(op, "_CustomLinearOperator__rmatvec_impl", False)
    rmm = getattr(op, "_CustomLinearOperator__rmatmat_impl", None)
    if custom is None and rmm is None:
        return True
    # a subclass that overrides neither _rmatvec nor _rmatmat nor _adjoint
    cls = type(op)
    base = LinearOperator
    return (custom is False and cls._rmatvec is base._rmatvec and cls._rmatmat is base._rmatmat
            and cls._adjoint is base._adjoint and cls._transpose is base._transpose)


def explicit_matrix(op: LinearOperator):
    """Return the explicit matrix behind ``op`` (ndarray or CSR) or ``None`` for a matrix-free operator."""
    return op.matrix if isinstance(op, MatrixOperator) else None


def to_dense(op: LinearOperator) -> np.ndarray:
    """Materialise ``op`` as a dense ``(m, n)`` array (``n`` operator applications for matrix-free ones)."""
    from .linalg import dense_matrix  # the one implementation

    return dense_matrix(op)


def compose(A: LinearOperator, B: LinearOperator) -> LinearOperator:
    """The product ``A @ B`` as an operator; explicit when both factors are dense matrices.

    Multiplying out two dense factors once (``m·n·p`` flops) makes every later solver
    iteration a single BLAS call and keeps Gram-based fast paths available.
    """
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot compose operators of shapes {A.shape} and {B.shape}.")
    ma, mb = explicit_matrix(A), explicit_matrix(B)
    if ma is not None and mb is not None:
        prod = ma @ mb
        if sp.issparse(prod) and (sp.issparse(ma) != sp.issparse(mb) or prod.nnz > 0.3 * np.prod(prod.shape)):
            prod = prod.toarray()
        return MatrixOperator(np.asarray(prod) if not sp.issparse(prod) else prod)
    return A @ B


class DCTBasis(LinearOperator):
    """Orthonormal DCT-II synthesis basis ``Psi`` (columns are cosine atoms), shape (n, n).

    ``Psi @ s`` is the inverse DCT of the coefficients ``s``; ``Psi.T @ x`` is the DCT of ``x``
    (both with ``norm="ortho"``), so ``x = Psi s`` with ``s`` sparse is the classic
    "sparse in a cosine basis" model.

    Parameters
    ----------
    n : int
        Signal length.
    dtype : dtype, default=float64
    """

    def __init__(self, n: int, dtype=np.float64):
        super().__init__(dtype=np.dtype(dtype), shape=(int(n), int(n)))

    def _matmat(self, S):
        return sfft.idct(np.asarray(S), type=2, norm="ortho", axis=0)

    def _matvec(self, s):
        return self._matmat(np.asarray(s).reshape(-1, 1)).ravel()

    def _rmatmat(self, X):
        return sfft.dct(np.asarray(X), type=2, norm="ortho", axis=0)

    def _rmatvec(self, x):
        return self._rmatmat(np.asarray(x).reshape(-1, 1)).ravel()

    def _adjoint(self):
        return _DCTAnalysis(self.shape[0], self.dtype)


class _DCTAnalysis(DCTBasis):
    def _matmat(self, X):
        return DCTBasis._rmatmat(self, X)

    def _rmatmat(self, S):
        return DCTBasis._matmat(self, S)

    def _adjoint(self):
        return DCTBasis(self.shape[0], self.dtype)


def _check_rows(rows, n: int) -> np.ndarray:
    rows = np.asarray(rows)
    if rows.ndim != 1 or rows.dtype.kind not in "iu":
        raise TypeError("rows must be a 1-D integer array of selected indices.")
    if rows.size == 0 or rows.min() < 0 or rows.max() >= n:
        raise ValueError(f"rows must be non-empty indices in [0, {n}).")
    if np.unique(rows).size != rows.size:
        raise ValueError("rows must not repeat.")
    return rows


class PartialDCT(LinearOperator):
    """Rows ``rows`` of the orthonormal DCT-II matrix of size n: ``A x = dct(x)[rows]``.

    A fast (``O(n log n)``) structured measurement operator with orthonormal rows
    (``A A^T = I``, so ``||A||_2 = 1``).

    Parameters
    ----------
    n : int
        Signal length.
    rows : array_like of int, shape (m,)
        Selected frequencies, distinct, in ``[0, n)``.
    dtype : dtype, default=float64
    """

    def __init__(self, n: int, rows, dtype=np.float64):
        self.rows = _check_rows(rows, int(n))
        super().__init__(dtype=np.dtype(dtype), shape=(self.rows.size, int(n)))

    def _matmat(self, X):
        return sfft.dct(np.asarray(X), type=2, norm="ortho", axis=0)[self.rows]

    def _matvec(self, x):
        return self._matmat(np.asarray(x).reshape(-1, 1)).ravel()

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        full = np.zeros((self.shape[1], Y.shape[1]), dtype=np.result_type(Y.dtype, self.dtype))
        full[self.rows] = Y
        return sfft.idct(full, type=2, norm="ortho", axis=0)

    def _rmatvec(self, y):
        return self._rmatmat(np.asarray(y).reshape(-1, 1)).ravel()


class PartialFourier(LinearOperator):
    """Rows ``rows`` of the unitary DFT matrix of size n: ``A x = fft(x, norm="ortho")[rows]``.

    Complex-valued; the Candès–Romberg–Tao (2006) measurement model. Rows are orthonormal.

    Parameters
    ----------
    n : int
        Signal length.
    rows : array_like of int, shape (m,)
        Selected frequencies, distinct, in ``[0, n)``.
    """

    def __init__(self, n: int, rows):
        self.rows = _check_rows(rows, int(n))
        super().__init__(dtype=np.complex128, shape=(self.rows.size, int(n)))

    def _matmat(self, X):
        return sfft.fft(np.asarray(X), norm="ortho", axis=0)[self.rows]

    def _matvec(self, x):
        return self._matmat(np.asarray(x).reshape(-1, 1)).ravel()

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        full = np.zeros((self.shape[1], Y.shape[1]), dtype=np.complex128)
        full[self.rows] = Y
        return sfft.ifft(full, norm="ortho", axis=0)

    def _rmatvec(self, y):
        return self._rmatmat(np.asarray(y).reshape(-1, 1)).ravel()


def dottest(op: LinearOperator, *, random_state=0, rtol: float = 1e-6, raise_error: bool = True) -> bool:
    """Check ``<A x, y> == <x, A^H y>`` on random vectors (the adjoint test).

    Parameters
    ----------
    op : LinearOperator, shape (m, n)
    random_state : int or Generator, default=0
    rtol : float, default=1e-6
        Relative tolerance; use about 1e-4 for float32 operators.
    raise_error : bool, default=True
        Raise ``AssertionError`` on failure instead of returning False.

    Returns
    -------
    passed : bool
    """
    rng = check_random_state(random_state)
    m, n = op.shape
    cplx = op.dtype is not None and np.dtype(op.dtype).kind == "c"
    x = rng.standard_normal(n) + (1j * rng.standard_normal(n) if cplx else 0)
    y = rng.standard_normal(m) + (1j * rng.standard_normal(m) if cplx else 0)
    lhs = np.vdot(y, op.matvec(x))
    rhs = np.vdot(op.rmatvec(y), x)
    ok = abs(lhs - rhs) <= rtol * max(abs(lhs), abs(rhs), 1e-30)
    if not ok and raise_error:
        raise AssertionError(f"dot test failed: <Ax,y>={lhs} but <x,A^H y>={rhs}")
    return bool(ok)


def operator_norm(op: LinearOperator, *, n_iter: int = 50, random_state=0, tol: float = 1e-6) -> float:
    """Spectral norm ``||A||_2`` (largest singular value).

    Exact (LAPACK) for small explicit matrices, otherwise power iteration on ``A^H A``
    with a 1% safety margin so that step sizes ``1/L`` stay valid.
    """
    mat = explicit_matrix(op)
    m, n = op.shape
    if mat is not None and not sp.issparse(mat) and min(m, n) <= 2000:
        return float(np.linalg.norm(mat, 2))
    rng = check_random_state(random_state)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    s = 0.0
    for _ in range(n_iter):
        w = op.rmatvec(op.matvec(v))
        s_new = float(np.sqrt(np.linalg.norm(w)))
        nw = np.linalg.norm(w)
        if nw == 0:
            return 0.0
        v = w / nw
        if abs(s_new - s) <= tol * s_new:
            s = s_new
            break
        s = s_new
    return 1.01 * s
