"""Parameter constraints and input validation shared by every estimator.

Constraints are declared once per class in ``_parameter_constraints`` (a mapping from
parameter name to a list of accepted constraint objects) and checked in one place,
:func:`validate_params`, called at the end of ``__init__`` and by ``set_params``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

__all__ = [
    "Interval",
    "Options",
    "InstanceOf",
    "validate_params",
    "check_signals",
    "check_random_state",
    "check_numeric_dtype",
    "as_numeric_array",
    "check_sparse_2d",
    "check_nonneg_param",
    "check_broadcast",
    "check_tol",
    "check_int",
    "check_matrix_2d",
]


@dataclass(frozen=True)
class Interval:
    """Numbers of a given kind in an interval.

    Parameters
    ----------
    kind : {"real", "integral"}
        ``"integral"`` accepts Python and numpy integers (not bools); ``"real"`` also accepts floats.
    left, right : float or None
        Bounds; ``None`` means unbounded.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds are included.
    """

    kind: str
    left: float | None = None
    right: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind == "integral":
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real):
            return False
        if not np.isfinite(value):
            return False
        lo_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        hi_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        lo = "-inf" if self.left is None else repr(self.left)
        hi = "inf" if self.right is None else repr(self.right)
        kind = "an int" if self.kind == "integral" else "a float"
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (usually strings)."""

    values: tuple

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf:
    """An instance of the given type(s), or ``callable``."""

    types: Any

    def accepts(self, value: Any) -> bool:
        if self.types is callable:
            return callable(value)
        return isinstance(value, self.types)

    def __str__(self) -> str:
        if self.types is callable:
            return "a callable"
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        return "an instance of " + " or ".join(t.__name__ for t in types)


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if constraint is bool:
        return "a bool"
    return str(constraint)


def _accepts(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint is bool:
        return isinstance(value, (bool, np.bool_))
    return constraint.accepts(value)


def validate_params(owner: str, params: dict, constraints: dict) -> None:
    """Check ``params`` against ``constraints``; raise a ``ValueError``/``TypeError`` naming the fix.

    Parameters
    ----------
    owner : str
        Class name used in the message.
    params : dict
        Parameter name -> value.
    constraints : dict
        Parameter name -> list of accepted constraints (``None``, ``bool``, :class:`Interval`,
        :class:`Options`, :class:`InstanceOf`).
    """
    for name, value in params.items():
        allowed: Iterable = constraints.get(name, ())
        allowed = list(allowed)
        if not allowed:  # unconstrained parameter
            continue
        if any(_accepts(c, value) for c in allowed):
            continue
        wanted = " or ".join(_describe(c) for c in allowed)
        numeric = any(isinstance(c, Interval) for c in allowed)
        is_number = isinstance(value, numbers.Number) and not isinstance(value, bool)
        options = any(isinstance(c, Options) for c in allowed)
        # Right kind of value but out of range / not an option -> ValueError; wrong kind -> TypeError.
        exc = ValueError if (numeric and is_number) or (options and isinstance(value, str)) else TypeError
        raise exc(f"{owner}: parameter {name}={value!r} is invalid; expected {wanted}.")


def check_random_state(seed: Any) -> np.random.Generator:
    """Turn ``None``, an int, or a Generator into a :class:`numpy.random.Generator`."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise TypeError(f"random_state must be None, an int or a numpy Generator, got {type(seed).__name__}.")


_FLOAT_KINDS = "fc"


def check_signals(y: Any, m: int, *, name: str = "y", allow_complex: bool = True) -> tuple[np.ndarray, bool]:
    """Validate measurements and return them as a 2-D ``(m, B)`` float array.

    Parameters
    ----------
    y : array_like, shape (m,) or (m, B)
        Measurements.
    m : int
        Expected number of rows (measurements).
    name : str, default="y"
        Name used in error messages.
    allow_complex : bool, default=True
        Whether complex input is accepted.

    Returns
    -------
    Y : ndarray, shape (m, B)
        Floating-point copy-free view when possible; integer input is promoted to float64.
    single : bool
        True when ``y`` was 1-D.
    """
    if sp.issparse(y) or isinstance(y, LinearOperator):
        raise TypeError(f"{name} must be a dense array of shape ({m},) or ({m}, B), got {type(y).__name__}.")
    arr = np.asarray(y)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must hold real or complex numbers, got dtype {arr.dtype}.")
    if arr.dtype.kind == "c" and not allow_complex:
        raise TypeError(f"{name} is complex but this solver supports real data only.")
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    elif arr.dtype.kind == "f" and arr.dtype.itemsize > 8 or arr.dtype.kind == "c" and arr.dtype.itemsize > 16:
        arr = arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64)  # long double: no BLAS
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D ({m},) or 2-D ({m}, B), got {arr.ndim}-D shape {arr.shape}.")
    if arr.shape[0] != m:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows but A has {m}; expected {name} of shape ({m},) or ({m}, B)."
        )
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf; remove or impute them before recovery.")
    single = arr.ndim == 1
    return (arr[:, None] if single else arr), single


# --- array arguments of the entrywise operations (cstoolkit.sparsify) -------------------------

def check_numeric_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.kind not in "biufc":
        raise TypeError(
            f"{name} must hold numbers (bool, int, float or complex); got dtype {dtype}"
        )


def as_numeric_array(X, name: str = "X") -> np.ndarray:
    """``np.asarray`` plus a dtype check (no copy when not needed)."""
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be converted to a numeric array: {exc}") from exc
    check_numeric_dtype(arr.dtype, name)
    return arr


def check_sparse_2d(X, name: str = "X") -> None:
    if X.ndim != 2:
        raise ValueError(f"{name} is a {X.ndim}-D sparse array; only 2-D sparse input is supported")
    check_numeric_dtype(X.dtype, name)


def check_nonneg_param(value, name: str) -> np.ndarray:
    """A scalar or array parameter that must be >= 0 and not NaN (inf is allowed)."""
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"{name} must be a real number or array of reals: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real (int or float); got dtype {arr.dtype}")
    if arr.size and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; it must be a number >= 0")
    if arr.size and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0; got minimum {arr.min()!r}")
    return arr


def check_broadcast(param: np.ndarray, shape: tuple, name: str) -> None:
    try:
        out = np.broadcast_shapes(param.shape, shape)
    except ValueError:
        out = None
    if out != tuple(shape):
        raise ValueError(
            f"{name} of shape {param.shape} does not broadcast to X's shape {tuple(shape)}; "
            "pass a scalar or an array broadcastable to X (e.g. shape (m, 1) for one value per row)"
        )


def check_tol(tol) -> float:
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tol must be a real number >= 0; got {tol!r}")
    if not tol >= 0:  # also catches NaN
        raise ValueError(f"tol must be >= 0; got {tol!r}")
    return float(tol)


def check_int(value, name: str, lo: int, hi: int | None = None, hint: str = "") -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {rng}; got {value}{hint}")
    return value


def check_matrix_2d(X, name: str = "X"):
    """Return (X, is_sparse) for input that must be a 2-D matrix."""
    if sp.issparse(X):
        check_sparse_2d(X, name)
        return X, True
    arr = as_numeric_array(X, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (a matrix); got {arr.ndim}-D input of shape {arr.shape}. "
            "Reshape it first, e.g. x.reshape(1, -1) for a single row."
        )
    return arr, False
