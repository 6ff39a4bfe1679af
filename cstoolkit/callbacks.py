"""Callbacks: observe a recovery run per iteration, record metrics, or stop it.

A callback is either a :class:`Callback` instance or a plain function ``f(info)``; both are
called after every iteration with an :class:`IterationInfo`. Returning ``True`` from
``on_step_end`` (or from the function) stops the run with ``stop_reason="callback"``.
Dictionary learners take the same callbacks (their ``callback`` parameter) and call them after
every iteration or mini-batch, with the learner as ``info.recoverer`` (see
:mod:`cstoolkit.learners.base`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["IterationInfo", "Callback", "MetricsCallback", "StopAfter", "StopWhenError"]


@dataclass
class IterationInfo:
    """State of a run after one iteration (shared by every solver).

    Attributes
    ----------
    iteration : int
        1-based iteration count.
    coef : ndarray, shape (n_coef, B), or None
        Current coefficient estimate (always 2-D inside a solver's loop); None from a
        dictionary learner, which does not keep the codes of an iteration.
    objective : ndarray, shape (B,)
        ½‖A Ψ s − y‖² + λ R(s) per signal (λ R = 0 for greedy solvers).
    residual_norm : ndarray, shape (B,)
        ‖A Ψ s − y‖₂ per signal.
    recoverer : Recoverer or DictionaryLearner
        The running solver (or learner).
    basis : LinearOperator or None
        Sparsity basis Ψ, if any; ``x`` applies it lazily.
    """

    iteration: int
    coef: np.ndarray
    objective: np.ndarray
    residual_norm: np.ndarray
    recoverer: Any = None
    basis: Any = None

    @property
    def x(self) -> np.ndarray:
        """Current signal estimate ``Ψ s``, shape (n, B)."""
        return self.coef if self.basis is None else np.asarray(self.basis.matmat(self.coef))


class Callback:
    """Base class for callbacks; override any of the hooks."""

    def on_run_begin(self, recoverer, A, y) -> None:  # noqa: D401 - hook
        """Called once before the first iteration with the operator and 2-D measurements."""

    def on_step_end(self, info: IterationInfo) -> bool | None:
        """Called after each iteration; return True to stop the run."""
        return None

    def on_run_end(self, result) -> None:
        """Called once with the final :class:`~cstoolkit.base.RecoveryResult`."""


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[IterationInfo], Any]):
        self.fn = fn

    def on_step_end(self, info):
        return self.fn(info)


def as_callbacks(callbacks) -> list[Callback]:
    """Normalise ``None``, one callback, or a sequence of callbacks/functions to a list."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or callable(callbacks):
        callbacks = [callbacks]
    out = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(_FunctionCallback(cb))
        else:
            raise TypeError(f"callbacks must be Callback instances or functions, got {type(cb).__name__}.")
    return out


class MetricsCallback(Callback):
    """Record the relative error ‖x_k − x_true‖ / ‖x_true‖ (and support size) per iteration.

    Parameters
    ----------
    x_true : array_like, shape (n,) or (n, B)
        The true signal (in the signal domain, i.e. after the basis).
    support_tol : float, default=0.0
        Coefficients with magnitude above this count towards ``nnz``.

    Attributes
    ----------
    relative_error : ndarray, shape (n_iter,) or (n_iter, B)
    nnz : ndarray of int, shape (n_iter,) or (n_iter, B)
    """

    def __init__(self, x_true, *, support_tol: float = 0.0):
        xt = np.asarray(x_true)
        self._single = xt.ndim == 1
        self.x_true = xt[:, None] if self._single else xt
        self.support_tol = float(support_tol)
        self._err: list[np.ndarray] = []
        self._nnz: list[np.ndarray] = []

    def on_run_begin(self, recoverer, A, y):
        self._err, self._nnz = [], []

    def on_step_end(self, info):
        x = info.x
        if x.shape != self.x_true.shape:
            raise ValueError(f"MetricsCallback: x_true has shape {self.x_true.shape} but estimates are {x.shape}.")
        denom = np.maximum(np.linalg.norm(self.x_true, axis=0), np.finfo(float).tiny)
        self._err.append(np.linalg.norm(x - self.x_true, axis=0) / denom)
        self._nnz.append(np.count_nonzero(np.abs(info.coef) > self.support_tol, axis=0))
        return None

    def _out(self, rows):
        arr = np.array(rows) if rows else np.empty((0, self.x_true.shape[1]))
        return arr[:, 0] if self._single else arr

    @property
    def relative_error(self) -> np.ndarray:
        return self._out(self._err)

    @property
    def nnz(self) -> np.ndarray:
        return self._out(self._nnz)


class StopAfter(Callback):
    """Stop the run after ``n_iter`` iterations."""

    def __init__(self, n_iter: int):
        if int(n_iter) < 1:
            raise ValueError("StopAfter: n_iter must be >= 1.")
        self.n_iter = int(n_iter)

    def on_step_end(self, info):
        return info.iteration >= self.n_iter


class StopWhenError(MetricsCallback):
    """Stop as soon as every signal's relative error is below ``tol`` (needs the true signal)."""

    def __init__(self, x_true, tol: float):
        super().__init__(x_true)
        self.tol = float(tol)

    def on_step_end(self, info):
        super().on_step_end(info)
        return bool(np.all(self._err[-1] <= self.tol))
