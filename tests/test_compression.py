"""Tests for cstoolkit.compression against independent references (closed forms, scikit-learn
nearest neighbours, scipy cosine distances, scipy.sparse storage counts)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

import cstoolkit as cs
from cstoolkit.compression import (
    CompressionRecord,
    compress,
    cosine_preservation,
    evaluate_at_budget,
    index_bytes,
    neighbour_overlap,
    relative_frobenius_error,
    storage_for,
)
from cstoolkit.sparsify import storage_bytes


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    # low-rank plus noise, float32 like an embedding table
    return (rng.standard_normal((600, 8)) @ rng.standard_normal((8, 48)) + 0.3 * rng.standard_normal((600, 48))).astype(
        np.float32)


def test_index_bytes():
    assert [index_bytes(n) for n in (2, 256, 257, 384, 1024, 65536, 65537)] == [1, 1, 2, 2, 2, 2, 4]


def test_storage_matches_scipy_counts(X):
    N, m = X.shape
    # CSR of z entries with 1-byte column indices (m = 48) and 4-byte pointers = our count
    Xh, used, params = compress(X, "soft_threshold", 40_000)
    C = sp.csr_array(Xh)
    assert C.nnz == params["z"]
    assert index_bytes(m) == 1
    assert used == C.nnz * (4 + 1) + 4 * (N + 1)
    assert storage_bytes(C, value_bytes=4, index_bytes=4) - used == C.nnz * 3  # that one counts 4-byte indices
    # rank-r factors: (N + m) r v, as sparsify.storage_bytes counts them
    Xh, used, params = compress(X, "svd", 40_000)
    assert used == storage_bytes(cs.sparsify.svd_truncate(X, params["rank"]))


@pytest.mark.parametrize("method", ["keep_largest", "hard_threshold", "soft_threshold", "svd", "dictionary"])
def test_budget_is_tight(method, X):
    N, m = X.shape
    rng = np.random.default_rng(1)
    W = rng.standard_normal((64, m))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    budget = 60_000
    Xh, used, params = compress(X, method, budget, dictionary=W)
    assert used <= budget
    key = params.get("k", params.get("z", params.get("rank")))
    nxt = storage_for(method, (N, m), key + 1, n_atoms=params.get("n_atoms"))
    if method != "soft_threshold":  # ties at λ may leave fewer entries than allowed
        assert nxt > budget
    rec = evaluate_at_budget(X, method, budget, dictionary=W)
    assert isinstance(rec, CompressionRecord) and rec.bytes == used
    assert 0 < rec.rel_frobenius < 1 and 0 < rec.mean_cosine <= 1 and 0 <= rec.nn_overlap <= 1
    assert set(rec.as_dict()) >= {"bytes", "rel_frobenius", "mean_cosine", "nn_overlap", "params"}


def test_svd_error_is_eckart_young(X):
    Xh, used, params = compress(X, "svd", 30_000)
    s = np.linalg.svd(X.astype(np.float64), compute_uv=False)
    expect = np.sqrt(np.sum(s[params["rank"]:] ** 2) / np.sum(s**2))
    assert relative_frobenius_error(X, Xh) == pytest.approx(expect, rel=1e-3)


def test_keep_largest_and_soft_threshold_match_sparsify(X):
    Xh, _, params = compress(X, "keep_largest", 30_000)
    assert params["k"] == 30_000 // (600 * (4 + 1))
    ref = np.sort(np.abs(X), axis=1)[:, -params["k"]:]
    np.testing.assert_array_equal(np.sort(np.abs(Xh), axis=1)[:, -params["k"]:], ref)
    Xs, _, ps = compress(X, "soft_threshold", 30_000)
    lam = ps["lam"]
    np.testing.assert_allclose(Xs, np.sign(X) * np.maximum(np.abs(X) - lam, 0), atol=1e-7)


def test_dictionary_identity_equals_keep_largest(X):
    # OMP over an orthonormal basis keeps the k largest coefficients: with the identity as the
    # dictionary, the dictionary method equals per-row keep-largest (bytes differ by the dictionary)
    m = X.shape[1]
    budget = 600 * 5 * (4 + 1) + m * m * 4
    Xd, used, params = compress(X, "dictionary", budget, dictionary=np.eye(m))
    assert params["k"] == 5 and used == budget
    Xk, _, pk = compress(X, "keep_largest", 600 * 5 * (4 + 1))
    assert pk["k"] == 5
    np.testing.assert_allclose(Xd, Xk, atol=1e-6)


def test_quality_measures_against_references(X):
    rng = np.random.default_rng(3)
    Xh = X + 0.5 * rng.standard_normal(X.shape).astype(np.float32)
    expect_cos = np.mean(1 - np.diag(cdist(X, Xh, metric="cosine")))
    assert cosine_preservation(X, Xh) == pytest.approx(expect_cos, rel=1e-5)
    assert relative_frobenius_error(X, Xh) == pytest.approx(np.linalg.norm(X - Xh) / np.linalg.norm(X), rel=1e-5)
    # neighbour overlap against scikit-learn's brute-force cosine neighbours
    q = np.sort(np.random.default_rng(7).choice(600, size=50, replace=False))
    def nbrs(M):
        nn = NearestNeighbors(n_neighbors=11, metric="cosine", algorithm="brute").fit(M)
        idx = nn.kneighbors(M[q], return_distance=False)
        return [set(r[r != qi][:10]) for r, qi in zip(idx, q)]
    a, b = nbrs(X.astype(np.float64)), nbrs(Xh.astype(np.float64))
    expect = np.mean([len(s & t) / 10 for s, t in zip(a, b)])
    assert neighbour_overlap(X, Xh, n_queries=50, random_state=7) == pytest.approx(expect)
    assert neighbour_overlap(X, X, n_queries=50) == 1.0


def test_errors(X):
    with pytest.raises(ValueError, match="too small"):
        compress(X, "keep_largest", 100)
    with pytest.raises(ValueError, match="unknown method"):
        compress(X, "pca", 10_000)
    with pytest.raises(ValueError, match="needs dictionary"):
        compress(X, "dictionary", 100_000)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compress(bad, "svd", 100_000)
    with pytest.raises(ValueError, match="same shape"):
        relative_frobenius_error(X, X[:10])


# -- the method registry ---------------------------------------------------------------------------
def test_methods_are_registered_and_unknown_names_list_them(X):
    from cstoolkit.compression import METHODS, available_compression_methods

    names = available_compression_methods()
    assert set(names) == {"keep_largest", "hard_threshold", "soft_threshold", "svd", "dictionary"} == set(METHODS)
    with pytest.raises(ValueError, match="Available: " + ", ".join(names)):
        compress(X, "pca", 10_000)
    with pytest.raises(ValueError, match="Available:"):
        storage_for("pca", X.shape, 3)
    with pytest.raises(ValueError, match="needs n_atoms"):
        storage_for("dictionary", X.shape, 3)


def test_a_new_method_is_one_class_and_one_decorator(X):
    from cstoolkit.compression import COMPRESSION_METHODS, CompressionMethod, register_compression_method

    @register_compression_method("first_columns")
    class FirstColumns(CompressionMethod):  # keep the first p columns, dense
        param = "p"

        @classmethod
        def storage(cls, shape, p, *, value_bytes=4, n_atoms=None):
            return shape[0] * p * value_bytes

        def upper(self, shape):
            return shape[1]

        def _apply(self, X, p):
            out = np.zeros_like(X)
            out[:, :p] = X[:, :p]
            return out, {"p": p}

    try:
        Xh, used, params = compress(X, "first_columns", X.shape[0] * 10 * 4 + 3)
        assert params == {"p": 10} and used == X.shape[0] * 10 * 4
        np.testing.assert_array_equal(Xh[:, :10], X[:, :10])
        assert not Xh[:, 10:].any()
    finally:
        del COMPRESSION_METHODS._classes["first_columns"]


def test_dictionary_codes_with_omp_by_default_against_scikit_learn(X):
    from sklearn.linear_model import orthogonal_mp

    rng = np.random.default_rng(1)
    W = rng.standard_normal((96, X.shape[1]))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    budget = storage_for("dictionary", X.shape, 6, n_atoms=96)
    Xd, used, params = compress(X, "dictionary", budget, dictionary=W)
    assert params == {"k": 6, "n_atoms": 96} and used == budget
    C = orthogonal_mp(W.T, X.T.astype(np.float64), n_nonzero_coefs=6)
    np.testing.assert_allclose(Xd, (W.T @ C).T, atol=2e-4)
    # the same through an explicit coder object (its own k is replaced by the budget's)
    Xo, _, _ = compress(X, "dictionary", budget, dictionary=W, coder=cs.OMP(n_nonzero_coefs=2))
    np.testing.assert_array_equal(Xo, Xd)


def test_dictionary_with_a_lasso_coder_keeps_k_per_row(X):
    rng = np.random.default_rng(2)
    W = rng.standard_normal((64, X.shape[1])).astype(np.float32)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    X = X[:200]
    budget = storage_for("dictionary", X.shape, 4, n_atoms=64)
    coder = cs.Lasso(lam=0.1, lam_scale="relative")
    Xd, used, params = compress(X, "dictionary", budget, dictionary=W, coder=coder)
    assert params["k"] == 4 and used == budget and Xd.dtype == np.float32
    # reference: the Lasso codes of every row, then the 4 largest per row (rows whose 4th and
    # 5th largest coefficients are within float32 solver accuracy may pick either)
    S = coder.recover(W.T, X.T).coef.T
    order = np.argsort(-np.abs(S), axis=1, kind="stable")
    mags = np.take_along_axis(np.abs(S), order, axis=1)
    clear = mags[:, 3] - mags[:, 4] > 1e-3
    assert clear.mean() > 0.8 and (mags[:, 4] > 0).any()  # the rule is exercised: Lasso codes have > 4 atoms
    ref = np.zeros_like(S)
    np.put_along_axis(ref, order[:, :4], np.take_along_axis(S, order[:, :4], axis=1), axis=1)
    np.testing.assert_allclose(Xd[clear], (ref @ W)[clear], atol=2e-3)
    assert coder.get_params()["lam"] == 0.1  # the caller's coder is not changed


@pytest.mark.real
def test_minilm_keep16_matches_anchor():
    try:
        E = np.asarray(cs.load_embeddings("minilm").data)
    except ImportError:
        pytest.skip("the all-MiniLM-L6-v2 package is not installed")
    # ANCHORS: keep the 16 largest entries per row -> relative Frobenius error 0.870
    Xh, used, params = compress(E, "keep_largest", E.shape[0] * 16 * 6)
    assert params["k"] == 16 and used == E.shape[0] * 16 * 6
    assert relative_frobenius_error(E, Xh) == pytest.approx(0.870, abs=0.002)
