r"""Shared machinery of the dictionary learners: parameters, input checks, the coding step.

Conventions (read this once; every learner follows it)
-------------------------------------------------------
Learners follow **scikit-learn's row convention**: ``X`` has shape ``(n_samples, n_features)``,
one sample per row; ``components_`` has shape ``(n_atoms, n_features)``, one unit-norm atom per
row; ``transform(X)`` returns codes ``C`` of shape ``(n_samples, n_atoms)`` with

.. math::

    X \approx C\,\mathrm{components\_}.

Recoverers use the **column convention** ``y ≈ A s`` with signals as columns. The two meet as

=====================================  =====================================
learner (rows are samples)             recoverer (columns are signals)
=====================================  =====================================
``X`` (n_samples, n_features)          ``Y = X.T`` (m = n_features, B = n_samples)
``components_`` (n_atoms, n_features)  ``A = D = components_.T`` (m, n = n_atoms)
``C = transform(X)`` (n_samples, K)    ``S = coder.recover(D, X.T).coef`` = ``C.T``
=====================================  =====================================

so the coding step is one batched call ``coder.recover(components_.T, X.T)`` and
``learner.as_basis()`` (= ``components_.T``) is the ``basis=`` argument of
:meth:`cstoolkit.base.Recoverer.recover`.

Objective recorded in ``history_["objective"]``: the coder's own objective averaged over the
samples it coded, :math:`\frac1N\sum_i \tfrac12\|x_i - D c_i\|^2 + \lambda R(c_i)` (``R = 0`` for
greedy coders such as OMP), evaluated right after the coding step of each iteration.
"""

from __future__ import annotations

import abc
import logging
import time
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.utils.metadata_routing import UNUSED
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_array, validate_data

from .._validation import InstanceOf, Interval, Options, check_random_state, validate_params
from ..base import Recoverer
from ..rows import ArrayRows, RowSource, default_block_rows

__all__ = ["DictionaryLearner", "data_scale"]

logger = logging.getLogger(__name__)

#: history keys every learner records, one entry per iteration (mini-batch for online learning)
LEARNER_HISTORY_KEYS = ("objective", "rel_error", "mean_nnz", "time")

#: ``transform(..., sparse_output="auto")`` returns CSR when the dense codes would take more
#: than this many bytes (128 MiB: 262,144 rows × 1024 atoms in float32 is 1 GiB dense but
#: 32 MiB as CSR with 16 non-zeros per row; MiniLM's 30,522 × 1024 stays dense)
DENSE_CODES_BYTES = 1 << 27
#: bytes of one block of dense codes (n_atoms × rows) that ``transform`` holds at a time
CODE_BLOCK_BYTES = 32 << 20


def data_scale(X) -> float:
    """The power of two ``s`` with ``max|X| / s`` in [1/2, 1) (1.0 for ``X = 0``).

    ``X`` is an array or a :class:`~cstoolkit.rows.RowSource` (scanned one block at a time);
    ``max|X|`` is taken as ``max(max X, −min X)``, so no table-sized ``|X|`` is allocated.

    Every learner works on ``X / s`` internally: dividing by a power of two is exact, so the
    result for ``c·X`` is ``c`` times the result for ``X`` bit for bit when ``c`` is a power of
    two (and to rounding otherwise), and no squared norm, Gram matrix or running statistic can
    overflow or underflow whatever the magnitude of the data (float32 at 1e30, float64 at 1e300).
    """
    if isinstance(X, RowSource):
        amax = X.max_abs()
    else:
        amax = max(float(np.max(X)), -float(np.min(X))) if X.size else 0.0
    if not amax > 0 or not np.isfinite(amax):
        return 1.0
    _, e = np.frexp(amax)
    return float(np.ldexp(1.0, int(e)))


class DictionaryLearner(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, abc.ABC):
    """Base class of the dictionary learners (K-SVD, MOD, online): scikit-learn transformers.

    A subclass's ``__init__`` takes keyword-only hyperparameters, each with a default, and
    stores them unchanged (nothing else: scikit-learn's ``clone``/``get_params``/``set_params``
    rely on it). Hyperparameters are validated in ``fit`` / ``partial_fit`` against the class's
    ``_parameter_constraints``, and the data by scikit-learn's ``validate_data`` (which sets
    ``n_features_in_``, and ``feature_names_in_`` for a DataFrame). Subclasses implement ``fit``
    (and the online learner ``partial_fit``); the base class gives ``transform``,
    ``inverse_transform``, ``fit_transform``, ``as_basis``, ``get_feature_names_out``, the
    initialisation of the dictionary, the sparse-coding step through the coder object and the
    replacement of unused or duplicated atoms. Fitted state ends in ``_``; before ``fit``
    every method that needs it raises :class:`sklearn.exceptions.NotFittedError`.

    Scale: the learners code and update on ``X / data_scale(X)`` (see :func:`data_scale`),
    so with a scale-equivariant coder (OMP with a fixed number of atoms, the default) fitting
    ``c·X`` gives the same atoms and ``c`` times the codes, over the whole floating-point range.
    A coder other than OMP is always called on the data as given (its ``lam`` or ``tol`` keep
    their meaning in the units of ``X``).

    See the module docstring of :mod:`cstoolkit.learners._base` for the row/column
    convention.
    """

    name: ClassVar[str] = ""
    #: True when the dictionary update alone can never increase ½‖X − C W‖_F² for the codes of
    #: that iteration (read by the conformance suite, which then checks it every iteration)
    update_decreases_objective: ClassVar[bool] = False
    # sparse_output / block_rows are output options, not metadata: no set_transform_request method
    __metadata_request__transform = {"sparse_output": UNUSED, "block_rows": UNUSED}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # accepted and densified (the atoms are dense anyway)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        """Number of output features (atoms), for ``get_feature_names_out``."""
        return self.components_.shape[0]

    # -- parameters ---------------------------------------------------------------------
    def _validate_hyperparams(self) -> None:
        """Check every hyperparameter; called at the start of ``fit`` / ``partial_fit``."""
        owner = type(self).__name__
        validate_params(owner, self.get_params(deep=False), self._parameter_constraints)
        init = self.init
        if not isinstance(init, str):
            arr = np.asarray(init)
            if arr.ndim != 2 or arr.dtype.kind not in "biuf":
                raise ValueError(
                    f"{owner}: init must be 'data', 'random' or a real array of shape "
                    f"(n_atoms, n_features); got {type(init).__name__} of shape {arr.shape}."
                )
            if self.n_atoms is not None and arr.shape[0] != self.n_atoms:
                raise ValueError(
                    f"{owner}: init has {arr.shape[0]} atoms (rows) but n_atoms={self.n_atoms}; "
                    "pass an array of shape (n_atoms, n_features)."
                )

    def _resolve_n_atoms(self, n_features: int) -> int:
        """``n_atoms``, or (None) the rows of an ``init`` array, else ``n_features``."""
        if self.n_atoms is not None:
            return int(self.n_atoms)
        if not isinstance(self.init, str):
            return int(np.asarray(self.init).shape[0])
        return int(n_features)

    def clone(self):
        """A new unfitted instance with the same parameters (:func:`sklearn.base.clone`)."""
        return clone(self)

    # -- input checks ------------------------------------------------------------------
    def _check_X(self, X, *, reset: bool, rows: bool = False):
        """2-D finite real array (float32 kept, everything else float64), densified.

        ``reset=True`` (fit) records ``n_features_in_``; ``reset=False`` checks X against it.
        ``rows=True``: also accept a :class:`~cstoolkit.rows.RowSource` and return a row
        source (an :class:`~cstoolkit.rows.ArrayRows` over a checked array) — its blocks are
        checked finite as they are read, nothing of it is read here.
        """
        owner = type(self).__name__
        if not reset:
            self._check_fitted()
        if isinstance(X, RowSource):
            if not rows:
                raise TypeError(f"{owner}: this method needs an array; a RowSource is accepted by fit/transform")
            if reset:
                self.n_features_in_ = X.shape[1]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif X.shape[1] != self.n_features_in_:
                raise ValueError(f"{owner}: X has {X.shape[1]} features, but {owner} is expecting "
                                 f"{self.n_features_in_} features as input.")
            if X.shape[0] < 1 or X.shape[1] < 1:
                raise ValueError(f"{owner}: {X!r} has no rows or no features; expected at least 1 of each.")
            return X
        dtype = getattr(X, "dtype", None)  # (complex lists are caught by validate_data)
        if isinstance(dtype, np.dtype) and dtype.kind == "c":
            raise ValueError(
                f"{owner}: Complex data not supported; the dictionary learners work with real "
                "samples (stack the real and imaginary parts as features if that is meant)."
            )
        X = validate_data(self, X, reset=reset, accept_sparse=("csr", "csc", "coo"), dtype=[np.float64, np.float32],
                          ensure_min_samples=1, ensure_min_features=1)
        if sp.issparse(X):
            X = X.toarray()
        return ArrayRows(X, where="X") if rows else X

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X) first "
                "(or partial_fit for the online learner)."
            )

    # -- the coder ---------------------------------------------------------------------
    def _make_coder(self) -> Recoverer:
        """The coder to call: a fresh copy of ``coder`` (``OMP()`` for None).

        A copy, so that nothing a recoverer keeps on itself during ``recover`` can leak into
        the learner's parameter (scikit-learn's rule that ``fit`` leaves parameters untouched).
        """
        from ..solvers.greedy import OMP

        return OMP() if self.coder is None else clone(self.coder, safe=False)

    def _check_coder_budget(self, coder: Recoverer, n_atoms: int, n_features: int) -> None:
        """Clear errors for a sparsity level the dictionary cannot support."""
        k = getattr(coder, "n_nonzero_coefs", None)
        owner = type(self).__name__
        if k is not None:
            if k > n_atoms:
                raise ValueError(
                    f"{owner}: the coder asks for n_nonzero_coefs={k} atoms per sample but the dictionary "
                    f"has only n_atoms={n_atoms}; lower n_nonzero_coefs or raise n_atoms."
                )
            if k > n_features:
                raise ValueError(
                    f"{owner}: n_nonzero_coefs={k} exceeds n_features={n_features}; a sample of "
                    f"{n_features} features is exactly represented by at most {n_features} atoms."
                )

    @staticmethod
    def _code(coder: Recoverer, D: np.ndarray, Ys: np.ndarray, scale: float, gram=None):
        """Sparse-code the columns of ``Ys`` (m, B), the data divided by ``scale``, over ``D`` (m, K).

        Returns ``(S (K, B) dense, per-signal objective (B,), residual norms (B,))``, all in the
        units of ``Ys`` (the codes of the data itself are ``scale · S``). An
        :class:`~cstoolkit.OMP` coder takes the fast path
        (Batch-OMP with the cached Gram matrix ``gram``) on ``Ys`` directly, which is exact since
        OMP is scale-equivariant; with a residual ``tol``, and for any other recoverer, the
        coder is called on the data as given, ``coder.recover(D, scale · Ys)``. Coefficients of
        rounding size are dropped (see :func:`_drop_rounding_noise`).
        """
        from ..solvers.greedy import OMP, _greedy_budget, omp_batch

        if type(coder) is OMP:
            m, K = D.shape
            k = _greedy_budget(coder.n_nonzero_coefs, coder.tol, m, K, "OMP")
            G = D.T @ D if gram is None else gram
            tol = None if coder.tol is None else coder.tol / scale
            S, res, _ = omp_batch(D, Ys, k, tol=tol, batch_size=coder.batch_size, engine=coder.engine, gram=G)
            r = res[-1]
            _drop_rounding_noise(S, Ys, r)  # (their residuals stay at rounding size)
            return S, 0.5 * r * r, r
        Y = Ys * Ys.dtype.type(scale) if scale != 1.0 else Ys
        result = coder.recover(D, Y)
        S = np.asarray(result.coef)
        if S.ndim == 1:
            S = S[:, None]
        S = S.astype(Ys.dtype, copy=False)
        if scale != 1.0:
            S = S / Ys.dtype.type(scale)
        else:
            S = S.copy()
        r = np.linalg.norm(Ys - D @ S, axis=0)
        cols = _drop_rounding_noise(S, Ys, r)
        if cols.size:
            r[cols] = np.linalg.norm(Ys[:, cols] - D @ S[:, cols], axis=0)
        obj = np.asarray(result.history["objective"], dtype=float)
        if obj.ndim == 1 and Ys.shape[1] == 1 and obj.size:
            obj = obj[:, None]
        if obj.ndim == 2 and obj.shape[0] and obj.shape[1] == Ys.shape[1]:
            obj = obj[-1] / (scale * scale)
        else:
            obj = 0.5 * r * r
        return S, obj, r

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

    # -- public API shared by every learner --------------------------------------------
    def transform(self, X, *, sparse_output=None, block_rows=None):
        """Sparse codes of the rows of ``X`` over the learned atoms, computed block by block.

        Parameters
        ----------
        X : array_like, sparse matrix or RowSource, shape (n_samples, n_features)
            float32 stays float32 (the atoms are cast to it; nothing float64 of table size is
            made); other real dtypes are coded in float64. A
            :class:`~cstoolkit.rows.RowSource` (e.g. :func:`cstoolkit.rows.open_rows`) is read one
            block of rows at a time.
        sparse_output : bool, "auto" or None, default=None
            True: a :class:`scipy.sparse.csr_array`; False: a dense array; ``"auto"``: CSR when
            the dense codes would exceed ``DENSE_CODES_BYTES`` (128 MiB, e.g. 262,144 rows ×
            1024 atoms in float32), else dense. None uses the learner's ``sparse_output``.
        block_rows : int or None, default=None
            Rows coded at a time; None: as many as make a 32 MiB block of dense codes
            (``n_atoms × block_rows``). Codes of one row do not depend on it for OMP (the
            default coder). With CSR output no dense ``n_samples × n_atoms`` array ever exists:
            peak memory is one block plus the CSR arrays.

        Returns
        -------
        codes : ndarray or csr_array, shape (n_samples, n_atoms)
            ``X ≈ codes @ components_``; equal to ``coder.recover(components_.T, X.T).coef.T``
            (computed on ``X / data_scale(X)`` and scaled back for an OMP coder).
        """
        from ..solvers.greedy import OMP

        src = self._check_X(X, reset=False, rows=True)
        coder = self._make_coder()
        K = self.components_.shape[0]
        N, m = src.shape
        self._check_coder_budget(coder, K, m)
        dt = src.dtype
        D = np.ascontiguousarray(self.components_.T, dtype=dt)
        G = D.T @ D if type(coder) is OMP else None  # (K, K) Gram, once for every block
        s = data_scale(src)
        sparse = self.sparse_output if sparse_output is None else sparse_output
        if isinstance(sparse, str):
            if sparse != "auto":
                raise ValueError(f"sparse_output must be True, False, 'auto' or None; got {sparse!r}")
            sparse = N * K * dt.itemsize > DENSE_CODES_BYTES
        if block_rows is None:
            block_rows = default_block_rows(K, dt.itemsize, block_bytes=CODE_BLOCK_BYTES)
        elif isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)) or block_rows < 1:
            raise ValueError(f"block_rows must be a positive integer or None; got {block_rows!r}")
        dense = None if sparse else np.empty((N, K), dtype=dt)
        parts = []
        for start, Xb in src.blocks(int(block_rows)):
            S, _, _ = self._code(coder, D, Xb.T / dt.type(s), s, gram=G)
            if s != 1.0:
                S *= S.dtype.type(s)
            if sparse:
                C = sp.csr_array(S.T)
                C.eliminate_zeros()
                parts.append(C)
            else:
                dense[start: start + Xb.shape[0]] = S.T
            del S
        if not sparse:
            return dense
        if not parts:
            return sp.csr_array((N, K), dtype=dt)
        return sp.csr_array(sp.vstack(parts, format="csr"))

    def fit_transform(self, X, y=None, **kw):
        """``fit(X)`` then ``transform(X, **kw)``; returns codes of shape (n_samples, n_atoms)."""
        return self.fit(X).transform(X, **kw)

    def inverse_transform(self, X):
        """Reconstruct samples from codes: ``X @ components_``.

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix, shape (n_samples, n_atoms)
            Codes, as returned by ``transform`` (scikit-learn names this argument ``X``).

        Returns
        -------
        X_hat : ndarray, shape (n_samples, n_features)
        """
        self._check_fitted()
        K = self.components_.shape[0]
        codes = check_array(X, accept_sparse=("csr", "csc", "coo"), dtype=[np.float64, np.float32], input_name="codes")
        if codes.shape[1] != K:
            raise ValueError(f"codes has shape {codes.shape}; expected (n_samples, {K}) (one column per atom).")
        return np.asarray(codes @ self.components_)

    def as_basis(self) -> np.ndarray:
        """The learned dictionary in the recoverers' column convention, shape (n_features, n_atoms).

        Pass it as ``basis=`` to :meth:`cstoolkit.base.Recoverer.recover`:
        ``cs.OMP(n_nonzero_coefs=k).recover(A, A @ x, basis=learner.as_basis())`` recovers a
        signal ``x ≈ D s`` measured by ``A``.
        """
        self._check_fitted()
        return np.ascontiguousarray(self.components_.T)

    # -- bookkeeping -------------------------------------------------------------------
    def _new_history(self):
        return {k: [] for k in LEARNER_HISTORY_KEYS}

    def _record(self, hist, t0, objective, rel_error, mean_nnz):
        hist["objective"].append(float(objective))
        hist["rel_error"].append(float(rel_error))
        hist["mean_nnz"].append(float(mean_nnz))
        hist["time"].append(time.perf_counter() - t0)

    def _finish_history(self, hist):
        self.history_ = {k: np.asarray(v, dtype=float) for k, v in hist.items()}


def _common_constraints() -> dict:
    return {
        "n_atoms": [Interval("integral", 1, None), None],
        "coder": [InstanceOf(Recoverer), None],
        "init": [InstanceOf(np.ndarray), Options("data", "random")],
        "random_state": [Interval("integral", 0, None), InstanceOf(np.random.Generator), None],
        "dup_threshold": [Interval("real", 0, 1, closed="right"), None],
        "min_usage": [Interval("integral", 0, None)],
        "sparse_output": [bool, Options("auto")],
        "callback": [InstanceOf(callable), None],
    }


def _drop_rounding_noise(S: np.ndarray, Y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Zero, in place, the coefficients of ``S`` (K, B) that are rounding noise; return the columns.

    A sample that a few atoms represent exactly (a training sample drawn as an initial atom)
    has a residual of rounding size; a coder with a fixed budget (OMP with ``k`` atoms) then
    spends the rest of the budget on atoms chosen from that noise, with coefficients of
    ``eps·‖x‖`` times the conditioning of the selected atoms (seen up to ``400·eps·‖x‖``). Left
    in, they decide which samples "use" an atom, and the exact K-SVD update fits such an atom to
    noise (the top singular vector of a residual of rounding size) — a choice that changes with
    the last bit of the data, so that ``c·X`` and ``X`` learned different dictionaries.

    Rule: in a column represented to rounding, residual ``r_i ≤ 10·√eps·‖x_i‖`` (Batch-OMP's
    residual recursion itself bottoms out near ``√eps·‖x_i‖``), the entries with
    ``|c_ij| ≤ √eps·‖x_i‖`` (atoms have unit norm; 1.5e-8 in float64, 3.5e-4 in float32) are set
    to zero — far above the noise, and they move that column by at most ``k·√eps`` relative.
    Only those columns are looked at (usually none after the first iteration), so the cost is
    negligible next to the coding.

    Parameters
    ----------
    S : ndarray, shape (K, B)
    Y : ndarray, shape (m, B)
        The signals that were coded.
    r : ndarray, shape (B,)
        Their residual norms.

    Returns
    -------
    cols : ndarray of int
        The columns that were looked at (their residuals may have changed by rounding).
    """
    root_eps = np.sqrt(np.finfo(S.dtype).eps)
    ynorm = np.sqrt(np.einsum("ij,ij->j", Y, Y, dtype=np.float64))
    cols = np.flatnonzero(np.asarray(r, dtype=np.float64) <= 10.0 * root_eps * ynorm)
    if cols.size:
        sub = S[:, cols]
        sub[np.abs(sub) <= (root_eps * ynorm[cols]).astype(S.dtype)] = 0
        S[:, cols] = sub
    return cols


def _in_data_units(objective_scaled: float, scale: float) -> float:
    """An objective computed on ``X / scale`` (a squared norm) in the units of ``X``: ``· scale²``.

    Honest at every scale: beyond float64's range the value is ``inf`` (no warning).
    """
    with np.errstate(over="ignore"):
        return float(np.float64(objective_scaled) * scale * scale)


def as_rows(X) -> RowSource:
    """A row source over ``X`` (itself if it is one, or anything with ``nonzero_rows``)."""
    return X if isinstance(X, RowSource) or hasattr(X, "nonzero_rows") else ArrayRows(X, where="X")


def _seed(random_state):
    return check_random_state(random_state)


def fit_error_sq(xx: float, W: np.ndarray, CtC: np.ndarray, CtX: np.ndarray) -> float:
    r"""``‖X − C W‖_F²`` from ``CᵀC`` (K, K) and ``CᵀX`` (K, m) without forming the residual.

    ``xx = ‖X‖_F²``, ``W`` (K, m) atoms as rows:
    ``‖X‖² − 2⟨W, CᵀX⟩ + ⟨W Wᵀ, CᵀC⟩`` (accumulated in float64).
    """
    W = np.asarray(W, dtype=np.float64)
    val = xx - 2.0 * float(np.vdot(W, np.asarray(CtX, dtype=np.float64)))
    val += float(np.vdot(W @ W.T, np.asarray(CtC, dtype=np.float64)))
    return max(val, 0.0)



class SparseCodes:
    """Codes of N samples with at most ``s`` atoms each, in a padded row layout.

    ``idx`` (N, s) atom indices and ``val`` (N, s) coefficients (padding: index 0, value 0),
    so that sample ``i`` is ``Σ_t val[i, t] · W[idx[i, t]]``. This layout makes the K-SVD atom
    update a gather over the samples that use the atom, and converts to CSR in O(N s).
    """

    def __init__(self, idx: np.ndarray, val: np.ndarray, n_atoms: int):
        self.idx, self.val, self.n_atoms = idx, val, int(n_atoms)

    @classmethod
    def from_dense(cls, S: np.ndarray) -> "SparseCodes":
        """From coefficients as columns, ``S`` of shape (K, N)."""
        K, N = S.shape
        C = sp.csc_array(S)
        C.eliminate_zeros()
        counts = np.diff(C.indptr)
        s = max(int(counts.max()) if N else 0, 1)
        col = np.repeat(np.arange(N), counts)
        slot = np.arange(C.nnz) - C.indptr[col]
        idx = np.zeros((N, s), dtype=np.int64)
        val = np.zeros((N, s), dtype=S.dtype)
        idx[col, slot] = C.indices
        val[col, slot] = C.data
        return cls(idx, val, K)

    def to_csr(self) -> sp.csr_array:
        """Codes as a (N, K) CSR array (explicit zeros of the padding removed)."""
        N, s = self.idx.shape
        # copies: csr_array would share val/idx, and eliminate_zeros compacts them in place
        C = sp.csr_array((self.val.ravel().copy(), self.idx.ravel().copy(), np.arange(0, N * s + 1, s)),
                         shape=(N, self.n_atoms))
        C.sum_duplicates()
        C.eliminate_zeros()
        return C

    def atom_positions(self):
        """Per atom ``j``: flat positions into ``idx``/``val`` where atom ``j`` is used (non-zero)."""
        flat_idx = self.idx.ravel()
        used = np.flatnonzero(self.val.ravel() != 0)
        order = used[np.argsort(flat_idx[used], kind="stable")]
        counts = np.bincount(flat_idx[used], minlength=self.n_atoms)
        return np.split(order, np.cumsum(counts)[:-1])

    def reconstruct(self, W: np.ndarray, rows=None) -> np.ndarray:
        """``C W`` for the given rows (all by default), shape (n_rows, m)."""
        if rows is None:  # sparse product: the gather below makes an (N, s, m) temporary (1.2 GB at s = 170)
            return np.asarray(self.to_csr() @ W)
        idx = self.idx if rows is None else self.idx[rows]
        val = self.val if rows is None else self.val[rows]
        return np.matmul(val[:, None, :], W[idx])[:, 0, :]

    def gram_stats(self, X: np.ndarray):
        """``(CᵀC (K, K) dense, CᵀX (K, m))``."""
        C = self.to_csr()
        CtC = (C.T @ C).toarray()
        CtX = np.asarray(C.T @ X)
        return CtC, CtX


class BatchDictionaryLearner(DictionaryLearner):
    """Alternating minimisation over the whole training set (K-SVD, MOD).

    Each iteration codes every sample with the coder (``coder.recover(W.T, X.T)``, or the
    Batch-OMP fast path with the Gram matrix ``W Wᵀ`` for an :class:`~cstoolkit.OMP` coder),
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
            ``history_`` (arrays of length ``n_iter_`` under ``"objective"``,
            ``"rel_error"`` = ‖X − C W‖_F/‖X‖_F after the dictionary update, ``"mean_nnz"``
            and cumulative ``"time"`` in seconds, callback time excluded).
        """
        from ..solvers.greedy import OMP

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
        t0 = time.perf_counter()
        prev = np.inf
        self.n_iter_ = 0
        for it in range(1, self.max_iter + 1):
            gram = W @ W.T if type(coder) is OMP else None
            S, obj, r = self._code(coder, W.T, X.T, scale, gram=gram)
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
            rel = np.sqrt(fit_error_sq(xx, W, CtC, CtX) / xx)
            nnz = np.count_nonzero(codes.val) / X.shape[0]
            objective = _in_data_units(np.mean(obj), scale)
            self._record(hist, t0, objective, rel, nnz)
            self.n_iter_ = it
            logger.debug("%s it %d: objective %.6g rel_error %.6g", type(self).__name__, it, objective, rel)
            if self.callback is not None:
                tc = time.perf_counter()
                stop = self.callback(self, it)
                t0 += time.perf_counter() - tc
                if stop:
                    break
            if self.tol > 0 and 0 <= prev - rel < self.tol * prev:
                break
            prev = rel
        self._finish_history(hist)
        return self

    @abc.abstractmethod
    def _update_dictionary(self, X, W, codes, rng):
        """Update the dictionary ``W`` in place from the codes of ``X``; return the atoms that failed."""
