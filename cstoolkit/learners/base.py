r"""The learners' API base: parameters, input checks, initialisation, ``transform``, history, callbacks.

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

so the coding step is one batched call through the coder's Gram hook,
``coder.recover_gram(W Wᵀ, W Xᵀ, norms_squared=‖x‖²)`` with ``W = components_`` — the same
codes as ``coder.recover(components_.T, X.T)`` (see :mod:`cstoolkit.learners.codes`) — and
``learner.as_basis()`` (= ``components_.T``) is the ``basis=`` argument of
:meth:`cstoolkit.base.Recoverer.recover`.

History and callbacks follow the solvers' conventions (:data:`cstoolkit.base.HISTORY_KEYS`,
:mod:`cstoolkit.callbacks`). ``history_`` holds one entry per iteration (mini-batch for online
learning) under :data:`LEARNER_HISTORY_KEYS`: the solvers' per-signal ``"objective"``
(½‖x_i − D c_i‖² + λR(c_i), ``R = 0`` for greedy coders such as OMP, evaluated right after the
coding step) averaged over the samples, and ``"residual_norm"`` ‖x_i − D c_i‖ as a root mean
square over the samples; then ``"relative_residual"`` ‖X − C W‖_F/‖X‖_F (the greedy
solvers' certificate, for the whole set), ``"mean_nnz"`` and cumulative ``"time"``. The
``callback`` parameter takes the solvers' callbacks: a :class:`~cstoolkit.callbacks.Callback`,
a function ``f(info)`` of an :class:`~cstoolkit.callbacks.IterationInfo` (``info.recoverer``
is the learner, ``info.coef`` None: the codes are not kept; ``objective`` and
``residual_norm`` per sample of the iteration), or a sequence of them; returning True stops
``fit``. A function of two positional parameters is called as ``f(learner, iteration)``
(the learners' earlier form, kept).

Why one file (over 400 lines): it is the learners' contract — parameters, input checks,
initialisation, ``transform``, history and callbacks are the one base every learner extends.
"""

from __future__ import annotations

import abc
import inspect
import logging
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.utils.metadata_routing import UNUSED
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_array, validate_data

from .._validation import InstanceOf, Interval, Options, check_random_state, validate_params
from ..base import HISTORY_KEYS, Recoverer
from ..callbacks import Callback, IterationInfo, as_callbacks
from ..rows import ArrayRows, RowSource, default_block_rows
from .atoms import AtomsMixin
from .codes import code_signals, data_scale

__all__ = ["DictionaryLearner", "data_scale", "LEARNER_HISTORY_KEYS"]

logger = logging.getLogger(__name__)

#: history keys every learner records, one entry per iteration (mini-batch for online learning):
#: the solvers' keys (averaged over the samples; see the module docstring), then the learners' own
LEARNER_HISTORY_KEYS = HISTORY_KEYS + ("relative_residual", "mean_nnz", "time")

#: ``transform(..., sparse_output="auto")`` returns CSR when the dense codes would take more
#: than this many bytes (128 MiB: 262,144 rows × 1024 atoms in float32 is 1 GiB dense but
#: 32 MiB as CSR with 16 non-zeros per row; MiniLM's 30,522 × 1024 stays dense)
DENSE_CODES_BYTES = 1 << 27
#: bytes of one block of dense codes (n_atoms × rows) that ``transform`` holds at a time
CODE_BLOCK_BYTES = 32 << 20


class DictionaryLearner(AtomsMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, abc.ABC):
    """Base class of the dictionary learners (K-SVD, MOD, online): scikit-learn transformers.

    A subclass's ``__init__`` takes keyword-only hyperparameters, each with a default, and
    stores them unchanged (nothing else: scikit-learn's ``clone``/``get_params``/``set_params``
    rely on it). Hyperparameters are validated in ``fit`` / ``partial_fit`` against the class's
    ``_parameter_constraints``, and the data by scikit-learn's ``validate_data`` (which sets
    ``n_features_in_``, and ``feature_names_in_`` for a DataFrame). Subclasses implement ``fit``
    (and the online learner ``partial_fit``); the base class gives ``transform``,
    ``inverse_transform``, ``fit_transform``, ``as_basis``, ``get_feature_names_out``, the
    initialisation of the dictionary, the replacement of unused or duplicated atoms, the
    history and the callbacks; the coding step is :func:`cstoolkit.learners.codes.code_signals`. Fitted state ends in ``_``; before ``fit``
    every method that needs it raises :class:`sklearn.exceptions.NotFittedError`.

    Scale: the learners code and update on ``X / data_scale(X)`` (see :func:`~cstoolkit.learners.codes.data_scale`),
    and the coder's parameters with units (``lam``, a residual ``tol``) are converted to those
    units, so they keep their meaning in the units of ``X``; with a scale-equivariant coder
    (OMP with a fixed number of atoms, the default) fitting ``c·X`` gives the same atoms and
    ``c`` times the codes, over the whole floating-point range.

    See the module docstring of :mod:`cstoolkit.learners.base` for the row/column
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
        from ..solvers.greedy.pursuit import OMP

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
            (computed through the coder's Gram hook on ``X / data_scale(X)`` and scaled back).
        """
        src = self._check_X(X, reset=False, rows=True)
        coder = self._make_coder()
        K = self.components_.shape[0]
        N, m = src.shape
        self._check_coder_budget(coder, K, m)
        dt = src.dtype
        D = np.ascontiguousarray(self.components_.T, dtype=dt)
        G = D.T @ D  # (K, K) Gram, once for every block
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
            S, _, _ = code_signals(coder, D, Xb.T / dt.type(s), s, gram=G)
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

    @staticmethod
    def _record(hist, elapsed, objective, residual_sq, xx, n_rows, nnz, scale) -> float:
        """Append one iteration to ``hist`` (see :data:`LEARNER_HISTORY_KEYS`); return the relative residual.

        ``objective`` (mean per sample), ``residual_sq`` (‖X − C W‖_F²) and ``xx`` (‖X‖_F², > 0)
        are in the units of ``X / scale``; ``nnz`` counts the non-zero codes of ``n_rows`` samples.
        """
        rel = float(np.sqrt(residual_sq / xx))
        hist["objective"].append(_in_data_units(objective, scale))
        hist["residual_norm"].append(float(np.sqrt(_in_data_units(residual_sq / n_rows, scale))))
        hist["relative_residual"].append(rel)
        hist["mean_nnz"].append(float(nnz / n_rows))
        hist["time"].append(float(elapsed))
        return rel

    def _finish_history(self, hist):
        self.history_ = {k: np.asarray(v, dtype=float) for k, v in hist.items()}

    # -- callbacks (the solvers' protocol, :mod:`cstoolkit.callbacks`) -------------------
    def _begin_callbacks(self, X) -> list:
        """The ``callback`` parameter as a list of :class:`~cstoolkit.callbacks.Callback`, started.

        ``on_run_begin(learner, None, X)``: there is no fixed operator (the dictionary is what
        is learned), and the data are passed as given.
        """
        cbs = _learner_callbacks(self.callback)
        for cb in cbs:
            cb.on_run_begin(self, None, X)
        return cbs

    def _step_callbacks(self, cbs, iteration, objective, residual_norm, scale) -> bool:
        """``on_step_end`` of every callback after one iteration; True when one asks to stop.

        ``objective`` and ``residual_norm`` are per sample, in the units of ``X / scale``.
        """
        with np.errstate(over="ignore"):
            obj = np.asarray(objective, dtype=np.float64) * (scale * scale)
            res = np.asarray(residual_norm, dtype=np.float64) * scale
        info = IterationInfo(iteration=int(iteration), coef=None, objective=obj, residual_norm=res, recoverer=self)
        return any([bool(cb.on_step_end(info)) for cb in cbs])

    def _end_callbacks(self, cbs) -> None:
        """``on_run_end(learner)`` of every callback (the fitted learner is the run's result)."""
        for cb in cbs:
            cb.on_run_end(self)


def _common_constraints() -> dict:
    return {
        "n_atoms": [Interval("integral", 1, None), None],
        "coder": [InstanceOf(Recoverer), None],
        "init": [InstanceOf(np.ndarray), Options("data", "random")],
        "random_state": [Interval("integral", 0, None), InstanceOf(np.random.Generator), None],
        "dup_threshold": [Interval("real", 0, 1, closed="right"), None],
        "min_usage": [Interval("integral", 0, None)],
        "sparse_output": [bool, Options("auto")],
        "callback": [InstanceOf(callable), InstanceOf(Callback), InstanceOf((list, tuple)), None],
    }


class _LearnerStepFunction(Callback):
    """A function ``f(learner, iteration)`` (the learners' earlier callback form) as a Callback."""

    def __init__(self, fn):
        self.fn = fn

    def on_step_end(self, info):
        return self.fn(info.recoverer, info.iteration)


def _positional_arity(fn) -> int:
    """Number of required positional parameters of ``fn`` (1 when it cannot be inspected)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds and p.default is inspect.Parameter.empty for p in params)


def _learner_callbacks(callback) -> list:
    """``None``, a Callback, a function or a sequence of them as a list of Callbacks.

    Functions of two or more required positional parameters are ``f(learner, iteration)``;
    the others receive the :class:`~cstoolkit.callbacks.IterationInfo`, as for the solvers.
    """
    items = [] if callback is None else list(callback) if isinstance(callback, (list, tuple)) else [callback]
    items = [_LearnerStepFunction(cb) if not isinstance(cb, Callback) and callable(cb)
             and _positional_arity(cb) >= 2 else cb for cb in items]
    return as_callbacks(items)


def _in_data_units(objective_scaled: float, scale: float) -> float:
    """An objective computed on ``X / scale`` (a squared norm) in the units of ``X``: ``· scale²``.

    Honest at every scale: beyond float64's range the value is ``inf`` (no warning).
    """
    with np.errstate(over="ignore"):
        return float(np.float64(objective_scaled) * scale * scale)


def _seed(random_state):
    return check_random_state(random_state)
