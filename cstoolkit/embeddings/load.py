"""The front door: :func:`load_embeddings` picks the source (built-in name or file extension),
loads, checks and wraps the table."""

from __future__ import annotations

import copy
import logging
import os
import time
from pathlib import Path

import numpy as np

from .gguf_format import _load_gguf
from .matrix import EmbeddingMatrix, _finalize
from .npy_format import _load_npy, _load_npz
from .packages import _BUILTINS, _load_builtin_cached
from .safetensors_format import _load_safetensors, _read_vocab_txt
from .text_format import _load_text

__all__ = ["load_embeddings", "SUPPORTED_EXTENSIONS"]

logger = logging.getLogger(__name__)


#: File extensions understood by :func:`load_embeddings` (lower-case, with dot).
SUPPORTED_EXTENSIONS = (".safetensors", ".gguf", ".npy", ".npz", ".txt", ".vec")


def _load_mapped(name_or_path, tensor, dt) -> EmbeddingMatrix:
    """``load_embeddings(..., mmap=True)``: a read-only memmap over rows stored in ``dt``."""
    from ..rows import FileRows, open_rows

    src = open_rows(name_or_path, tensor=tensor, dtype=dt)
    if not isinstance(src, FileRows) or src.bf16 or src.raw.newbyteorder("=") != dt or not src.raw.isnative:
        stored = getattr(src, "quantization", None) or ("BF16" if getattr(src, "bf16", False) else getattr(src, "raw", "?"))
        raise ValueError(
            f"{src.where}: mmap=True maps rows stored as {np.dtype(dt).name}, but this tensor is stored as "
            f"{stored}; read it by row ranges with cstoolkit.rows.open_rows({str(name_or_path)!r}), which "
            "converts or dequantises one block at a time, or load it whole with mmap=False"
        )
    data = np.memmap(src.path, dtype=dt, mode="r", offset=src.offset, shape=src.shape)
    fmt = "npy" if src.path.endswith(".npy") else "safetensors"
    name = str(name_or_path).lower() if isinstance(name_or_path, str) and not os.path.sep in str(name_or_path) \
        and str(name_or_path).lower() in _BUILTINS else Path(src.path).stem
    source = {"path": src.path, "format": fmt, "tensor": tensor if fmt == "safetensors" else None,
              "original_dtype": np.dtype(dt).name, "quantization": None, "mmap": True}
    return EmbeddingMatrix(data=data, source=source, name=name)


def load_embeddings(
    name_or_path: str | os.PathLike,
    *,
    tensor: str | None = None,
    dtype=np.float32,
    mmap: bool = False,
) -> EmbeddingMatrix:
    """Load an embedding matrix from a built-in name or a file.

    Parameters
    ----------
    name_or_path : str or path-like
        A built-in name (``"minilm"``, ``"smollm2"``; case-insensitive, see
        :func:`available_embeddings`) or a path whose extension selects the
        format: ``.safetensors``, ``.gguf``, ``.npy``, ``.npz``, ``.txt``/``.vec``
        (word2vec/GloVe text).  ``Path`` objects are always treated as paths.
    tensor : str or None, default None
        Tensor/array to load from multi-tensor files.  None means:
        safetensors -- the unique 2-D tensor whose name contains ``"embed"``;
        GGUF -- ``"token_embd.weight"``; npz -- the only array; built-ins -- the
        token embedding tensor.  Not allowed for ``.npy`` and text files.
    dtype : floating dtype, default numpy.float32
        dtype of the returned data (conversion happens after dequantisation).
    mmap : bool, default False
        Map the tensor's bytes instead of reading them: ``data`` is then a read-only
        :class:`numpy.memmap` over the file (safetensors or ``.npy`` stored in ``dtype``,
        e.g. F32 for the default float32; the built-in ``"minilm"``), and nothing of the table is
        read until rows are used. The whole-table NaN/Inf check is skipped (it would read every
        byte); the learners check each block they read. Stored dtypes that need a conversion
        (F16, BF16, quantised GGUF such as ``"smollm2"``) raise ``ValueError``: read those by
        row ranges with :func:`cstoolkit.rows.open_rows`, which converts or dequantises one
        block at a time.

    Returns
    -------
    EmbeddingMatrix
        ``data`` has shape ``(n_tokens, dim)`` and is read-only.  Built-ins are
        cached per process: with the default dtype every call shares one buffer;
        other dtypes get a fresh (read-only) converted array.

    Raises
    ------
    FileNotFoundError
        The path does not exist (or a built-in package is missing its data file).
    IsADirectoryError
        The path is a directory.
    ValueError
        Unknown name or extension, unknown/ambiguous tensor, tensor not 2-D,
        non-float tensor, malformed file, or NaN/Inf values in the data.
    EmbeddingsNotAvailable
        (an ``ImportError``) a built-in's package or the ``gguf`` package is not
        installed; the message gives the ``pip install`` command.

    Examples
    --------
    >>> emb = load_embeddings("minilm")          # doctest: +SKIP
    >>> emb.shape, emb.tokens[1000]              # doctest: +SKIP
    ((30522, 384), '!')
    """
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating dtype (e.g. np.float32), got {dt}")
    if mmap:
        return _load_mapped(name_or_path, tensor, dt)

    if isinstance(name_or_path, str) and name_or_path.lower() in _BUILTINS:
        key = name_or_path.lower()
        raw, tokens, source = _load_builtin_cached(key, tensor)
        data = raw if dt == raw.dtype else _finalize(raw, dt, key)
        name = key if tensor is None else f"{key}:{source['tensor']}"
        return EmbeddingMatrix(
            data=data,
            source=copy.deepcopy(source),
            name=name,
            tokens=list(tokens) if tokens is not None else None,
        )

    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"name_or_path must be a str or path-like, got {type(name_or_path).__name__}"
        )
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a directory; pass a file ending in one of {list(SUPPORTED_EXTENSIONS)} "
            f"(or a built-in name: {sorted(_BUILTINS)})"
        )
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        if not ext and not path.exists():
            raise ValueError(
                f"unknown embedding name {str(name_or_path)!r}: built-in names are "
                f"{sorted(_BUILTINS)}; otherwise pass a path ending in one of "
                f"{list(SUPPORTED_EXTENSIONS)}"
            )
        raise ValueError(
            f"unsupported file extension {ext or '(none)'!r} for {path}; supported: "
            f"{list(SUPPORTED_EXTENSIONS)} (or a built-in name: {sorted(_BUILTINS)})"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"embedding file not found: {path} (cwd: {os.getcwd()}); check the path, "
            f"or use a built-in name: {sorted(_BUILTINS)}"
        )

    t0 = time.perf_counter()
    tokens: list[str] | None = None
    if ext == ".safetensors":
        arr, source = _load_safetensors(path, tensor)
        vocab = path.with_name("vocab.txt")
        if vocab.is_file():
            tokens = _read_vocab_txt(vocab, arr.shape[0])
            if tokens is not None:
                source["tokens_from"] = str(vocab)
    elif ext == ".gguf":
        arr, tokens, source = _load_gguf(path, tensor)
    elif ext == ".npy":
        arr, source = _load_npy(path, tensor)
    elif ext == ".npz":
        arr, source = _load_npz(path, tensor)
    else:  # .txt / .vec
        arr, tokens, source = _load_text(path, tensor)

    what = f"{path}" + (f" [{source['tensor']}]" if source.get("tensor") else "")
    data = _finalize(arr, dt, what)
    logger.info("loaded %s %s from %s in %.2fs", source["format"], data.shape, path,
                time.perf_counter() - t0)
    name = path.stem + (f":{source['tensor']}" if source.get("tensor") else "")
    return EmbeddingMatrix(data=data, source=source, name=name, tokens=tokens)
