"""The result type: :class:`EmbeddingMatrix` (a read-only ``(n_tokens, dim)`` table with its
provenance), the error for a missing optional package, and the check every loaded table passes
(2-D, numeric, finite, read-only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EmbeddingMatrix", "EmbeddingsNotAvailable"]


class EmbeddingsNotAvailable(ModuleNotFoundError):
    """Raised when an optional package needed for an embedding source is missing.

    Subclass of :class:`ModuleNotFoundError` (hence of :class:`ImportError`); the
    message always names the exact ``pip install ...`` command that fixes it.
    """


@dataclass(frozen=True, eq=False, repr=False)
class EmbeddingMatrix:
    """A read-only embedding matrix with provenance.

    Parameters
    ----------
    data : ndarray, shape (n_tokens, dim)
        Floating-point embedding matrix, one row per token/word.  Stored as a
        read-only view (the caller's array flags are not modified).
    source : dict
        Where the matrix came from.  Keys (present when known): ``"path"``,
        ``"format"`` (``"safetensors"``, ``"gguf"``, ``"npy"``, ``"npz"``,
        ``"word2vec-text"``), ``"tensor"``, ``"original_dtype"``,
        ``"quantization"`` (GGUF type name for quantised tensors, else None),
        ``"builtin"``, ``"package"``, ``"package_version"``, ``"tokens_from"``.
    name : str
        Short human-readable name (built-in name or file stem, plus tensor name).
    tokens : list of str or None, default None
        Token strings, ``len(tokens) == n_tokens``, when cheaply available
        (``vocab.txt``, GGUF ``tokenizer.ggml.tokens``, word2vec text); else None.

    Attributes
    ----------
    shape : tuple of int
        ``(n_tokens, dim)``.
    dtype : numpy.dtype
        Floating dtype of :attr:`data`.

    Notes
    -----
    ``np.asarray(emb)`` returns the read-only data without copying;
    ``np.array(emb)`` (or ``np.asarray(emb, copy=True)``) returns a writable copy.
    """

    data: np.ndarray
    source: dict
    name: str
    tokens: list[str] | None = None

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim != 2:
            raise ValueError(
                f"EmbeddingMatrix data must be 2-D (n_tokens, dim); got shape {data.shape}"
            )
        if data.dtype.kind != "f":
            raise ValueError(
                f"EmbeddingMatrix data must be floating point; got dtype {data.dtype}"
            )
        view = data.view()
        view.flags.writeable = False
        object.__setattr__(self, "data", view)
        if self.tokens is not None and len(self.tokens) != data.shape[0]:
            raise ValueError(
                f"tokens has {len(self.tokens)} entries but data has {data.shape[0]} rows"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """tuple of int: ``(n_tokens, dim)``."""
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        """numpy.dtype: dtype of :attr:`data`."""
        return self.data.dtype

    def __len__(self) -> int:
        return self.data.shape[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """Return the data as an ndarray (numpy ``__array__`` protocol).

        Parameters
        ----------
        dtype : dtype, optional
            Requested dtype; converting always produces a new array.
        copy : bool or None, default None
            True forces a writable copy; None/False return the read-only data
            when no conversion is needed.

        Returns
        -------
        ndarray, shape (n_tokens, dim)
        """
        arr = self.data
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            if copy is False:
                raise ValueError("cannot convert dtype without copying (copy=False)")
            return arr.astype(dtype)
        if copy:
            return arr.copy()
        return arr

    def __repr__(self) -> str:
        fmt = self.source.get("format", "?") if isinstance(self.source, dict) else "?"
        ntok = "none" if self.tokens is None else str(len(self.tokens))
        return (
            f"EmbeddingMatrix(name={self.name!r}, shape={self.shape}, "
            f"dtype={self.data.dtype}, format={fmt}, tokens={ntok})"
        )


def _finalize(arr: np.ndarray, dtype, what: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise ValueError(
            f"{what}: array has shape {arr.shape}; an embedding matrix must be 2-D "
            f"(n_tokens, dim)"
        )
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{what}: array has non-numeric dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        out = np.ascontiguousarray(arr, dtype=dtype)
    finite = np.isfinite(out)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise ValueError(
            f"{what}: {int((~finite).sum())} non-finite (NaN/Inf) values in "
            f"{bad_rows.size} rows (first rows: {bad_rows[:5].tolist()}); the file is "
            f"corrupt or overflowed on conversion to {np.dtype(dtype)} -- clean it or "
            f"use a wider dtype="
        )
    out.flags.writeable = False
    return out
