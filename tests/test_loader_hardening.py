"""Broken and hostile embedding files: every failure is a ValueError naming the file and field.

The "What was seen" items of issue 14 first (each one failed before the loaders checked every
header field), then a property-based fuzz test (hypothesis) over safetensors, GGUF, npy/npz and
word2vec text: every mutation of a valid file either loads the matrix an independent reader
gives (the ``safetensors`` library, ``numpy.load``, a plain text parser written here) or raises
a ValueError that names the file -- never another exception, never a large allocation.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cstoolkit.embeddings import load_embeddings  # noqa: E402

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# a fuzzed file is a few kB: a loader that allocates more than this trusted a header
ALLOC_LIMIT = 8 * 2**20


def st_file(header: dict, data: bytes = b"") -> bytes:
    """A safetensors file from a raw header dict (no validation: tests write broken ones)."""
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def good_st(x: np.ndarray) -> bytes:
    raw = np.ascontiguousarray(x, "<f4").tobytes()
    ids = np.arange(3, dtype="<i8").tobytes()
    return st_file({"__metadata__": {"format": "pt"},
                    "embed.weight": {"dtype": "F32", "shape": list(x.shape), "data_offsets": [0, len(raw)]},
                    "ids": {"dtype": "I64", "shape": [3], "data_offsets": [len(raw), len(raw) + len(ids)]}},
                   raw + ids)


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)


# --------------------------------------------------------------------------- #
# the cases seen in issue 14
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("entry, field", [
    # negative offsets used to read the header's own JSON bytes as floats (2.1e37)
    ({"dtype": "F32", "shape": [2, 4], "data_offsets": [-40, -8]}, "data_offsets"),
    ({"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 32]}, "shape"),   # was a (0, 4) matrix
    ({"dtype": "F32", "shape": [2.7, 4], "data_offsets": [0, 32]}, "shape"),  # was two rows
    ({"dtype": "F32", "shape": [True, 8], "data_offsets": [0, 32]}, "shape"),
    ({"dtype": "F32", "shape": [2, 4], "data_offsets": [0.0, 32]}, "data_offsets"),
    ({"dtype": "F32", "shape": [2, 4], "data_offsets": [0]}, "data_offsets"),
    ({"dtype": "F32", "shape": [2, 4]}, "data_offsets"),
    ({"dtype": "F31", "shape": [2, 4], "data_offsets": [0, 32]}, "dtype"),
    # product overflows int64: used to be a reshape error naming no file
    ({"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 32]}, "data_offsets"),
    ({"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 24]}, "data_offsets"),
])
def test_safetensors_bad_header_fields(tmp_path, entry, field):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(st_file({"embed": entry}, b"\0" * 32))
    with pytest.raises(ValueError, match=rf"bad\.safetensors.*'embed'.*{field}"):
        load_embeddings(p)


def test_safetensors_offsets_must_tile_the_data(tmp_path, x):
    raw = x.tobytes()  # 96 bytes
    e = lambda lo, hi: {"dtype": "F32", "shape": [(hi - lo) // 4], "data_offsets": [lo, hi]}  # noqa: E731
    cases = {
        "overlap": ({"embed": {"dtype": "F32", "shape": [4, 6], "data_offsets": [0, 96]}, "b": e(88, 96)}, raw),
        "gap": ({"embed": {"dtype": "F32", "shape": [4, 6], "data_offsets": [8, 104]}}, b"\0" * 8 + raw),
        "truncated": ({"embed": {"dtype": "F32", "shape": [4, 6], "data_offsets": [0, 96]}}, raw[:-4]),
        "bytes after": ({"embed": {"dtype": "F32", "shape": [4, 6], "data_offsets": [0, 96]}}, raw + b"\0" * 4),
    }
    msg = {"overlap": "overlaps", "gap": "gap", "truncated": "truncated", "bytes after": "after the last"}
    for what, (header, data) in cases.items():
        p = tmp_path / f"{what.replace(' ', '_')}.safetensors"
        p.write_bytes(st_file(header, data))
        with pytest.raises(ValueError, match=msg[what]) as info:
            load_embeddings(p, tensor="embed")
        assert p.name in str(info.value)


def test_safetensors_metadata_and_entry_types(tmp_path, x):
    raw = x.tobytes()
    ok = {"dtype": "F32", "shape": [4, 6], "data_offsets": [0, 96]}
    for header, field in [({"__metadata__": {"a": 1}, "embed": ok}, "__metadata__"),
                          ({"embed": ok, "other": [1, 2]}, "'other'"),
                          ([ok], "JSON object")]:
        p = tmp_path / "m.safetensors"
        p.write_bytes(st_file(header, raw))
        with pytest.raises(ValueError, match=field):
            load_embeddings(p, tensor="embed")


def test_empty_npy_and_npz(tmp_path):
    for name in ("e.npy", "e.npz"):
        p = tmp_path / name
        p.write_bytes(b"")
        with pytest.raises(ValueError, match=rf"{name}.*empty file"):  # was EOFError
            load_embeddings(p)


def test_npz_with_a_non_array_member(tmp_path, x):
    p = tmp_path / "mixed.npz"
    with zipfile.ZipFile(p, "w") as z:
        buf = io.BytesIO()
        np.save(buf, x)
        z.writestr("emb.npy", buf.getvalue())
        z.writestr("README.txt", "not an array")
    with pytest.raises(ValueError, match=r"mixed\.npz.*README\.txt.*not \.npy arrays"):  # was AttributeError
        load_embeddings(p, tensor="emb")


def test_npy_header_claiming_more_than_the_file(tmp_path, x):
    p = tmp_path / "big.npy"
    # a header that claims 2^31 x 2^31 floats (product beyond int64 in bytes) over 96 bytes of data
    hdr = {"descr": "<f4", "fortran_order": False, "shape": (2**31, 2**31)}
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, hdr)
    p.write_bytes(out.getvalue() + x.tobytes())
    with pytest.raises(ValueError, match=r"big\.npy.*'shape'.*needs"):
        load_embeddings(p)


def test_directory_is_reported_as_a_directory(tmp_path):
    d = tmp_path / "vectors.npy"
    d.mkdir()
    for path in (d, tmp_path):
        with pytest.raises(IsADirectoryError, match="is a directory"):  # was "not found"
            load_embeddings(path)


def test_word2vec_header_fields(tmp_path):
    p = tmp_path / "w.txt"
    for head in ("-2 3", "2 0", "2 -3"):
        p.write_text(f"{head}\na 1 2 3\nb 4 5 6\n")
        with pytest.raises(ValueError, match=r"w\.txt:1: word2vec header"):
            load_embeddings(p)


# --------------------------------------------------------------------------- #
# fuzz: mutations of valid files
# --------------------------------------------------------------------------- #
def _load_checked(path, **kw):
    """Load under tracemalloc; return the matrix or None for a clear ValueError."""
    tracemalloc.start()
    try:
        out = load_embeddings(path, **kw)
    except ValueError as exc:
        assert str(path.name) in str(exc), f"error does not name the file: {exc}"
        out = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < ALLOC_LIMIT, f"{peak / 2**20:.0f} MiB allocated for a {path.stat().st_size}-byte file"
    return out


def mutations():
    """Byte-level mutations: flip, overwrite with a boundary value, truncate, insert, delete."""
    return st.one_of(
        st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
        st.tuples(st.just("put"), st.integers(0, 10**6),
                  st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"\x7f" + b"\xff" * 7, b"-", b"9" * 12, b'"', b"["])),
        st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
        st.tuples(st.just("ins"), st.integers(0, 10**6), st.binary(min_size=1, max_size=9)),
        st.tuples(st.just("del"), st.integers(0, 10**6), st.integers(1, 16)),
    )


def mutate(raw: bytes, ops) -> bytes:
    b = bytearray(raw)
    for op, pos, arg in ops:
        pos = pos % (len(b) + 1)
        if op == "flip" and pos < len(b):
            b[pos] ^= arg
        elif op == "put":
            b[pos:pos + len(arg)] = arg
        elif op == "cut":
            del b[pos:]
        elif op == "ins":
            b[pos:pos] = arg
        elif op == "del":
            del b[pos:pos + arg]
    return bytes(b)


# JSON values a header field could be replaced with
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6,
)


@FUZZ
@given(ops=st.lists(mutations(), min_size=1, max_size=3))
def test_fuzz_safetensors_bytes(tmp_path, x, ops):
    from safetensors.numpy import load as st_load

    raw = mutate(good_st(x), ops)
    p = tmp_path / "f.safetensors"
    p.write_bytes(raw)
    got = _load_checked(p, tensor="embed.weight")
    if got is not None:  # accepted: the reference library must read the same tensor
        np.testing.assert_array_equal(got.data, st_load(raw)["embed.weight"])


@FUZZ
@given(tensor=st.sampled_from(["embed.weight", "ids"]), field=st.sampled_from(["dtype", "shape", "data_offsets"]),
       value=json_values | st.lists(st.integers(-2**70, 2**70), min_size=0, max_size=3))
@example(tensor="embed.weight", field="dtype", value=[])  # an unhashable dtype: TypeError
def test_fuzz_safetensors_header_fields(tmp_path, x, tensor, field, value):
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    raw = good_st(x)
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header[tensor][field] = value
    new = st_file(header, raw[8 + n:])
    p = tmp_path / "h.safetensors"
    p.write_bytes(new)
    got = _load_checked(p, tensor="embed.weight")
    try:
        ref = st_load(new)["embed.weight"]
    except (SafetensorError, Exception):  # the reference refuses the file (or cannot view the dtype)
        ref = None
    if got is not None:
        assert ref is not None, f"accepted a header the reference refuses: {header}"
        np.testing.assert_array_equal(got.data, ref)


def _npy_bytes(x) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


@FUZZ
@given(ops=st.lists(mutations(), min_size=1, max_size=3))
@example(ops=[("flip", 6, 1)])  # format version 0.0: numpy read a 4-byte header length (632 MiB)
@example(ops=[("flip", 10, 1)])  # a header numpy's tokenizer chokes on (TokenError)
def test_fuzz_npy(tmp_path, x, ops):
    raw = mutate(_npy_bytes(x), ops)
    p = tmp_path / "f.npy"
    p.write_bytes(raw)
    got = _load_checked(p)
    if got is not None:
        np.testing.assert_array_equal(got.data, np.load(io.BytesIO(raw), allow_pickle=False).astype(np.float32))


@FUZZ
@given(ops=st.lists(mutations(), min_size=1, max_size=3), compress=st.booleans())
@example(ops=[("ins", 0, b"\x00")], compress=False)  # zipfile tolerates a prefix, numpy.load does not
def test_fuzz_npz(tmp_path, x, ops, compress):
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, emb=x)
    raw = mutate(buf.getvalue(), ops)
    p = tmp_path / "f.npz"
    p.write_bytes(raw)
    got = _load_checked(p, tensor="emb")
    if got is not None:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            np.testing.assert_array_equal(got.data, z["emb"].astype(np.float32))


def _plain_text_reference(text: str):
    """word2vec/GloVe read the simplest way: header line optional, word then numbers."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0].split()
    if len(first) == 2 and all(t.lstrip("+-").isdigit() for t in first):
        lines = lines[1:]
    dim = len(lines[0].split()) - 1
    return np.array([[float(v) for v in ln.rsplit(None, dim)[1:]] for ln in lines], dtype=np.float32)


@FUZZ
@given(ops=st.lists(mutations(), min_size=1, max_size=3), header=st.booleans())
def test_fuzz_word2vec_text(tmp_path, x, ops, header):
    body = "".join(f"w{i} " + " ".join(f"{v:.6g}" for v in row) + "\n" for i, row in enumerate(x))
    text = (f"{x.shape[0]} {x.shape[1]}\n" if header else "") + body
    raw = mutate(text.encode(), ops)
    p = tmp_path / "f.txt"
    p.write_bytes(raw)
    got = _load_checked(p)
    if got is not None:
        ref = _plain_text_reference(raw.decode("utf-8", errors="replace"))
        np.testing.assert_array_equal(got.data, ref)


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory):
    gguf = pytest.importorskip("gguf")
    Q = gguf.GGMLQuantizationType
    rng = np.random.default_rng(5)
    p = tmp_path_factory.mktemp("g") / "base.gguf"
    w = gguf.GGUFWriter(str(p), arch="llama")
    w.add_token_list([f"t{i}" for i in range(6)])
    w.add_tensor("token_embd.weight", gguf.quants.quantize(rng.standard_normal((6, 32)).astype(np.float32), Q.Q8_0),
                 raw_dtype=Q.Q8_0)
    w.add_tensor("output.weight", rng.standard_normal((3, 4)).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return p.read_bytes()


@FUZZ
@given(ops=st.lists(mutations(), min_size=1, max_size=3), tensor=st.sampled_from(["token_embd.weight", "output.weight"]))
def test_fuzz_gguf(tmp_path, gguf_file, ops, tensor):
    raw = mutate(gguf_file, ops)
    p = tmp_path / "f.gguf"
    p.write_bytes(raw)
    got = _load_checked(p, tensor=tensor)
    if got is not None:
        assert got.data.ndim == 2 and np.isfinite(got.data).all()
        assert got.shape[0] * got.shape[1] == got.source["gguf_shape"][0] * got.source["gguf_shape"][1]
