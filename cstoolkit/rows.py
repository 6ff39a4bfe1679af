r"""Row sources: tables read by row ranges, never whole (streaming input of the learners).

A :class:`RowSource` is a 2-D table of shape ``(n_rows, n_features)`` that hands out rows on
demand: ``src[a:b]`` or ``src[index_array]`` returns a fresh float ndarray of those rows only.
The dictionary learners (:class:`~cstoolkit.learners.online.OnlineDictionaryLearning`'s
``fit`` and every learner's ``transform``) accept one wherever they accept an array, and then
touch the table one block of rows at a time, so a table larger than memory can be learned
from and encoded.

=========================  =================================================================
source                     how rows are read
=========================  =================================================================
:class:`ArrayRows`         any ndarray or :class:`numpy.memmap` (``load_embeddings(...,
                           mmap=True)`` gives a read-only memmap)
:class:`FileRows`          safetensors / ``.npy`` tensors: ``os.pread`` of the byte range of
                           the requested rows (F16/BF16 widened per block)
:class:`GGUFRows`          GGUF tensors: the quantised bytes of the requested rows, taken from
                           the reader's memmap, dequantised with ``gguf.quants`` per block
:class:`StackedRows`       a list of row blocks (shards) of one width, stacked lazily
=========================  =================================================================

:func:`open_rows` opens a file or a built-in name (``"minilm"``, ``"smollm2"``) as the right
source. Every read is checked: rows past the end of a file that shrank after it was opened
(a truncated download, a file rewritten mid-stream) raise ``ValueError`` naming the row range
and the bytes missing, and non-finite values raise ``ValueError`` naming the rows, instead of
a crash (``SIGBUS`` on a mapped page that no longer exists) or a silent wrong answer.

Blocks are converted to ``dtype`` (float32 by default) as they are read; nothing table-sized
is ever allocated.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path

import numpy as np

__all__ = ["RowSource", "ArrayRows", "FileRows", "GGUFRows", "StackedRows", "open_rows", "as_row_source",
           "default_block_rows"]

#: bytes of one block of rows handed out by :meth:`RowSource.blocks` when no size is given
BLOCK_BYTES = 32 << 20


def default_block_rows(n_features: int, itemsize: int = 4, *, block_bytes: int | None = None) -> int:
    """Rows of ``n_features`` values of ``itemsize`` bytes that fill ``block_bytes`` (at least 1).

    ``block_bytes=None`` reads the module's ``BLOCK_BYTES`` (32 MiB) at call time.
    """
    block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
    return max(1, int(block_bytes) // max(1, int(n_features) * int(itemsize)))


def _check_block(block: np.ndarray, start: int, stop: int, where: str, rows=None) -> np.ndarray:
    if not np.isfinite(block).all():
        bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
        bad = (bad + start) if rows is None else np.asarray(rows)[bad]
        raise ValueError(
            f"{where}: rows {start}..{stop - 1} hold {int((~np.isfinite(block)).sum())} non-finite (NaN/Inf) "
            f"values (first bad rows: {bad[:5].tolist()}); the file is corrupt "
            "or overflowed on conversion"
        )
    return block


class RowSource(abc.ABC):
    """A ``(n_rows, n_features)`` table read by rows.

    Subclasses implement :meth:`_read` (a contiguous row range) and may override
    :meth:`_take` (rows given by sorted unique indices). Indexing with a slice of step 1 or a
    1-D integer array returns a new C-contiguous array of ``dtype``, checked finite.

    Attributes
    ----------
    shape : tuple (n_rows, n_features)
    dtype : numpy.dtype
        dtype of the rows handed out (float32 or float64).
    where : str
        What the rows come from (used in error messages).
    """

    ndim = 2

    def __init__(self, shape, dtype, where):
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"{where}: a row source hands out floating rows; got dtype {self.dtype}")
        self.where = where

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.where}, shape={self.shape}, dtype={self.dtype})"

    @abc.abstractmethod
    def _read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start..stop-1`` as an array of ``(stop - start, n_features)`` (any float dtype)."""

    def _take(self, rows: np.ndarray) -> np.ndarray:
        """Rows at the sorted unique indices ``rows``; default: one read per contiguous run."""
        if rows.size == 0:
            return np.empty((0, self.shape[1]), dtype=self.dtype)
        cuts = np.flatnonzero(np.diff(rows) != 1) + 1
        runs = np.split(rows, cuts)
        return np.concatenate([np.asarray(self._read(int(r[0]), int(r[-1]) + 1), dtype=self.dtype)
                               for r in runs], axis=0)

    def __getitem__(self, key) -> np.ndarray:
        n = self.shape[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step != 1:
                return self[np.arange(start, stop, step)]
            stop = max(stop, start)
            out = np.ascontiguousarray(self._read(start, stop), dtype=self.dtype)
            return _check_block(out, start, stop, self.where)
        idx = np.asarray(key)
        if idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise TypeError(f"{self.where}: rows are indexed by a slice or a 1-D integer array; got {key!r:.60}")
        idx = np.where(idx < 0, idx + n, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"{self.where}: row index out of range for {n} rows")
        uniq, inv = np.unique(idx, return_inverse=True)
        out = np.ascontiguousarray(self._take(uniq), dtype=self.dtype)[inv]
        lo, hi = (int(uniq[0]), int(uniq[-1]) + 1) if uniq.size else (0, 0)
        return _check_block(out, lo, hi, self.where, rows=idx)

    def blocks(self, block_rows: int | None = None, start: int = 0, stop: int | None = None):
        """Yield ``(first_row, rows)`` for consecutive blocks of ``block_rows`` rows."""
        stop = self.shape[0] if stop is None else stop
        step = block_rows or default_block_rows(self.shape[1], self.dtype.itemsize)
        for s in range(start, stop, step):
            yield s, self[s: min(s + step, stop)]

    def max_abs(self, block_rows: int | None = None) -> float:
        """``max |x|`` over the table, one block at a time."""
        m = 0.0
        for _, b in self.blocks(block_rows):
            if b.size:
                m = max(m, float(b.max()), -float(b.min()))
        return m

    def nonzero_rows(self, block_rows: int | None = None) -> np.ndarray:
        """Indices of the rows with a non-zero entry, one block at a time."""
        out = [s + np.flatnonzero(b.any(axis=1)) for s, b in self.blocks(block_rows)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


class ArrayRows(RowSource):
    """Rows of an in-memory array or a :class:`numpy.memmap` (no copy until rows are asked for)."""

    def __init__(self, array, *, dtype=None, where="array"):
        a = np.asarray(array) if not isinstance(array, np.ndarray) else array
        if a.ndim != 2:
            raise ValueError(f"{where}: expected a 2-D table (n_rows, n_features); got shape {a.shape}")
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{where}: expected real numbers; got dtype {a.dtype}")
        dt = dtype if dtype is not None else (a.dtype if a.dtype in (np.float32, np.float64) else np.float64)
        super().__init__(a.shape, dt, where)
        self.array = a

    def _read(self, start, stop):
        # a copy: the rows handed out are the caller's to modify (a view would let an in-place
        # operation on a block write through to the user's table)
        return np.array(self.array[start:stop], dtype=self.dtype, order="C")

    def _take(self, rows):
        return self.array[rows]


class _FileBacked(RowSource):
    """Rows stored row-major at a byte offset of a file, ``row_bytes`` bytes per row."""

    def __init__(self, path, offset, row_bytes, shape, dtype, where):
        super().__init__(shape, dtype, where)
        self.path = str(path)
        self.offset = int(offset)
        self.row_bytes = int(row_bytes)

    def _check_span(self, start, stop):
        """The file still holds rows ``start..stop-1`` (it may have shrunk since it was opened)."""
        size = os.stat(self.path).st_size
        end = self.offset + stop * self.row_bytes
        if end > size:
            have = max(0, (size - self.offset) // self.row_bytes)
            raise ValueError(
                f"{self.where}: rows {start}..{stop - 1} need bytes up to {end} but the file now holds {size} "
                f"bytes (only rows 0..{have - 1} are complete); the file was truncated or rewritten while "
                "being read"
            )


class FileRows(_FileBacked):
    """A safetensors / ``.npy`` tensor read with ``os.pread`` by row range (never mapped whole).

    Parameters
    ----------
    path : path-like
    offset : int
        Byte offset of row 0 in the file.
    shape : (n_rows, n_features)
    raw_dtype : numpy dtype or "bf16"
        How the bytes are stored (little-endian); ``"bf16"`` is widened to float32 by a shift.
    dtype : float dtype, default float32
        dtype of the rows handed out.
    """

    def __init__(self, path, offset, shape, raw_dtype, *, dtype=np.float32, where=None):
        self.bf16 = isinstance(raw_dtype, str) and raw_dtype.lower() == "bf16"
        self.raw = np.dtype("<u2") if self.bf16 else np.dtype(raw_dtype)
        super().__init__(path, offset, shape[1] * self.raw.itemsize, shape, dtype, where or str(path))

    def _read(self, start, stop):
        self._check_span(start, stop)
        n = (stop - start) * self.row_bytes
        buf = bytearray(n)
        with open(self.path, "rb", buffering=0) as fh:
            got = os.preadv(fh.fileno(), [buf], self.offset + start * self.row_bytes) if n else 0
        if got != n:
            raise ValueError(f"{self.where}: rows {start}..{stop - 1}: read {got} of {n} bytes; the file is truncated")
        raw = np.frombuffer(buf, dtype=self.raw).reshape(stop - start, self.shape[1])
        if self.bf16:
            return (raw.astype(np.uint32) << 16).view(np.float32)
        return raw


class GGUFRows(_FileBacked):
    """A GGUF tensor whose blocks are dequantised lazily, only for the rows asked for.

    The rows' quantised bytes come from the ``gguf`` reader's memmap (each row of a
    ``(n_rows, dim)`` tensor is a whole number of quantisation blocks) and are dequantised by
    ``gguf.quants.dequantize``; the file size is checked before every read.
    """

    def __init__(self, path, tensor="token_embd.weight", *, dtype=np.float32):
        from .embeddings.gguf_format import _import_gguf

        gguf = _import_gguf()
        reader = gguf.GGUFReader(str(path), "r")
        by_name = {t.name: t for t in reader.tensors}
        if tensor not in by_name:
            raise ValueError(f"{path}: no tensor named {tensor!r}; available tensors: {sorted(by_name)}")
        t = by_name[tensor]
        shape = tuple(int(d) for d in reversed([int(x) for x in t.shape]))
        if len(shape) != 2:
            raise ValueError(f"{path}: tensor {tensor!r} has shape {shape}, expected (n_tokens, dim)")
        data = t.data.reshape(shape[0], -1)
        super().__init__(path, int(t.data_offset), data.shape[1] * data.itemsize, shape, dtype,
                         f"{path} [{tensor}]")
        self._data, self._qtype, self._gguf = data, t.tensor_type, gguf
        self.quantization = t.tensor_type.name

    def _dequant(self, raw):
        q = self._qtype
        if q.name in ("F32", "F16", "F64"):
            return np.asarray(raw)
        return self._gguf.quants.dequantize(np.asarray(raw), q).reshape(raw.shape[0], self.shape[1])

    def _read(self, start, stop):
        self._check_span(start, stop)
        return self._dequant(self._data[start:stop])

    def _take(self, rows):
        self._check_span(int(rows[0]), int(rows[-1]) + 1)
        return self._dequant(self._data[rows])


class StackedRows(RowSource):
    """Row blocks (arrays or row sources, e.g. shards of a table) read as one table.

    Every block must have the width of the first; the error names the block and its rows.
    """

    def __init__(self, blocks, *, dtype=np.float32, where="stacked blocks"):
        blocks = list(blocks)
        if not blocks:
            raise ValueError(f"{where}: no blocks given")
        width = None
        starts = [0]
        for i, b in enumerate(blocks):
            shp = getattr(b, "shape", None)
            if shp is None or len(shp) != 2:
                raise ValueError(f"{where}: block {i} (rows from {starts[-1]}) is not 2-D; got shape {shp}")
            width = shp[1] if width is None else width
            if shp[1] != width:
                raise ValueError(
                    f"{where}: block {i} (rows {starts[-1]}..{starts[-1] + shp[0] - 1}) has {shp[1]} features; "
                    f"expected {width} like the blocks before it"
                )
            starts.append(starts[-1] + int(shp[0]))
        super().__init__((starts[-1], width), dtype, where)
        self.parts = [b if isinstance(b, RowSource) else ArrayRows(b, dtype=dtype, where=f"{where} block {i}")
                      for i, b in enumerate(blocks)]
        self.starts = np.asarray(starts)

    def _read(self, start, stop):
        out = []
        i = int(np.searchsorted(self.starts, start, side="right")) - 1
        while start < stop:
            lo, hi = int(self.starts[i]), int(self.starts[i + 1])
            e = min(stop, hi)
            part = self.parts[i]  # unchecked read: the finiteness check names rows of the whole table
            out.append(np.asarray(part._read(start - lo, e - lo), dtype=self.dtype))
            start, i = e, i + 1
        return np.concatenate(out, axis=0) if out else np.empty((0, self.shape[1]), dtype=self.dtype)


def as_row_source(X, *, dtype=None) -> RowSource:
    """``X`` itself if it is a :class:`RowSource`, else :class:`ArrayRows` over it."""
    return X if isinstance(X, RowSource) else ArrayRows(X, dtype=dtype)


def open_rows(name_or_path, *, tensor=None, dtype=np.float32) -> RowSource:
    """Open an embedding table for reading by row ranges (nothing table-sized is read).

    Parameters
    ----------
    name_or_path : str or path-like
        ``"minilm"`` / ``"smollm2"`` (the installed model packages) or a ``.safetensors``,
        ``.npy`` or ``.gguf`` file.
    tensor : str or None, default=None
        As in :func:`cstoolkit.embeddings.load_embeddings`.
    dtype : float dtype, default=numpy.float32
        dtype of the rows handed out.

    Returns
    -------
    RowSource
        :class:`FileRows` (safetensors, npy) or :class:`GGUFRows`.
    """
    from .embeddings.npy_format import _npy_header
    from .embeddings.packages import _require_package
    from .embeddings.safetensors_format import _SAFETENSORS_DTYPES, _pick_embed_tensor, _read_safetensors_header

    if isinstance(name_or_path, str) and name_or_path.lower() in ("minilm", "smollm2"):
        key = name_or_path.lower()
        pkg = _require_package(key)
        if key == "minilm":
            path = pkg / "model" / "model.safetensors"
            if tensor is None:
                header = _read_safetensors_header(path)[0]
                tensor = next(k for k in sorted(header) if "word_embeddings" in k)
        else:
            path = sorted(pkg.glob("*.gguf"))[0]
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"embedding file not found: {path}")
    ext = path.suffix.lower()
    if ext == ".gguf":
        return GGUFRows(path, tensor or "token_embd.weight", dtype=dtype)
    if ext == ".safetensors":
        entries, data_start = _read_safetensors_header(path)
        if tensor is None:
            names_2d = [k for k, v in entries.items() if len(v["shape"]) == 2]
            tensor = _pick_embed_tensor(names_2d, list(entries), path)
        if tensor not in entries:
            raise ValueError(f"{path}: no tensor named {tensor!r}; available tensors: {sorted(entries)}")
        info = entries[tensor]
        shape = tuple(info["shape"])
        if len(shape) != 2:
            raise ValueError(f"{path}: tensor {tensor!r} has shape {shape}, expected (n_tokens, dim)")
        st = info["dtype"]
        if st not in _SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: tensor {tensor!r} has dtype {st}; supported: {sorted(_SAFETENSORS_DTYPES)}")
        raw = "bf16" if st == "BF16" else _SAFETENSORS_DTYPES[st]
        return FileRows(path, data_start + info["data_offsets"][0], shape, raw, dtype=dtype,
                        where=f"{path} [{tensor}]")
    if ext == ".npy":
        if tensor is not None:
            raise ValueError(f"{path}: tensor= is only meaningful for .safetensors/.gguf, not .npy")
        with open(path, "rb") as fh:
            shape, raw = _npy_header(fh, path.stat().st_size, str(path))
            offset = fh.tell()
        if len(shape) != 2 or raw.kind not in "fiu":
            raise ValueError(f"{path}: expected a 2-D real array; got shape {shape}, dtype {raw}")
        if len(shape) == 2 and shape[0] > 1 and shape[1] > 1 and np.load(path, mmap_mode="r").flags.f_contiguous:
            raise ValueError(f"{path}: the array is stored in Fortran (column) order and cannot be read by "
                             "rows; re-save it with np.save(path, np.ascontiguousarray(a))")
        return FileRows(path, offset, shape, raw, dtype=dtype)
    raise ValueError(f"{path}: row-wise reading supports .safetensors, .npy and .gguf; got {ext or '(none)'!r}")
