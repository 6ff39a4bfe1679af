"""``.npy`` and ``.npz`` (``allow_pickle=False``), the header checked against the byte count before
numpy allocates."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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
