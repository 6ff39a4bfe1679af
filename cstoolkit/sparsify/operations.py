"""Sparsifying operations: entrywise soft / hard thresholding and keeping the ``k`` largest
entries (overall, per row or per column, or to a target density)."""

from __future__ import annotations

import logging
import numbers

import numpy as np
import scipy.sparse as sp

from .._validation import as_numeric_array as _as_dense
from .._validation import check_broadcast as _check_broadcast
from .._validation import check_int as _check_int
from .._validation import check_nonneg_param as _check_nonneg_param
from .._validation import check_sparse_2d as _check_sparse_2d
from ..linalg import inexact_dtype as _inexact_dtype
from ..prox import soft_threshold as _soft
from ..prox import topk_mask
from ._sparse import _csr_rows, _to_csr

__all__ = ["soft_threshold", "hard_threshold", "keep_largest", "threshold_to_density"]

logger = logging.getLogger(__name__)


def soft_threshold(X, lam):
    r"""Soft-thresholding: the proximal operator of :math:`\lambda\|\cdot\|_1`.

    .. math::

        \operatorname{prox}_{\lambda\|\cdot\|_1}(x)
            = \arg\min_z \tfrac12 (z - x)^2 + \lambda |z|
            = \operatorname{sign}(x)\,\max(|x| - \lambda, 0),

    applied entrywise. For complex entries the modulus is shrunk and the phase kept,
    :math:`x \max(1 - \lambda/|x|, 0)` (the prox of :math:`\lambda\sum_i |x_i|` with
    :math:`|\cdot|` the complex modulus).

    Parameters
    ----------
    X : array_like of any shape, or scipy.sparse matrix/array of shape (m, n)
        Real or complex input. NaN entries propagate.
    lam : float or array_like, >= 0
        Threshold. An array must broadcast to ``X.shape`` (e.g. shape ``(m, 1)`` for one
        threshold per row); this also holds for sparse ``X``, where ``lam`` is read at the
        stored coordinates only (no densification).

    Returns
    -------
    ndarray of X's shape, or scipy.sparse.csr_array of shape (m, n)
        Dense input gives a dense array with X's floating dtype (``float32``, ``complex64``
        ... are kept; integers and booleans give ``float64``). Sparse input gives a canonical
        ``csr_array`` with the zeros created by the shrinkage eliminated.

    Raises
    ------
    ValueError
        If ``lam`` is negative, NaN, or does not broadcast to ``X.shape``.
    TypeError
        If ``X`` or ``lam`` are not numeric.

    See Also
    --------
    hard_threshold : keep entries with :math:`|x| > t` unchanged.

    References
    ----------
    .. [1] N. Parikh and S. Boyd, "Proximal Algorithms", Foundations and Trends in
       Optimization 1(3), 2014, §6.5.2.
    """
    lam_arr = _check_nonneg_param(lam, "lam")
    if sp.issparse(X):
        _check_broadcast(lam_arr, X.shape, "lam")
        Y = _to_csr(X, dtype=_inexact_dtype(X.dtype), copy=True)
        if lam_arr.ndim == 0:
            lam_at = lam_arr
        else:
            lam_at = np.broadcast_to(lam_arr, Y.shape)[_csr_rows(Y), Y.indices]
        Y.data = _soft(Y.data, lam_at).astype(Y.dtype, copy=False)
        Y.eliminate_zeros()
        return Y
    arr = _as_dense(X)
    _check_broadcast(lam_arr, arr.shape, "lam")
    out_dtype = _inexact_dtype(arr.dtype)
    return _soft(arr.astype(out_dtype, copy=False), lam_arr).astype(out_dtype, copy=False)


def hard_threshold(X, threshold):
    r"""Hard-thresholding: keep the entries whose magnitude exceeds ``threshold``.

    .. math::

        H_t(x) = x \cdot \mathbf 1[\,|x| > t\,],

    entrywise (strict inequality: an entry with :math:`|x| = t` is set to zero). For
    :math:`t = \sqrt{2\lambda}` this is a proximal operator of :math:`\lambda\|\cdot\|_0`.

    Parameters
    ----------
    X : array_like of any shape, or scipy.sparse matrix/array of shape (m, n)
        Real or complex input (magnitude = modulus).
    threshold : float or array_like, >= 0
        Scalar, or an array broadcastable to ``X.shape``.

    Returns
    -------
    ndarray of X's shape and dtype, or scipy.sparse.csr_array of shape (m, n)
        Dense input keeps its dtype (kept entries are unchanged). Sparse input gives a
        canonical ``csr_array`` without explicit zeros.

    Raises
    ------
    ValueError
        If ``threshold`` is negative, NaN or does not broadcast to ``X.shape``.
    """
    t = _check_nonneg_param(threshold, "threshold")
    if sp.issparse(X):
        _check_broadcast(t, X.shape, "threshold")
        Y = _to_csr(X, copy=True)
        t_at = t if t.ndim == 0 else np.broadcast_to(t, Y.shape)[_csr_rows(Y), Y.indices]
        Y.data[~(np.abs(Y.data) > t_at)] = 0
        Y.eliminate_zeros()
        return Y
    arr = _as_dense(X)
    _check_broadcast(t, arr.shape, "threshold")
    return np.where(np.abs(arr) > t, arr, np.zeros((), dtype=arr.dtype))


def _csr_from_dense_mask(arr: np.ndarray, mask: np.ndarray) -> sp.csr_array:
    mask = mask & (arr != 0)
    rows, cols = np.nonzero(mask)  # row-major order -> canonical CSR directly
    indptr = np.zeros(arr.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=arr.shape[0]), out=indptr[1:])
    return sp.csr_array((arr[rows, cols], cols, indptr), shape=arr.shape)


def _keep_largest_sparse(X, k: int, axis: int | None) -> sp.csr_array:
    Y = _to_csr(X, copy=True)
    Y.eliminate_zeros()
    m, n = Y.shape
    rows = _csr_rows(Y)
    cols = Y.indices.astype(np.int64)
    mag = np.abs(Y.data)
    if axis is None:
        if k >= Y.nnz:
            return Y
        # largest magnitude first, ties -> lowest row-major linear index (same as dense path)
        order = np.lexsort((rows * n + cols, -mag))
        keep = np.zeros(Y.nnz, dtype=bool)
        keep[order[:k]] = True
    else:
        major, minor = (rows, cols) if axis == 1 else (cols, rows)
        n_major = m if axis == 1 else n
        # group by major index, largest magnitude first, ties -> lowest minor index
        order = np.lexsort((minor, -mag, major))
        counts = np.bincount(major, minlength=n_major)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        rank_in_group = np.arange(Y.nnz) - starts[major[order]]
        keep = np.zeros(Y.nnz, dtype=bool)
        keep[order[rank_in_group < k]] = True
    Y.data[~keep] = 0
    Y.eliminate_zeros()
    return Y


def keep_largest(X, k, *, axis=None):
    r"""Keep the ``k`` largest-magnitude entries; set all others to zero.

    .. math::

        Y_{ij} = X_{ij}\,\mathbf 1[(i, j) \in S], \qquad
        S = \arg\max_{|S| = k} \sum_{(i,j) \in S} |X_{ij}|,

    with :math:`S` taken over the whole matrix (``axis=None``), within each row (``axis=1``,
    :math:`k` entries per row) or within each column (``axis=0``). This is the Euclidean
    projection onto the set of :math:`k`-sparse matrices (per row/column), i.e. the best
    :math:`k`-term approximation in the Frobenius norm.

    Parameters
    ----------
    X : array_like of shape (n,) or (m, n), or scipy.sparse matrix/array of shape (m, n)
        Real or complex input (magnitude = modulus). Must not contain NaN.
    k : int
        Number of entries to keep: ``1 <= k <= X.size`` for ``axis=None``, otherwise
        ``1 <= k <= X.shape[axis]``.
    axis : {None, 0, 1, -1, -2}, default=None
        ``None``: the ``k`` largest of the whole array; ``1``: per row; ``0``: per column.

    Returns
    -------
    scipy.sparse.csr_array of shape (m, n), or ndarray of shape (n,)
        2-D (and sparse) input gives a canonical ``csr_array`` with X's dtype; 1-D input gives
        a dense ndarray. Kept entries that are exactly zero are not stored, so a row has exactly
        ``k`` stored entries when it has at least ``k`` non-zeros, and all of them otherwise.

    Raises
    ------
    ValueError
        If ``k`` is out of range, ``axis`` is invalid, X is not 1-D or 2-D, or X contains NaN.

    Notes
    -----
    Selection is vectorised with one ``np.partition`` (``O(size)``) for dense input and one
    ``np.lexsort`` of the stored entries for sparse input; no Python loop over rows.
    **Ties are broken deterministically**: among entries of equal magnitude at the cut, those
    with the lowest index are kept (row-major linear index for ``axis=None``, column index for
    ``axis=1``, row index for ``axis=0``). Dense and sparse inputs therefore give identical
    results.
    """
    if sp.issparse(X):
        _check_sparse_2d(X)
        shape, ndim = X.shape, 2
    else:
        arr = _as_dense(X)
        shape, ndim = arr.shape, arr.ndim
        if ndim not in (1, 2):
            raise ValueError(
                f"X must be 1-D or 2-D; got {ndim}-D input of shape {shape}. "
                "Reshape it to a matrix first."
            )
    if axis is not None:
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be None, 0 or 1; got {axis!r}")
        if not -ndim <= axis < ndim:
            raise ValueError(f"axis={axis} is out of range for {ndim}-D input")
        axis = int(axis) % ndim
        if ndim == 1:
            axis = None  # the only axis of a vector is the whole vector
    n_avail = int(np.prod(shape)) if axis is None else shape[axis]
    where = "X.size" if axis is None else f"X.shape[{axis}]"
    k = _check_int(k, "k", 1, n_avail, hint=f" ({where} = {n_avail})")

    if sp.issparse(X):
        if X.nnz and np.isnan(X.data).any():
            raise ValueError("X contains NaN; magnitudes cannot be ranked")
        return _keep_largest_sparse(X, k, axis)

    mag = np.abs(arr)
    if np.isnan(mag).any():
        raise ValueError("X contains NaN; magnitudes cannot be ranked")
    mask = topk_mask(mag, k, axis)  # ties -> lowest index: the package's one rule
    logger.debug("keep_largest: k=%d axis=%s on shape %s", k, axis, shape)
    if ndim == 1:
        return np.where(mask, arr, np.zeros((), dtype=arr.dtype))
    return _csr_from_dense_mask(arr, mask)


def threshold_to_density(X, density, axis=None):
    r"""Keep the largest-magnitude entries so that a fraction ``density`` of entries remains.

    Convenience wrapper around :func:`keep_largest` with

    .. math::

        k = \max\bigl(1, \lfloor \text{density}\cdot N + \tfrac12 \rfloor\bigr),

    where :math:`N` is ``X.size`` (``axis=None``), the row length (``axis=1``) or the column
    length (``axis=0``); i.e. :math:`\text{density}\cdot N` rounded half up, at least 1.

    Parameters
    ----------
    X : array_like of shape (n,) or (m, n), or scipy.sparse matrix/array of shape (m, n)
    density : float in (0, 1]
        Target fraction of stored entries (overall, per row or per column).
    axis : {None, 0, 1}, default=None
        As in :func:`keep_largest`.

    Returns
    -------
    scipy.sparse.csr_array of shape (m, n), or ndarray of shape (n,)
        See :func:`keep_largest`.
    """
    if isinstance(density, (bool, np.bool_)) or not isinstance(density, numbers.Real):
        raise TypeError(f"density must be a real number in (0, 1]; got {density!r}")
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1]; got {density!r}")
    shape = X.shape if sp.issparse(X) else _as_dense(X).shape
    if axis is None or len(shape) == 1:
        n = int(np.prod(shape))
    else:
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be None, 0 or 1; got {axis!r}")
        if not -len(shape) <= axis < len(shape):
            raise ValueError(f"axis={axis} is out of range for {len(shape)}-D input")
        n = shape[axis]
    k = max(1, int(np.floor(density * n + 0.5)))
    return keep_largest(X, k, axis=axis)
