"""Full-size vocabularies (issue 16): float32 end to end, codes block by block, streamed input.

References: the in-memory learner itself (a streamed fit must give the same atoms bit for bit),
plain numpy reads of the same file, and tracemalloc for memory (a float64 copy of the table
would show as twice the table's bytes, a float32 copy as once).
"""

import json
import os
import struct
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import cstoolkit.learners.base as LB
import cstoolkit.rows as R
from cstoolkit import OMP
from cstoolkit.compression import compress
from cstoolkit.embeddings import load_embeddings
from cstoolkit.learners.online import OnlineDictionaryLearning
from cstoolkit.rows import ArrayRows, StackedRows, open_rows


def _table(n=6000, m=24, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, m)) * 0.3).astype(np.float32)


def _learner(**kw):
    p = dict(n_atoms=48, coder=OMP(n_nonzero_coefs=4), batch_size=200, random_state=3)
    p.update(kw)
    return OnlineDictionaryLearning(**p)


def _write_safetensors(path, X, name="embed.weight"):
    header = {name: {"dtype": "F32", "shape": list(X.shape), "data_offsets": [0, X.nbytes]}}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)) + h + np.ascontiguousarray(X, dtype="<f4").tobytes())


def _extra_peak(f):
    """(result, peak bytes allocated by f above what was allocated when it started)."""
    tracemalloc.start()
    try:
        c0 = tracemalloc.get_traced_memory()[0]
        out = f()
        return out, tracemalloc.get_traced_memory()[1] - c0
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- float32 end to end
def test_float32_is_kept_by_loader_learner_codes_and_compression():
    X = _table()
    emb = load_embeddings("minilm")
    assert emb.dtype == np.float32
    assert open_rows("minilm")[:10].dtype == np.float32
    est = _learner().fit(X)
    assert est.components_.dtype == est.state_.A.dtype == est.state_.B.dtype == np.float32
    assert est.transform(X).dtype == np.float32
    assert est.transform(X, sparse_output=True).dtype == np.float32
    X_hat, _, _ = compress(X, "dictionary", X.nbytes // 4, dictionary=est)
    assert X_hat.dtype == np.float32


def test_fit_and_sparse_encode_allocate_nothing_table_sized(monkeypatch):
    monkeypatch.setattr(R, "BLOCK_BYTES", 1 << 18)  # the scan pass reads 256 KiB blocks
    X = _table(n=40000, m=32)
    _learner(n_atoms=64).fit(X[:400]).transform(X[:400])  # warm up imports / compiled kernels
    est = _learner(n_atoms=64)
    _, fit_peak = _extra_peak(lambda: est.fit(X))
    # a float64 copy of the table would be 2x its bytes, a float32 copy 1x; what is allowed: the
    # row permutation and the non-zero row list (8 bytes per row each, 1/8 of a 32-wide table)
    # and one mini-batch
    assert fit_peak < 0.3 * X.nbytes, fit_peak / X.nbytes
    C, enc_peak = _extra_peak(lambda: est.transform(X, sparse_output=True, block_rows=1000))
    assert sp.issparse(C) and C.shape == (40000, 64)
    csr_bytes = C.data.nbytes + C.indices.nbytes + C.indptr.nbytes
    block_bytes = 1000 * 64 * 4
    dense_bytes = 40000 * 64 * 4
    # bounded by the output CSR (built once, stacked once) plus a few blocks, not by N x n_atoms
    assert enc_peak < 2.5 * csr_bytes + 8 * block_bytes, (enc_peak, csr_bytes)
    assert enc_peak < 0.35 * dense_bytes
    _, cmp_peak = _extra_peak(lambda: compress(X, "dictionary", X.nbytes // 4, dictionary=est))
    assert cmp_peak < 1.6 * X.nbytes  # the output X_hat itself is 1x


def test_sparse_by_default_at_large_size(monkeypatch):
    X = _table(n=3000)
    est = _learner().fit(X)
    assert isinstance(est.transform(X), np.ndarray)  # small: dense
    monkeypatch.setattr(LB, "DENSE_CODES_BYTES", 3000 * 48 * 4 - 1)
    C = est.transform(X)
    assert sp.issparse(C)
    np.testing.assert_array_equal(C.toarray(), est.transform(X, sparse_output=False))
    # block size does not change the codes of OMP: the same supports, values equal to float32
    # rounding (the BLAS may sum a 7-row block's correlations in another order than a 3000-row one)
    Cb = est.transform(X, sparse_output=True, block_rows=7).toarray()
    np.testing.assert_array_equal(Cb != 0, C.toarray() != 0)
    np.testing.assert_allclose(Cb, C.toarray(), rtol=1e-5, atol=0)
    with pytest.raises(ValueError, match="block_rows"):
        est.transform(X, block_rows=0)


# ---------------------------------------------------------------- streamed sources
@pytest.mark.parametrize("fmt", ["npy", "safetensors", "mmap", "stacked"])
def test_streamed_fit_equals_in_memory_fit(tmp_path, fmt):
    X = _table()
    if fmt == "npy":
        np.save(tmp_path / "t.npy", X)
        src = open_rows(tmp_path / "t.npy")
    elif fmt == "safetensors":
        _write_safetensors(tmp_path / "t.safetensors", X)
        src = open_rows(tmp_path / "t.safetensors")
    elif fmt == "mmap":
        _write_safetensors(tmp_path / "t.safetensors", X)
        src = load_embeddings(tmp_path / "t.safetensors", mmap=True).data
        assert not src.flags.writeable and not src.flags.owndata
    else:
        src = StackedRows([X[:1000], ArrayRows(X[1000:4500]), X[4500:]])
    for shuffle in (True, False):
        ref = _learner(shuffle=shuffle).fit(X)
        got = _learner(shuffle=shuffle).fit(src)
        np.testing.assert_array_equal(got.components_, ref.components_)
        np.testing.assert_array_equal(got.state_.A, ref.state_.A)
    np.testing.assert_array_equal(got.transform(src), ref.transform(X))


def test_row_sources_read_what_numpy_reads(tmp_path):
    X = _table(n=500, m=12)
    np.save(tmp_path / "t.npy", X)
    src = open_rows(tmp_path / "t.npy")
    np.testing.assert_array_equal(src[10:300], X[10:300])
    idx = np.array([7, 3, 499, 3, -1])
    np.testing.assert_array_equal(src[idx], X[idx])
    np.testing.assert_array_equal(src[::7], X[::7])
    g = open_rows("smollm2")  # GGUF (Q8_0) dequantised by row range
    full = load_embeddings("smollm2").data
    np.testing.assert_array_equal(g[1000:1300], full[1000:1300])
    np.testing.assert_array_equal(g[np.array([40000, 5, 49151])], full[[40000, 5, 49151]])
    bf = np.frombuffer((X.view(np.uint32) >> 16).astype("<u2").tobytes(), dtype="<u2")
    # BF16 widening: the top 16 bits of float32 put back in place
    (tmp_path / "b.bin").write_bytes(bf.tobytes())
    b = R.FileRows(tmp_path / "b.bin", 0, X.shape, "bf16")
    np.testing.assert_array_equal(b[:], ((X.view(np.uint32) >> 16) << 16).view(np.float32))


def test_truncated_file_mid_stream_names_the_rows(tmp_path):
    X = _table(n=3000)
    np.save(tmp_path / "t.npy", X)
    src = open_rows(tmp_path / "t.npy")
    est = _learner(shuffle=False)
    calls = []

    def truncate_after_first_batch(learner, step):
        if step == 1:
            os.truncate(tmp_path / "t.npy", os.path.getsize(tmp_path / "t.npy") - 500 * 24 * 4)
        calls.append(step)

    est.set_params(callback=truncate_after_first_batch)
    with pytest.raises(ValueError, match=r"rows 2400\.\.2599 .*only rows 0\.\.2499 are complete.*truncated"):
        est.fit(src)
    assert calls[-1] == 12  # failed at the first batch past the new end, not silently


def test_bad_blocks_fail_with_the_row_range(tmp_path):
    X = _table(n=300)
    with pytest.raises(ValueError, match=r"block 1 \(rows 100\.\.299\) has 20 features; expected 24"):
        StackedRows([X[:100], X[100:, :20]])
    Y = X.copy()
    Y[250, 3] = np.nan
    with pytest.raises(ValueError, match=r"rows \d+\.\.299 hold 1 non-finite.*first bad rows: \[250\]"):
        _learner(batch_size=100, shuffle=False).fit(StackedRows([Y[:200], Y[200:]]))
    est = _learner().fit(X)
    with pytest.raises(ValueError, match="20 features"):
        est.transform(ArrayRows(X[:, :20]))
    with pytest.raises(ValueError, match="mmap=True maps rows stored as float32.*Q8_0.*open_rows"):
        load_embeddings("smollm2", mmap=True)
