r"""Quality of a compressed matrix beyond its bytes: Frobenius error, cosine and neighbour preservation.

A compressed matrix :math:`\hat X \approx X` (``X`` of shape (n_rows, n_features), one
embedding per row) is judged by

* **relative Frobenius error** :math:`\|X - \hat X\|_F / \|X\|_F`;
* **cosine preservation**: the mean over rows of :math:`\cos(x_i, \hat x_i)`;
* **nearest-neighbour overlap**: for a fixed, seeded sample of query rows, the fraction of
  the top-10 neighbours by cosine similarity (among all rows, the query itself excluded) that
  are the same before and after compression.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_random_state

__all__ = ["relative_frobenius_error", "cosine_preservation", "neighbour_overlap", "compression_quality"]


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
