r"""Compression of embedding matrices at an honest byte budget, and quality beyond Frobenius.

A compressed matrix :math:`\hat X \approx X` (``X`` of shape (n_rows, n_features), one
embedding per row) is judged by

* **bytes**, counted honestly: every stored value, every stored index, row pointers when the
  number of entries per row varies, and the dictionary or factor that decoding needs;
* **relative Frobenius error** :math:`\|X - \hat X\|_F / \|X\|_F`;
* **cosine preservation**: the mean over rows of :math:`\cos(x_i, \hat x_i)`;
* **nearest-neighbour overlap**: for a fixed, seeded sample of query rows, the fraction of
  the top-10 neighbours by cosine similarity (among all rows, the query itself excluded) that
  are the same before and after compression.

Byte accounting (``v`` bytes per value, 4 for float32; an index into ``n`` positions takes
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
                       (value, atom index) pairs per row, coded by OMP
=====================  ==================================================================

:func:`compress` picks the largest parameter (``k``, ``z`` or ``r``) whose storage fits the
budget; :func:`evaluate_at_budget` returns a :class:`CompressionRecord` from which an
error-versus-bytes curve is drawn.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import asdict, dataclass, field

import numpy as np

from ._validation import check_random_state
from .sparsify import keep_largest, soft_threshold, svd_truncate

__all__ = [
    "METHODS",
    "CompressionRecord",
    "index_bytes",
    "storage_for",
    "relative_frobenius_error",
    "cosine_preservation",
    "neighbour_overlap",
    "compression_quality",
    "compress",
    "evaluate_at_budget",
]

logger = logging.getLogger(__name__)

METHODS = ("keep_largest", "hard_threshold", "soft_threshold", "svd", "dictionary")
_PTR_BYTES = 4


def index_bytes(n: int) -> int:
    """Bytes of the smallest unsigned integer that indexes ``n`` positions (1, 2, 4 or 8)."""
    for b in (1, 2, 4):
        if n <= 256**b:
            return b
    return 8


def storage_for(method, shape, param, *, value_bytes=4, n_atoms=None):
    """Bytes a method stores for an (N, m) matrix with parameter ``param`` (see module table).

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    shape : tuple (N, m)
    param : int
        ``k`` per row (keep_largest, dictionary), ``z`` entries (thresholding) or rank ``r`` (svd).
    value_bytes : int or float, default=4
    n_atoms : int, optional
        Dictionary size ``K`` (required for "dictionary").

    Returns
    -------
    int or float
    """
    N, m = shape
    v = value_bytes
    if method == "keep_largest":
        return N * param * (v + index_bytes(m))
    if method in ("hard_threshold", "soft_threshold"):
        return param * (v + index_bytes(m)) + _PTR_BYTES * (N + 1)
    if method == "svd":
        return (N + m) * param * v
    if method == "dictionary":
        if n_atoms is None:
            raise ValueError("storage_for('dictionary', ...) needs n_atoms.")
        return n_atoms * m * v + N * param * (v + index_bytes(n_atoms))
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}.")


# ---------------------------------------------------------------------------------------------
# quality
# ---------------------------------------------------------------------------------------------
def _pair(X, X_hat):
    X = np.asarray(X)
    X_hat = np.asarray(X_hat.toarray() if hasattr(X_hat, "toarray") else X_hat)
    if X.ndim != 2 or X.shape != X_hat.shape:
        raise ValueError(f"X {X.shape} and X_hat {X_hat.shape} must be 2-D arrays of the same shape.")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(X_hat))):
        raise ValueError("X or X_hat contains NaN or Inf.")
    return X, X_hat


def relative_frobenius_error(X, X_hat) -> float:
    r""":math:`\|X - \hat X\|_F / \|X\|_F` (accumulated in float64).

    Parameters
    ----------
    X, X_hat : array_like, shape (N, m)

    Returns
    -------
    float
    """
    X, X_hat = _pair(X, X_hat)
    num = np.einsum("ij,ij->", X - X_hat, X - X_hat, dtype=np.float64)
    den = np.einsum("ij,ij->", X, X, dtype=np.float64)
    return float(np.sqrt(num / den)) if den > 0 else float(np.sqrt(num))


def _unit_rows(X):
    X = np.asarray(X, dtype=np.float64) if X.dtype != np.float32 else X
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, n, out=np.zeros_like(X), where=n > 0)


def cosine_preservation(X, X_hat) -> float:
    r"""Mean cosine similarity between each row and its reconstruction.

    .. math::

        \frac1N\sum_i \frac{x_i^\top \hat x_i}{\|x_i\|\,\|\hat x_i\|}

    (a zero row or reconstruction counts as cosine 0).

    Parameters
    ----------
    X, X_hat : array_like, shape (N, m)

    Returns
    -------
    float in [-1, 1]
    """
    X, X_hat = _pair(X, X_hat)
    return float(np.mean(np.sum(_unit_rows(X).astype(np.float64) * _unit_rows(X_hat), axis=1)))


def _top_neighbours(U, queries, k, chunk=256):
    """Indices (Q, k) of the k rows of U most cosine-similar to rows ``queries`` (self excluded)."""
    out = np.empty((queries.size, k), dtype=np.int64)
    for s in range(0, queries.size, chunk):  # chunks bound memory (Q × N similarities)
        q = queries[s: s + chunk]
        sims = U[q] @ U.T
        sims[np.arange(q.size), q] = -np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[s: s + chunk] = part
    return out


def neighbour_overlap(X, X_hat, *, n_queries=1000, n_neighbors=10, random_state=0) -> float:
    r"""Mean overlap of the cosine nearest neighbours before and after compression.

    For a fixed seeded sample :math:`Q` of query rows,

    .. math::

        \frac{1}{|Q|}\sum_{q \in Q} \frac{|N_k(q; X) \cap N_k(q; \hat X)|}{k},

    where :math:`N_k(q; X)` are the ``k`` rows of ``X`` (other than ``q``) with the largest
    cosine similarity to row ``q`` of ``X``, and likewise within :math:`\hat X`.

    Parameters
    ----------
    X, X_hat : array_like, shape (N, m)
    n_queries : int, default=1000
        Query rows, drawn without replacement (all rows if ``N`` is smaller).
    n_neighbors : int, default=10
    random_state : int or Generator, default=0
        The same seed gives the same queries for every method compared.

    Returns
    -------
    float in [0, 1]
    """
    X, X_hat = _pair(X, X_hat)
    N = X.shape[0]
    if not 1 <= n_neighbors < N:
        raise ValueError(f"n_neighbors={n_neighbors} must be in [1, n_rows - 1] = [1, {N - 1}].")
    rng = check_random_state(random_state)
    q = np.sort(rng.choice(N, size=min(n_queries, N), replace=False))
    A = _top_neighbours(_unit_rows(X), q, n_neighbors)
    B = _top_neighbours(_unit_rows(X_hat), q, n_neighbors)
    common = (A[:, :, None] == B[:, None, :]).any(axis=2).sum(axis=1)
    return float(np.mean(common / n_neighbors))


def compression_quality(X, X_hat, *, n_queries=1000, n_neighbors=10, random_state=0) -> dict:
    """``{"rel_frobenius", "mean_cosine", "nn_overlap"}`` of a reconstruction (see the functions)."""
    return {
        "rel_frobenius": relative_frobenius_error(X, X_hat),
        "mean_cosine": cosine_preservation(X, X_hat),
        "nn_overlap": neighbour_overlap(X, X_hat, n_queries=n_queries, n_neighbors=n_neighbors,
                                        random_state=random_state),
    }


# ---------------------------------------------------------------------------------------------
# compression at a budget
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompressionRecord:
    """One point of an error-versus-bytes curve.

    Attributes
    ----------
    method : str
    budget_bytes : float
        The budget asked for.
    bytes : float
        Bytes actually stored (``<= budget_bytes``).
    rel_frobenius, mean_cosine, nn_overlap : float
        See :func:`compression_quality`.
    params : dict
        The parameter chosen to fit the budget (``k``, ``z``, ``rank``, ``lam``, ``n_atoms``).
    """

    method: str
    budget_bytes: float
    bytes: float
    rel_frobenius: float
    mean_cosine: float
    nn_overlap: float
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return asdict(self)


def _largest_fitting(method, shape, budget, value_bytes, n_atoms, upper):
    """Largest parameter p in [1, upper] with storage_for(p) <= budget (storage is increasing in p)."""
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if storage_for(method, shape, mid, value_bytes=value_bytes, n_atoms=n_atoms) <= budget:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        need = storage_for(method, shape, 1, value_bytes=value_bytes, n_atoms=n_atoms)
        raise ValueError(f"a budget of {budget} bytes is too small for {method!r} on a {shape[0]}x{shape[1]} matrix: "
                         f"the smallest setting needs {need} bytes.")
    return lo


def _dictionary_atoms(dictionary):
    W = getattr(dictionary, "components_", dictionary)
    W = np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"dictionary must be (n_atoms, n_features) or a fitted learner; got shape {W.shape}.")
    return W


def compress(X, method, budget_bytes, *, value_bytes=4, dictionary=None, random_state=0):
    """Compress the rows of ``X`` with ``method`` into at most ``budget_bytes`` bytes.

    Parameters
    ----------
    X : array_like, shape (N, m)
    method : {"keep_largest", "hard_threshold", "soft_threshold", "svd", "dictionary"}
        See the module table.
    budget_bytes : int or float
        Byte budget (payload, counted as in :func:`storage_for`).
    value_bytes : int or float, default=4
        Bytes per stored value (4: float32).
    dictionary : ndarray (n_atoms, m) or fitted learner, optional
        Atoms as rows (e.g. ``learner.components_``); required for "dictionary". Rows are coded
        by OMP with as many atoms as fit the budget (the dictionary's own bytes included).
    random_state : int, default=0
        Seed of the randomised SVD.

    Returns
    -------
    X_hat : ndarray, shape (N, m)
        The decoded approximation.
    bytes : int or float
        Bytes stored.
    params : dict
        The parameter that fits the budget (and λ for soft thresholding).
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "fiu":
        raise ValueError(f"X must be a real 2-D array (n_rows, n_features); got shape {X.shape}, dtype {X.dtype}.")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or Inf.")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}.")
    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, numbers.Real) or not budget_bytes > 0:
        raise ValueError(f"budget_bytes must be a positive number; got {budget_bytes!r}.")
    N, m = X.shape
    shape = (N, m)
    if method == "keep_largest":
        k = _largest_fitting(method, shape, budget_bytes, value_bytes, None, m)
        X_hat = keep_largest(X, k, axis=1).toarray()
        params = {"k": k}
    elif method in ("hard_threshold", "soft_threshold"):
        z = _largest_fitting(method, shape, budget_bytes, value_bytes, None, N * m)
        mag = np.abs(X).ravel()
        if z >= mag.size:
            lam = 0.0
        else:
            lam = float(np.partition(mag, mag.size - z - 1)[mag.size - z - 1])  # (z+1)-th largest
        if method == "soft_threshold":
            X_hat = np.asarray(soft_threshold(X, lam))
        else:
            X_hat = keep_largest(X, z, axis=None).toarray()
        params = {"z": z, "lam": lam}
        z = int(np.count_nonzero(X_hat))  # ties at λ can only remove entries
        params["z"] = z
    elif method == "svd":
        r = _largest_fitting(method, shape, budget_bytes, value_bytes, None, min(N, m))
        X_hat = svd_truncate(X, r, random_state=random_state).reconstruct()
        params = {"rank": r}
    else:
        if dictionary is None:
            raise ValueError("method 'dictionary' needs dictionary= (atoms as rows, or a fitted learner).")
        from .rows import default_block_rows
        from .solvers.greedy import omp_batch

        W = _dictionary_atoms(dictionary).astype(X.dtype if X.dtype == np.float32 else np.float64)
        if W.shape[1] != m:
            raise ValueError(f"dictionary has {W.shape[1]} features but X has {m}.")
        K = W.shape[0]
        k = _largest_fitting(method, shape, budget_bytes, value_bytes, K, min(K, m))
        D = np.ascontiguousarray(W.T)
        G = D.T @ D
        # rows coded a block at a time (codes of a row do not depend on the block): no dense
        # (n_atoms, N) code matrix and no converted copy of X; float32 input stays float32
        X_hat = np.empty((N, m), dtype=D.dtype)
        step = default_block_rows(K, D.dtype.itemsize)
        for s in range(0, N, step):
            Xb = np.asarray(X[s: s + step], dtype=D.dtype)
            C, _, _ = omp_batch(D, Xb.T, k, gram=G)
            X_hat[s: s + step] = (D @ C).T
        params = {"k": k, "n_atoms": K}
    key = params.get("k", params.get("z", params.get("rank")))
    used = storage_for(method, shape, key, value_bytes=value_bytes, n_atoms=params.get("n_atoms"))
    return np.ascontiguousarray(X_hat), used, params


def evaluate_at_budget(X, method, budget_bytes, *, value_bytes=4, dictionary=None, n_queries=1000,
                       n_neighbors=10, random_state=0) -> CompressionRecord:
    """Compress ``X`` with ``method`` at ``budget_bytes`` and measure the result.

    Parameters
    ----------
    X : array_like, shape (N, m)
    method, budget_bytes, value_bytes, dictionary
        As in :func:`compress`.
    n_queries, n_neighbors, random_state
        As in :func:`neighbour_overlap` (the same seed for every method compared).

    Returns
    -------
    CompressionRecord
    """
    X_hat, used, params = compress(X, method, budget_bytes, value_bytes=value_bytes, dictionary=dictionary,
                                   random_state=random_state)
    q = compression_quality(X, X_hat, n_queries=n_queries, n_neighbors=n_neighbors, random_state=random_state)
    return CompressionRecord(method=method, budget_bytes=float(budget_bytes), bytes=float(used), params=params, **q)
