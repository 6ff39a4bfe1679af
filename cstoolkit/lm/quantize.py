"""GGUF block quantisation of a matrix's rows as a compression baseline (Q8_0, Q4_0, Q4_1).

Each row is cut into blocks of 32 values; a block stores one float16 scale ``d`` (and, for
Q4_1, a float16 minimum ``m``) plus 8- or 4-bit integers: Q8_0 ``x ≈ d q`` (34 bytes per
block), Q4_0 ``x ≈ d (q - 8)`` (18 bytes), Q4_1 ``x ≈ d q + m`` (20 bytes). The codes come from
:func:`gguf.quants.quantize` — the ``gguf`` package's numpy port of llama.cpp's reference
quantisers — and are decoded with :func:`gguf.quants.dequantize`, so the bytes counted here are
the bytes a GGUF file would hold.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FORMATS", "bytes_per_row", "quantize_rows"]

#: supported formats → (values per block, bytes per block)
FORMATS = {"q8_0": (32, 34), "q4_1": (32, 20), "q4_0": (32, 18)}


def _qtype(fmt):
    import gguf

    if fmt not in FORMATS:
        raise ValueError(f"unknown quantisation format {fmt!r}; expected one of {sorted(FORMATS)}.")
    return getattr(gguf.GGMLQuantizationType, fmt.upper())


def bytes_per_row(fmt: str, n_features: int) -> float:
    """Bytes one row of ``n_features`` values takes in ``fmt`` (``n_features`` a multiple of 32)."""
    _qtype(fmt)  # validates the name
    per, size = FORMATS[fmt]
    if n_features % per:
        raise ValueError(f"{fmt} needs rows of a multiple of {per} values; got {n_features}.")
    return n_features // per * size


def quantize_rows(X, fmt: str) -> tuple[np.ndarray, float]:
    """Quantise and decode ``X`` row-wise in a GGUF block format.

    Parameters
    ----------
    X : ndarray, shape (N, m), m a multiple of 32
    fmt : {"q8_0", "q4_1", "q4_0"}

    Returns
    -------
    X_hat : ndarray, shape (N, m), float32
        The decoded matrix.
    bytes : float
        Bytes stored, ``N * bytes_per_row(fmt, m)``.
    """
    import gguf

    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind != "f":
        raise ValueError(f"X must be a real 2-D float array; got {X.dtype}{X.shape}.")
    qt = _qtype(fmt)
    b = bytes_per_row(fmt, X.shape[1])
    q = gguf.quants.quantize(np.ascontiguousarray(X, dtype=np.float32), qt)
    return np.ascontiguousarray(gguf.quants.dequantize(q, qt), dtype=np.float32).reshape(X.shape), float(b * X.shape[0])
