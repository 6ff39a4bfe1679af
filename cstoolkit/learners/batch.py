"""The batch dictionary learner: alternating minimisation over the whole training set (K-SVD, MOD)."""

from __future__ import annotations

import abc
import logging
import time

import numpy as np

from .base import DictionaryLearner, _seed, data_scale
from .codes import SparseCodes, code_signals, fit_error_sq

__all__ = ["BatchDictionaryLearner"]

logger = logging.getLogger(__name__)


class BatchDictionaryLearner(DictionaryLearner):
    """Alternating minimisation over the whole training set (K-SVD, MOD).

    Each iteration codes every sample through the coder's Gram hook
    (``coder.recover_gram(W Wᵀ, W Xᵀ, ...)``: Batch-OMP for :class:`~cstoolkit.OMP`),
    then calls the subclass hook ``_update_dictionary(X, W, codes, rng) -> failed atoms``
    which updates the atoms ``W`` (K, m) in place (and, for K-SVD, the code values).
    Atoms that failed, were used by fewer than ``min_usage`` samples or duplicate an earlier
    atom are then replaced (see ``_replace_atoms``).
    """

    def fit(self, X, y=None):
        """Learn the dictionary from the rows of ``X``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Training samples (float32 is kept; other dtypes are computed in float64).
        y : ignored

        Returns
        -------
        self
            With ``components_`` (n_atoms, n_features) of unit-norm rows, ``n_iter_`` and
            ``history_`` (arrays of length ``n_iter_``, keys :data:`~cstoolkit.learners.base.LEARNER_HISTORY_KEYS`:
            the coding ``"objective"``, then after the dictionary update ``"residual_norm"``
            (root mean square over the samples of ‖x_i − Wᵀc_i‖) and ``"relative_residual"``
            = ‖X − C W‖_F/‖X‖_F, ``"mean_nnz"`` and cumulative ``"time"`` in seconds,
            callback time excluded).
        """
        self._validate_hyperparams()
        X = self._check_X(X, reset=True)
        rng = _seed(self.random_state)
        K = self._resolve_n_atoms(X.shape[1])
        coder = self._make_coder()
        self._check_coder_budget(coder, K, X.shape[1])
        scale = data_scale(X)
        X = X / X.dtype.type(scale)  # exact (a power of two); see data_scale
        W = np.ascontiguousarray(self._init_dictionary(X, rng, K).T)
        self.components_ = W
        xx = float(np.einsum("ij,ij->", X, X, dtype=np.float64))
        xx = xx if xx > 0 else 1.0
        hist = self._new_history()
        cbs = self._begin_callbacks(X)
        t0 = time.perf_counter()
        prev = np.inf
        self.n_iter_ = 0
        for it in range(1, self.max_iter + 1):
            S, obj, r = code_signals(coder, W.T, X.T, scale, gram=W @ W.T)
            codes = SparseCodes.from_dense(S)
            del S
            failed = self._update_dictionary(X, W, codes, rng)
            usage = np.bincount(codes.idx[codes.val != 0], minlength=K)
            bad = np.union1d(np.asarray(failed, dtype=np.int64), np.flatnonzero(usage < self.min_usage))
            err = np.linalg.norm(X - codes.reconstruct(W), axis=1).astype(np.float64)
            replaced = self._replace_atoms(W.T, X.T, err, bad, rng)
            if replaced.size:  # their coefficients are stale: drop them so the recorded error is exact
                codes.val[np.isin(codes.idx, replaced)] = 0
            CtC, CtX = codes.gram_stats(X)
            res_sq = fit_error_sq(xx, W, CtC, CtX)
            rel = self._record(hist, time.perf_counter() - t0, np.mean(obj), res_sq, xx, X.shape[0],
                               np.count_nonzero(codes.val), scale)
            self.n_iter_ = it
            logger.debug("%s it %d: objective %.6g relative residual %.6g", type(self).__name__, it,
                         hist["objective"][-1], rel)
            if cbs:
                tc = time.perf_counter()
                if replaced.size:  # (err was taken before the stale coefficients were dropped)
                    err = np.linalg.norm(X - codes.reconstruct(W), axis=1).astype(np.float64)
                stop = self._step_callbacks(cbs, it, obj, err, scale)
                t0 += time.perf_counter() - tc
                if stop:
                    break
            if self.tol > 0 and 0 <= prev - rel < self.tol * prev:
                break
            prev = rel
        self._finish_history(hist)
        self._end_callbacks(cbs)
        return self

    @abc.abstractmethod
    def _update_dictionary(self, X, W, codes, rng):
        """Update the dictionary ``W`` in place from the codes of ``X``; return the atoms that failed."""
