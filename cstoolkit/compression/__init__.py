r"""Compression of embedding matrices at an honest byte budget, and quality beyond Frobenius.

A compressed matrix :math:`\hat X \approx X` (``X`` of shape (n_rows, n_features), one
embedding per row) is judged by its **bytes**, counted honestly — every stored value, every
stored index, row pointers when the number of entries per row varies, and the dictionary or
factor that decoding needs — and by its quality (:mod:`cstoolkit.compression.quality`:
relative Frobenius error, cosine preservation, nearest-neighbour overlap).

Each method is a small class registered by name (:mod:`cstoolkit.compression.methods`;
:func:`available_compression_methods`), holding its compression and its byte rule
(``v`` bytes per value, 4 for float32; an index into ``n`` positions takes
:func:`index_bytes` ``(n)`` = 1, 2 or 4 bytes; a row pointer 4 bytes):

=====================  ==================================================================
method                 bytes
=====================  ==================================================================
``"keep_largest"``     :math:`N k (v + i_m)` — ``k`` largest entries per row, fixed ``k``
                       so no row pointers (:func:`cstoolkit.sparsify.keep_largest`)
``"hard_threshold"``   :math:`z (v + i_m) + 4 (N + 1)` — the ``z`` largest entries of the
                       whole matrix, CSR
``"soft_threshold"``   :math:`z (v + i_m) + 4 (N + 1)` — soft thresholding with the λ
                       that leaves ``z`` entries (:func:`cstoolkit.sparsify.soft_threshold`)
``"svd"``              :math:`(N + m) r v` — rank-``r`` factors (:func:`cstoolkit.sparsify.svd_truncate`)
``"dictionary"``       :math:`K m v + N k (v + i_K)` — a ``K``-atom dictionary plus ``k``
                       (value, atom index) pairs per row, coded by any coder (OMP by default)
                       through its Gram hook
=====================  ==================================================================

:func:`compress` picks the largest parameter (``k``, ``z`` or ``r``) whose storage fits the
budget; :func:`evaluate_at_budget` returns a :class:`CompressionRecord` from which an
error-versus-bytes curve is drawn. :func:`storage_bytes` (:mod:`cstoolkit.compression.storage`)
counts an actual dense, sparse or low-rank object by the same conventions.
"""

from .methods import (COMPRESSION_METHODS, CompressionMethod, CompressionRecord, DictionaryCoding, HardThreshold,
                      KeepLargest, SoftThreshold, TruncatedSVD, available_compression_methods, compress,
                      evaluate_at_budget, register_compression_method, storage_for)
from .quality import compression_quality, cosine_preservation, neighbour_overlap, relative_frobenius_error
from .storage import index_bytes, storage_bytes

#: the registered method names (as :func:`available_compression_methods`)
METHODS = tuple(available_compression_methods())

__all__ = [
    "METHODS",
    "COMPRESSION_METHODS",
    "register_compression_method",
    "available_compression_methods",
    "CompressionMethod",
    "KeepLargest",
    "HardThreshold",
    "SoftThreshold",
    "TruncatedSVD",
    "DictionaryCoding",
    "CompressionRecord",
    "index_bytes",
    "storage_for",
    "storage_bytes",
    "relative_frobenius_error",
    "cosine_preservation",
    "neighbour_overlap",
    "compression_quality",
    "compress",
    "evaluate_at_budget",
]
