"""CSR helpers shared by the operations and the measures (canonical ``csr_array``, row indices)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import check_sparse_2d as _check_sparse_2d


def _to_csr(X, *, dtype=None, copy: bool = False) -> sp.csr_array:
    """Canonical ``csr_array`` view or copy of a scipy.sparse object (input never mutated)."""
    _check_sparse_2d(X)
    Y = sp.csr_array(X, dtype=dtype, copy=copy)
    if not Y.has_canonical_format:
        if not copy:
            Y = Y.copy()
        Y.sum_duplicates()
    return Y


def _csr_rows(Y: sp.csr_array) -> np.ndarray:
    """Row index of every stored entry of a CSR array (int64)."""
    return np.repeat(np.arange(Y.shape[0], dtype=np.int64), np.diff(Y.indptr))
