"""Sparsification operations and sparsity measures for language-model matrices.

The matrices in mind are embedding tables and weight matrices (tens of thousands of rows,
a few hundred columns), but every function works on any real or complex array.

Operations
----------
:func:`soft_threshold`, :func:`hard_threshold`
    Entrywise shrinkage / selection by magnitude (the proximal operators of the ℓ1 norm and,
    for hard thresholding, of the ℓ0 penalty).
:func:`keep_largest`, :func:`threshold_to_density`
    Keep the ``k`` largest-magnitude entries overall, per row or per column.
:func:`svd_truncate`
    Best rank-``r`` approximation (Eckart–Young), returned as :class:`LowRankFactors`.

Measures
--------
:func:`nonzero_ratio`, :func:`sparsity`, :func:`sparsity_index` (a clustering measure of the
non-zero pattern), :func:`hoyer_sparsity`, :func:`gini_index`. The bytes a dense, sparse or
low-rank matrix takes, :func:`storage_bytes`, live with the compression methods
(:mod:`cstoolkit.compression.storage`) and are re-exported here.

Conventions
-----------
* **Sparse output is always** :class:`scipy.sparse.csr_array` (never ``csr_matrix``), in
  canonical format (sorted indices, no duplicates, no explicit zeros). Note that ``*`` on a
  ``csr_array`` is the *elementwise* product; use ``@`` for the matrix product.
* Sparse input may be any ``scipy.sparse`` matrix or array (CSR, CSC, COO, ...); it is
  converted to CSR internally, duplicate entries are summed first (as scipy defines the value
  of a matrix with duplicates), and the input is never modified.
* Dense input is any array_like of booleans, integers, floats or complex numbers.

Layout
------
:mod:`.operations` (thresholding and top-k), :mod:`.low_rank` (:class:`LowRankFactors`,
:func:`svd_truncate`), :mod:`.measures` (sparsity indices); the CSR helpers they share in
``_sparse.py``. Every public name is re-exported here.
"""

from .low_rank import LowRankFactors, svd_truncate
from .measures import gini_index, hoyer_sparsity, nonzero_ratio, sparsity, sparsity_index
from .operations import hard_threshold, keep_largest, soft_threshold, threshold_to_density

__all__ = [
    "soft_threshold",
    "hard_threshold",
    "keep_largest",
    "threshold_to_density",
    "LowRankFactors",
    "svd_truncate",
    "nonzero_ratio",
    "sparsity",
    "sparsity_index",
    "hoyer_sparsity",
    "gini_index",
    "storage_bytes",
]


def __getattr__(name):
    # storage accounting moved next to the compression methods (cstoolkit.compression.storage);
    # re-exported here lazily, so that importing sparsify does not import the compression package
    if name == "storage_bytes":
        from ..compression.storage import storage_bytes

        return storage_bytes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
