"""``.gguf`` read with the optional ``gguf`` package; quantised tensors are dequantised with
``gguf.quants``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from .matrix import EmbeddingsNotAvailable

logger = logging.getLogger(__name__)


_GGUF_INSTALL = "pip install gguf"


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
