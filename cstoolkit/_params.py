"""Hyperparameter handling shared by recoverers and dictionary learners (scikit-learn style)."""

from __future__ import annotations

import inspect
from typing import ClassVar

import numpy as np

from ._validation import validate_params


class ParamsMixin:
    """``get_params``/``set_params``/``clone``/``repr`` from the keyword-only ``__init__`` signature.

    A subclass stores every ``__init__`` argument unchanged under its own name, declares
    ``_parameter_constraints`` and calls ``self._validate_params()`` at the end of ``__init__``;
    cross-parameter checks go in ``_check_params``.
    """

    _parameter_constraints: ClassVar[dict] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self, deep: bool = False) -> dict:
        """Hyperparameters as a dict (scikit-learn style)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params):
        """Set hyperparameters (validated) and return ``self``."""
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}; valid: {', '.join(sorted(valid))}.")
            setattr(self, k, v)
        self._validate_params()
        return self

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)
        self._check_params()

    def _check_params(self) -> None:
        """Hook for cross-parameter checks; raise ValueError."""

    def clone(self):
        """A new unfitted instance with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values() if p.name != "self"
        }
        changed = []
        for k, v in self.get_params().items():
            d = defaults.get(k, inspect.Parameter.empty)
            same = v is d or (type(v) is type(d) and not isinstance(v, np.ndarray) and v == d)
            if not same:
                changed.append(f"{k}={v!r}" if not isinstance(v, np.ndarray) else f"{k}=<array {v.shape}>")
        return f"{type(self).__name__}({', '.join(changed)})"
