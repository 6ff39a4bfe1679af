r"""Storage accounting: the bytes a stored matrix takes, and the bytes of one stored index.

One home for the byte counts of :mod:`cstoolkit.compression` (each compression method's
storage rule, :meth:`CompressionMethod.storage`, is written with :func:`index_bytes`) and for
:func:`storage_bytes`, which counts an actual dense, sparse or low-rank object (re-exported by
:mod:`cstoolkit.sparsify`).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

__all__ = ["index_bytes", "storage_bytes", "PTR_BYTES"]

#: bytes of one row pointer of a CSR layout in the compression methods' accounting
PTR_BYTES = 4


def index_bytes(n: int) -> int:
    """Bytes of the smallest unsigned integer that indexes ``n`` positions (1, 2, 4 or 8)."""
    for b in (1, 2, 4):
        if n <= 256**b:
            return b
    return 8


def _check_byte_count(value, name):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number or None; got {value!r}")
    if not (value > 0 and np.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return value


def storage_bytes(obj, *, value_bytes=4, index_bytes=4):
    r"""Bytes needed to store a dense matrix, a sparse matrix or low-rank factors.

    Convention (payload only: no Python object, header or alignment overhead is counted):

    * dense ndarray: :math:`\text{size}\cdot v`;
    * CSR with :math:`z` stored entries and :math:`m` rows:
      :math:`z\,v + z\,i + (m + 1)\,i` (values, column indices, row pointers);
      CSC likewise with :math:`n + 1` column pointers; COO: :math:`z\,(v + 2i)`;
      any other sparse format is counted as if converted to CSR. Stored explicit zeros
      count -- they are stored;
    * :class:`LowRankFactors` of rank :math:`r` for an :math:`m \times n` matrix: the pair
      :math:`(U_r S_r, V_r^\top)`, i.e. :math:`(m + n)\,r\,v` (the singular values are folded
      into the left factor; storing ``U``, ``s``, ``Vt`` separately would cost :math:`r\,v`
      more);
    * a tuple or list (e.g. a factor pair ``(A, B)``): the sum over its elements.

    Here :math:`v` = ``value_bytes`` and :math:`i` = ``index_bytes``. In summary,

    .. math::

        B_\text{dense} = m n\,v, \qquad
        B_\text{CSR} = z\,(v + i) + (m + 1)\,i, \qquad
        B_\text{rank-}r = (m + n)\,r\,v .

    Parameters
    ----------
    obj : ndarray, scipy.sparse matrix/array, LowRankFactors, or tuple/list of these
    value_bytes : int, float or None, default=4
        Bytes per stored value (4 = float32; fractional values model block quantisation,
        e.g. 34/32 for GGUF Q8_0). ``None`` uses each array's own ``dtype.itemsize``.
    index_bytes : int, float or None, default=4
        Bytes per stored index / pointer (4 = int32). ``None`` uses the sparse matrix's own
        index dtype.

    Returns
    -------
    int or float
        ``int`` when the byte counts are integers, else ``float``.

    Raises
    ------
    TypeError
        For unsupported objects.
    """
    from ..sparsify import LowRankFactors

    value_bytes = _check_byte_count(value_bytes, "value_bytes")
    index_bytes = _check_byte_count(index_bytes, "index_bytes")

    def vb(dtype):
        return dtype.itemsize if value_bytes is None else value_bytes

    def ib(arr):
        return arr.dtype.itemsize if index_bytes is None else index_bytes

    if isinstance(obj, LowRankFactors):
        m, n = obj.shape
        total = (m + n) * obj.rank * vb(np.result_type(obj.U, obj.s))
    elif isinstance(obj, (tuple, list)):
        total = sum(
            storage_bytes(o, value_bytes=value_bytes, index_bytes=index_bytes) for o in obj
        )
    elif sp.issparse(obj):
        fmt = obj.format
        if fmt not in ("csr", "csc", "coo"):
            obj = sp.csr_array(obj)
            fmt = "csr"
        z = obj.nnz
        if fmt == "coo":
            idx_arrays = obj.coords if hasattr(obj, "coords") else (obj.row, obj.col)
            total = z * vb(obj.dtype) + sum(z * ib(a) for a in idx_arrays)
        else:
            total = z * vb(obj.dtype) + z * ib(obj.indices) + len(obj.indptr) * ib(obj.indptr)
    elif isinstance(obj, np.ndarray):
        total = obj.size * vb(obj.dtype)
    else:
        raise TypeError(
            "storage_bytes accepts an ndarray, a scipy.sparse matrix/array, LowRankFactors or "
            f"a tuple/list of these; got {type(obj).__name__}"
        )
    if isinstance(value_bytes, float) or isinstance(index_bytes, float):
        return float(total)
    return int(total)
