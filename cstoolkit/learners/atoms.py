"""The atoms of a dictionary learner: the initial dictionary, and the replacement of unused or
duplicated atoms (a mixin of :class:`~cstoolkit.learners.base.DictionaryLearner`)."""

from __future__ import annotations

import logging

import numpy as np

from ..rows import ArrayRows, RowSource
from .codes import data_scale

logger = logging.getLogger(__name__)


class AtomsMixin:
    """Initial atoms (``init``) and atom replacement (``dup_threshold``); needs ``_resolve_n_atoms``."""

    # -- initialisation and atom replacement -------------------------------------------
    def _init_dictionary(self, X, rng: np.random.Generator, n_atoms: int | None = None, scale: float = 1.0):
        """Initial atoms as columns, shape (n_features, n_atoms), unit norm.

        ``X`` is an array or a :class:`~cstoolkit.rows.RowSource` of the data; drawn samples are
        divided by ``scale`` (exact, a power of two), so passing ``(X, scale)`` or ``X / scale``
        gives the same atoms.
        """
        N, m = X.shape
        K = self._resolve_n_atoms(m) if n_atoms is None else n_atoms
        init = self.init
        if not isinstance(init, str):
            D0 = np.asarray(init, dtype=X.dtype)
            if D0.shape != (K, m):
                raise ValueError(
                    f"{type(self).__name__}: init has shape {D0.shape}; expected (n_atoms, n_features) = ({K}, {m})."
                )
            if not np.all(np.isfinite(D0)):
                raise ValueError(f"{type(self).__name__}: init contains NaN or Inf.")
            D = D0.T.copy()
            D /= D.dtype.type(data_scale(D))  # a huge or tiny init array is normalised safely
        elif init == "random":
            D = rng.standard_normal((m, K)).astype(X.dtype)
        else:  # "data": distinct non-zero samples drawn at random, topped up with random atoms
            nonzero = as_rows(X).nonzero_rows()  # block by block: no table-sized mask
            take = min(K, nonzero.size)
            rows = rng.choice(nonzero, size=take, replace=False) if take else np.zeros(0, dtype=int)
            D = np.empty((m, K), dtype=X.dtype)
            drawn = X[rows]
            D[:, :take] = (drawn / drawn.dtype.type(scale) if scale != 1.0 else drawn).T
            if take < K:
                logger.info("%s: only %d non-zero samples for %d atoms; the rest start random", type(self).__name__, take, K)
                D[:, take:] = rng.standard_normal((m, K - take))
        norms = np.linalg.norm(D, axis=0)
        bad = norms <= np.finfo(D.dtype).tiny
        if bad.any():
            D[:, bad] = rng.standard_normal((m, int(bad.sum())))
            norms = np.linalg.norm(D, axis=0)
        return D / norms

    @staticmethod
    def _replacement_atoms(Y: np.ndarray, err: np.ndarray, n: int):
        """The ``n`` worst-represented signals (largest residual norm), normalised, as columns.

        ``err`` (B,) is zeroed at the chosen signals so that each is used once.
        Returns ``(atoms (m, n'), chosen indices)`` with ``n' <= n`` (zero signals are skipped).
        """
        order = np.argsort(-err, kind="stable")[: n]
        order = order[err[order] > 0]
        err[order] = 0
        cols = Y[:, order]
        norms = np.linalg.norm(cols, axis=0)
        ok = norms > 0
        return cols[:, ok] / norms[ok], order[ok]

    def _replace_atoms(self, D, Y, err, unused, rng, *, coherence=None):
        """Replace unused atoms and near-duplicates (``|dᵢᵀdⱼ| > dup_threshold``) in place.

        Each replaced atom becomes the normalised worst-represented signal (largest residual
        norm in ``err``), every signal used at most once; when signals run out, a random unit
        vector. Returns the indices of the replaced atoms.
        """
        K = D.shape[1]
        bad = np.zeros(K, dtype=bool)
        bad[unused] = True
        thr = getattr(self, "dup_threshold", None)
        if thr is not None:
            G = np.abs(D.T @ D) if coherence is None else np.abs(coherence)
            G = np.triu(G, 1)
            bad |= (G > thr).any(axis=0)  # the later atom of each near-duplicate pair
        idx = np.flatnonzero(bad)
        if idx.size == 0:
            return idx
        atoms, _ = self._replacement_atoms(Y, err, idx.size)
        n_from_data = atoms.shape[1]
        D[:, idx[:n_from_data]] = atoms
        if n_from_data < idx.size:
            R = rng.standard_normal((D.shape[0], idx.size - n_from_data)).astype(D.dtype)
            D[:, idx[n_from_data:]] = R / np.linalg.norm(R, axis=0)
        logger.debug("%s: replaced %d atoms", type(self).__name__, idx.size)
        return idx


def as_rows(X) -> RowSource:
    """A row source over ``X`` (itself if it is one, or anything with ``nonzero_rows``)."""
    return X if isinstance(X, RowSource) or hasattr(X, "nonzero_rows") else ArrayRows(X, where="X")
