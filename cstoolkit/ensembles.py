"""Random measurement ensembles and sparsity bases.

Scalings are chosen so that columns have (expected) unit norm — the convention of the
phase-transition literature — except for the partial orthonormal transforms, whose rows are
orthonormal (‖A‖₂ = 1).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._validation import check_random_state
from .operators import PartialDCT, PartialFourier

__all__ = [
    "gaussian",
    "rademacher",
    "spherical",
    "sparse_random",
    "partial_dct",
    "partial_fourier",
    "measurement_matrix",
    "ENSEMBLES",
]


def _dims(m, n):
    for name, v in (("m", m), ("n", n)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}.")
    return int(m), int(n)


def gaussian(m: int, n: int, *, random_state=None, dtype=np.float64) -> np.ndarray:
    """Gaussian ensemble: i.i.d. N(0, 1/m) entries, shape (m, n) (columns have E‖a_j‖² = 1)."""
    m, n = _dims(m, n)
    rng = check_random_state(random_state)
    return (rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype)


def rademacher(m: int, n: int, *, random_state=None, dtype=np.float64) -> np.ndarray:
    """Rademacher/Bernoulli ensemble: i.i.d. ±1/√m entries, shape (m, n) (unit-norm columns)."""
    m, n = _dims(m, n)
    rng = check_random_state(random_state)
    return ((rng.integers(0, 2, size=(m, n)) * 2 - 1) / np.sqrt(m)).astype(dtype)


def spherical(m: int, n: int, *, random_state=None, dtype=np.float64) -> np.ndarray:
    """Uniform spherical ensemble (USE): columns i.i.d. uniform on the unit sphere of R^m."""
    m, n = _dims(m, n)
    rng = check_random_state(random_state)
    A = rng.standard_normal((m, n))
    A /= np.linalg.norm(A, axis=0, keepdims=True)
    return A.astype(dtype)


def sparse_random(m: int, n: int, *, density: float = 0.1, random_state=None, dtype=np.float64) -> sp.csr_matrix:
    """Sparse random ensemble (Achlioptas / Li et al.): entries ±1/√(m·density) with probability ``density``.

    Columns have E‖a_j‖² = 1. Returned as CSR.
    """
    m, n = _dims(m, n)
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density!r}.")
    rng = check_random_state(random_state)
    mask = rng.random((m, n)) < density
    vals = (rng.integers(0, 2, size=int(mask.sum())) * 2 - 1) / np.sqrt(m * density)
    rows, cols = np.nonzero(mask)
    return sp.csr_matrix((vals.astype(dtype), (rows, cols)), shape=(m, n))


def partial_dct(m: int, n: int, *, random_state=None) -> PartialDCT:
    """m rows of the orthonormal DCT-II matrix chosen uniformly without replacement (fast operator)."""
    m, n = _dims(m, n)
    if m > n:
        raise ValueError(f"partial_dct needs m <= n, got m={m}, n={n}.")
    rng = check_random_state(random_state)
    return PartialDCT(n, np.sort(rng.choice(n, size=m, replace=False)))


def partial_fourier(m: int, n: int, *, random_state=None) -> PartialFourier:
    """m rows of the unitary DFT matrix chosen uniformly without replacement (complex, fast operator)."""
    m, n = _dims(m, n)
    if m > n:
        raise ValueError(f"partial_fourier needs m <= n, got m={m}, n={n}.")
    rng = check_random_state(random_state)
    return PartialFourier(n, np.sort(rng.choice(n, size=m, replace=False)))


ENSEMBLES = {
    "gaussian": gaussian,
    "rademacher": rademacher,
    "bernoulli": rademacher,
    "spherical": spherical,
    "sparse": sparse_random,
    "dct": partial_dct,
    "fourier": partial_fourier,
}


def measurement_matrix(kind: str, m: int, n: int, *, random_state=None, **kwargs):
    """Draw an (m, n) measurement matrix/operator from the ensemble named ``kind``.

    Parameters
    ----------
    kind : {"gaussian", "rademacher", "bernoulli", "spherical", "sparse", "dct", "fourier"}
    m, n : int
    random_state : int, Generator or None
    **kwargs : passed to the ensemble (e.g. ``density`` for "sparse").
    """
    try:
        fn = ENSEMBLES[kind]
    except KeyError:
        raise ValueError(f"unknown ensemble {kind!r}; choose one of {', '.join(ENSEMBLES)}.") from None
    return fn(m, n, random_state=random_state, **kwargs)
