"""Validated replacement of named weight matrices (shared by the causal LM and the encoder)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["replace_weights"]


def replace_weights(weights: Mapping[str, np.ndarray], replacements: Mapping[str, object],
                    model: str) -> dict[str, np.ndarray]:
    """A new name → array dict: ``weights`` with ``replacements`` swapped in (nothing copied).

    Every replacement must name an existing weight and be a finite float32 ndarray of the
    same shape; anything else is a ``ValueError`` that says what was expected.

    Parameters
    ----------
    weights : mapping of str to ndarray
        The model's weights (left untouched).
    replacements : mapping of str to ndarray
    model : str
        The model's name, for messages.

    Returns
    -------
    dict of str to ndarray
        A shallow copy: untouched weights are the same array objects.
    """
    if not isinstance(replacements, Mapping):
        raise ValueError(f"replacements must be a mapping name -> array; got {type(replacements).__name__}.")
    out = dict(weights)
    for name, arr in replacements.items():
        if name not in weights:
            close = sorted(k for k in weights if name.split(".")[0] in k)[:5]
            raise ValueError(f"{model} has no weight {name!r}; expected one of its weight names"
                             f"{' such as ' + ', '.join(close) if close else ''} (see .weight_names()).")
        ref = weights[name]
        if not isinstance(arr, np.ndarray):
            hint = " (a sparse matrix: pass .toarray())" if hasattr(arr, "toarray") else ""
            raise ValueError(f"replacement for {name!r} must be a numpy ndarray of shape {ref.shape}, "
                             f"dtype float32; got {type(arr).__name__}{hint}.")
        if arr.shape != ref.shape:
            raise ValueError(f"replacement for {name!r} has shape {arr.shape}; expected {ref.shape} "
                             f"(the shape of the weight it replaces).")
        if arr.dtype != np.float32:
            raise ValueError(f"replacement for {name!r} has dtype {arr.dtype}; expected float32 "
                             f"(the forward runs in float32: pass arr.astype(np.float32)).")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"replacement for {name!r} contains NaN or Inf.")
        out[name] = arr
    return out
