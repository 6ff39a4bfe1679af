"""``.safetensors`` read with numpy only (F32, F16, BF16, F64), every header field checked before
anything is read, and the ``vocab.txt`` that may sit beside it."""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


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
