"""The one contract every solver honours: :class:`Recoverer` and :class:`RecoveryResult`.

Objective convention (used in every docstring, in code and in ``history``)::

    F(s) = ½‖A Ψ s − y‖₂² + λ·R(s)

with ``Ψ`` the sparsity basis (identity by default), ``R = ‖·‖₁`` for ℓ1 solvers and
``R = 0`` for greedy ones (whose sparsity is a constraint, not a penalty). Conversions to
scikit-learn's ``1/(2 n_samples)`` scaling live in :mod:`cstoolkit.conventions`.

Shapes: ``A`` is ``(m, n)``; ``y`` is ``(m,)`` or ``(m, B)`` (B signals, one per column);
the estimate ``x`` comes back ``(n,)`` or ``(n, B)``. Dictionary learners use scikit-learn's
row convention instead (samples are rows); see :mod:`cstoolkit.learners`.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import ClassVar, Mapping

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ._params import ParamsMixin
from ._validation import check_signals
from .callbacks import IterationInfo, as_callbacks
from .operators import as_operator, compose

__all__ = ["Recoverer", "RecoveryResult", "HISTORY_KEYS"]

logger = logging.getLogger(__name__)

HISTORY_KEYS = ("objective", "residual_norm")


@dataclass(frozen=True, repr=False)
class RecoveryResult:
    """What every recoverer returns.

    Attributes
    ----------
    x : ndarray, shape (n,) or (n, B)
        Signal estimate ``Ψ s`` (equal to ``coef`` when no basis is given).
    coef : ndarray, shape (n_coef,) or (n_coef, B)
        Sparse coefficients ``s``.
    n_iter : int
        Iterations run (the same for every signal of a batch; greedy solvers count atoms).
    converged : bool
        True when the solver's own stopping rule was met for every signal (not when it
        stopped on ``max_iter`` or a callback).
    stop_reason : str
        ``"tol"``, ``"sparsity"``, ``"residual_tol"``, ``"solved"``, ``"max_iter"``, ``"callback"``
        or ``"diverged"``: some signal's residual norm exceeded ``1e4·max‖y‖`` or became
        non-finite; those columns of ``x`` and ``coef`` are NaN (the other signals ran to their
        own stopping rule) and a warning was logged.
    history : mapping of str to ndarray
        Fixed keys ``"objective"`` (½‖AΨs − y‖² + λR(s)) and ``"residual_norm"`` (‖AΨs − y‖),
        each of shape (n_iter,) or (n_iter, B).
    solver : str
        Registry name of the solver.
    time : float
        Wall-clock seconds spent in ``recover``.
    """

    x: np.ndarray
    coef: np.ndarray
    n_iter: int
    converged: bool
    stop_reason: str
    history: Mapping[str, np.ndarray]
    solver: str = ""
    time: float = 0.0

    @property
    def objective(self):
        """Final objective value(s)."""
        h = self.history["objective"]
        return h[-1] if len(h) else np.nan

    @property
    def residual_norm(self):
        """Final residual norm(s)."""
        h = self.history["residual_norm"]
        return h[-1] if len(h) else np.nan

    def __repr__(self) -> str:
        batch = "" if self.x.ndim == 1 else f", B={self.x.shape[1]}"
        res = np.atleast_1d(self.residual_norm)
        nnz = np.count_nonzero(self.coef, axis=0)
        nnz_s = f"{int(nnz)}" if np.ndim(nnz) == 0 else f"{np.median(nnz):g} (median)"
        return (
            f"RecoveryResult(solver={self.solver!r}, n={self.x.shape[0]}{batch}, n_iter={self.n_iter}, "
            f"converged={self.converged}, stop_reason={self.stop_reason!r}, nnz={nnz_s}, "
            f"residual_norm={float(np.max(res)):.3g}{' (max)' if res.size > 1 else ''}, time={self.time:.3g}s)"
        )

    def plot_history(self, key: str = "objective", *, ax=None, logy: bool = True):
        """Plot one history curve against iterations (matplotlib, imported lazily).

        Parameters
        ----------
        key : str, default="objective"
            A key of ``history``.
        ax : matplotlib Axes, optional
        logy : bool, default=True

        Returns
        -------
        ax : matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if key not in self.history:
            raise KeyError(f"no history key {key!r}; available: {', '.join(self.history)}")
        if ax is None:
            _, ax = plt.subplots()
        vals = np.asarray(self.history[key])
        it = np.arange(1, vals.shape[0] + 1)
        ax.plot(it, vals, lw=1)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel(key)
        ax.set_title(f"{self.solver}: {key}")
        return ax


def _float_dtype(*dtypes) -> np.dtype:
    """float32 when every input is single precision, else float64 (complex analogues kept)."""
    dt = np.result_type(*[d for d in dtypes if d is not None])
    if dt.kind == "c":
        return np.dtype(np.complex64) if dt == np.complex64 else np.dtype(np.complex128)
    return np.dtype(np.float32) if dt == np.float32 else np.dtype(np.float64)


class Recoverer(ParamsMixin, abc.ABC):
    """Base class of every sparse recovery solver.

    Subclasses take hyperparameters as keyword-only ``__init__`` arguments, store them
    unchanged under the same names, declare ``_parameter_constraints`` and call
    ``self._validate_params()`` — ``get_params``, ``set_params``, ``repr`` and the error
    messages then come for free. A subclass writes three hooks; the base class owns
    validation, the loop, history, callbacks and the stopping bookkeeping:

    ``_setup(A, Y, X0) -> state``
        ``A`` is a LinearOperator ``(m, n)`` (already composed with the basis), ``Y`` is
        ``(m, B)`` in the working dtype, ``X0`` is ``(n, B)`` or None.
    ``_step(state, it) -> str | None``
        One iteration for the whole batch; return a stop reason when every signal is done.
    ``_monitor(state) -> (objective, residual_norm)``
        Arrays of shape ``(B,)`` for the current iterate.
    ``_coef(state) -> ndarray (n, B)``
        The current coefficient estimate.

    Class attributes ``supports_complex`` (default False) and ``max_iterations(state)``
    complete the contract. Everything that passes :mod:`tests.test_conformance` is a
    valid recoverer.
    """

    name: ClassVar[str] = ""
    #: which reference the conformance suite compares against: "lasso" (½‖Ax−y‖²+λ‖x‖₁),
    #: "bp" (min ‖x‖₁ s.t. Ax=y), "bpdn" or "greedy" (support of a k-sparse solution)
    objective_kind: ClassVar[str] = "greedy"
    _observed: bool = False
    supports_complex: ClassVar[bool] = False

    # -- the contract -----------------------------------------------------------------
    def recover(self, A, y, *, basis=None, x0=None, callbacks=()) -> RecoveryResult:
        """Recover sparse coefficients ``s`` (and ``x = Ψ s``) from ``y ≈ A x``.

        Parameters
        ----------
        A : ndarray, scipy.sparse matrix or LinearOperator, shape (m, n)
            Measurement matrix or operator.
        y : array_like, shape (m,) or (m, B)
            Measurements; a 2-D ``y`` recovers B signals at once (vectorised).
        basis : ndarray, scipy.sparse matrix or LinearOperator, shape (n, p), optional
            Sparsity basis or dictionary Ψ: ``x = Ψ s`` with ``s`` sparse (e.g.
            :class:`~cstoolkit.operators.DCTBasis`, an orthonormal matrix, or a learned
            dictionary's ``components_.T``). Default: identity (``x`` itself is sparse).
        x0 : array_like, shape (p,) or (p, B), optional
            Initial coefficients (warm start) for iterative solvers; ignored by greedy ones.
        callbacks : Callback, callable or sequence of them, default=()
            Called after every iteration; returning True stops the run.

        Returns
        -------
        result : RecoveryResult
        """
        t0 = time.perf_counter()
        op = as_operator(A)
        Y, single = check_signals(y, op.shape[0], allow_complex=self.supports_complex)
        if op.dtype is not None and np.dtype(op.dtype).kind == "c" and not self.supports_complex:
            raise TypeError(f"A is complex but {type(self).__name__} supports real data only.")
        psi = None
        eff = op
        if basis is not None:
            psi = as_operator(basis, name="basis")
            if psi.shape[0] != op.shape[1]:
                raise ValueError(
                    f"basis has {psi.shape[0]} rows but A has {op.shape[1]} columns; "
                    f"expected basis of shape ({op.shape[1]}, p)."
                )
            if psi.dtype is not None and np.dtype(psi.dtype).kind == "c" and not self.supports_complex:
                raise TypeError(f"basis is complex but {type(self).__name__} supports real data only.")
            eff = compose(op, psi)
        dtype = _float_dtype(eff.dtype, Y.dtype)
        Y = np.ascontiguousarray(Y, dtype=dtype) if Y.dtype != dtype else Y
        n_coef = eff.shape[1]
        X0 = None
        if x0 is not None:
            X0 = np.asarray(x0)
            expected = (n_coef,) if single else (n_coef, Y.shape[1])
            if X0.shape != expected:
                raise ValueError(f"x0 has shape {X0.shape}; expected {expected}.")
            if not np.all(np.isfinite(X0)):
                raise ValueError("x0 contains NaN or Inf.")
            X0 = (X0[:, None] if single else X0).astype(dtype, copy=True)
        cbs = as_callbacks(callbacks)
        for cb in cbs:
            cb.on_run_begin(self, eff, Y)

        # One-shot solvers (whole pursuit in a compiled kernel) switch to a step-wise path when
        # callbacks must observe every iteration.
        self._observed = bool(cbs)
        state = self._setup(eff, Y, X0)
        hist: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        stop_reason, converged, n_iter = "max_iter", False, 0
        # divergence guard: x = 0 has residual ‖y‖, so a residual far above the batch's largest
        # ‖y‖ (or a non-finite one) means that signal's iteration is blowing up (e.g. a fixed step
        # too long for this operator). Signals are independent columns: the others go on; the
        # diverged ones are returned as NaN (never as overflowed numbers), and the run stops
        # early only when every signal has diverged.
        y_scale = float(np.max(np.linalg.norm(Y, axis=0), initial=0.0))
        limit = self._divergence_factor * y_scale if y_scale > 0 else np.inf
        diverged = np.zeros(Y.shape[1], dtype=bool)
        first_div = 0
        for it in range(1, self._max_iterations(state) + 1):
            # once a column has diverged, its overflow is expected: keep numpy quiet about it
            with np.errstate(over="ignore", invalid="ignore") if diverged.any() else contextlib.nullcontext():
                reason = self._step(state, it)
                obj, res = self._monitor(state)
            n_iter = it
            hist["objective"].append(np.asarray(obj, dtype=float))
            hist["residual_norm"].append(np.asarray(res, dtype=float))
            new = ~(hist["residual_norm"][-1] <= limit) & ~diverged  # also catches NaN
            if new.any():
                first_div = first_div or it
                diverged |= new
                if diverged.all():
                    break
            if cbs:
                info = IterationInfo(it, self._coef(state), hist["objective"][-1], hist["residual_norm"][-1], self, psi)
                if any([bool(cb.on_step_end(info)) for cb in cbs]):
                    stop_reason = "callback"
                    break
            if reason is not None:
                stop_reason, converged = reason, True
                break
        coef = np.asarray(self._coef(state))
        if diverged.any():
            coef = coef.astype(np.result_type(coef.dtype, np.float32), copy=True)
            coef[:, diverged] = np.nan
            stop_reason, converged = "diverged", False
            logger.warning(
                "%s: %d of %d signals diverged (first at iteration %d: residual norm > %g·max‖y‖ or "
                "not finite); they are returned as NaN, stop_reason='diverged'. A fixed step or "
                "relaxation too long for this operator is the usual cause (the Maleki–Donoho presets "
                "assume a Gaussian A with unit-norm columns).",
                type(self).__name__, int(diverged.sum()), diverged.size, first_div, self._divergence_factor)
        x = coef if psi is None else np.asarray(psi.matmat(coef))
        B = Y.shape[1]
        history = {k: (np.array(v).reshape(len(v), B)) for k, v in hist.items()}
        own = self._history(state)
        if own is not None:  # one-shot solvers report their inner iterations themselves
            history = own
            n_iter = len(own["objective"])
        if single:
            coef, x = coef[:, 0], x[:, 0]
            history = {k: v[:, 0] for k, v in history.items()}
        if stop_reason == "max_iter":
            logger.info("%s stopped at max_iter=%d without meeting its tolerance", type(self).__name__, n_iter)
        result = RecoveryResult(
            x=x, coef=coef, n_iter=n_iter, converged=converged, stop_reason=stop_reason,
            history=history, solver=self.name, time=time.perf_counter() - t0,
        )
        for cb in cbs:
            cb.on_run_end(result)
        return result

    # -- hooks for subclasses ---------------------------------------------------------
    @abc.abstractmethod
    def _setup(self, A: LinearOperator, Y: np.ndarray, X0):
        """Build the iteration state for operator ``A`` (m, n), measurements ``Y`` (m, B), start ``X0``."""

    @abc.abstractmethod
    def _step(self, state, it: int):
        """Advance every signal by one iteration; return a stop reason once all are done, else None."""

    @abc.abstractmethod
    def _monitor(self, state):
        """Objective and residual norm of the current iterate, each of shape (B,)."""

    @abc.abstractmethod
    def _coef(self, state) -> np.ndarray:
        """Current coefficients, shape (n, B)."""

    def _history(self, state):
        """Optional: full history ``{key: (n_iter, B)}`` for one-shot solvers, else None."""
        return None

    def _max_iterations(self, state) -> int:
        return int(getattr(self, "max_iter", 1000))

    # -- conformance-suite hints ---------------------------------------------------------
    @classmethod
    def _conformance_params(cls, k: int) -> dict:
        """Parameters for an easy k-sparse noiseless instance in the conformance suite."""
        return {}

    #: relative error the conformance suite's easy instance must reach
    _conformance_tol: ClassVar[float] = 1e-6
    #: a run stops with ``stop_reason="diverged"`` once a residual norm exceeds this multiple of
    #: the batch's largest ‖y‖ (x = 0 has residual ‖y‖)
    _divergence_factor: ClassVar[float] = 1e4
