"""Weight compression at a parameter budget (cstoolkit.weight_compression) on tiny synthetic layers.

References are plain: parameter counts written out by hand, an exactly low-rank or exactly
sparse-over-a-known-dictionary matrix, and the calibrated optimum computed without any
whitening, as the truncated SVD of W X mapped back by the pseudo-inverse of X.
"""

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit import weight_compression as wc


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# parameter accounting
# ---------------------------------------------------------------------------------------------
def test_counts_written_out():
    assert wc.parameter_budget((12, 20), 0.3) == pytest.approx(168.0)
    assert wc.svd_parameters((12, 20), 5) == 5 * 32
    assert wc.svd_rank_for_budget((12, 20), 0.3) == 5  # 6 * 32 = 192 > 168
    assert [wc.index_bits(k) for k in (1, 2, 3, 4, 5, 256, 257)] == [1, 1, 2, 2, 3, 8, 9]
    # 8 atoms of length 20, 12 rows x 2 (value, 3-bit index) pairs, 16-bit values
    assert wc.dictionary_parameters((12, 20), 8, 2) == 8 * 20 + 12 * 2 * (1 + 3 / 16)
    assert wc.dictionary_parameters((12, 20), 8, 2, value_bits=32) == 8 * 20 + 12 * 2 * (1 + 3 / 32)


def test_dictionary_size_is_the_largest_that_fits():
    shape, ratio, rho = (40, 30), 0.4, 2.0
    budget = wc.parameter_budget(shape, ratio)
    K, s = wc.dictionary_size_for_budget(shape, ratio, atoms_per_nonzero=rho)
    assert K == round(rho * s)
    assert wc.dictionary_parameters(shape, K, s) <= budget * (1 + 1e-12)
    assert wc.dictionary_parameters(shape, round(rho * (s + 1)), s + 1) > budget


@pytest.mark.parametrize("method", ["svd", "dictionary"])
def test_stored_arrays_match_the_count(method):
    W = _rng().standard_normal((24, 16))
    f = wc.compress_weight(W, method, 0.35)
    budget = wc.parameter_budget(W.shape, 0.35)
    assert f.n_parameters <= budget
    if method == "svd":
        assert f.left.size + f.right.size == f.n_parameters
        assert f.rank == wc.svd_rank_for_budget(W.shape, 0.35)
    else:
        # every stored number counted: atoms, values, and each index at index_bits / value_bits
        assert f.atoms.size + f.values.size + f.indices.size * f.index_bits / 16 == pytest.approx(f.n_parameters)
        assert f.indices.shape == f.values.shape == (24, f.n_nonzero)
        assert np.all(f.indices < f.n_atoms)
        assert (f.n_atoms, f.n_nonzero) == wc.dictionary_size_for_budget(W.shape, 0.35)
    assert f.reconstruct().shape == W.shape


# ---------------------------------------------------------------------------------------------
# exact reproduction
# ---------------------------------------------------------------------------------------------
def test_svd_reproduces_an_exactly_low_rank_matrix():
    rng = _rng(1)
    W = rng.standard_normal((30, 4)) @ rng.standard_normal((4, 40))
    ratio = 1 - 4 * 70 / 1200  # leaves exactly rank 4
    f = wc.compress_weight(W, "svd", ratio)
    assert f.rank == 4
    np.testing.assert_allclose(f.reconstruct(np.float64), W, atol=1e-10 * np.abs(W).max())
    f3 = wc.compress_weight(W, "svd", 1 - 3 * 70 / 1200)  # one rank short: the Eckart-Young error
    s = np.linalg.svd(W, compute_uv=False)
    assert wc.functional_error(W, f3.reconstruct(np.float64)) == pytest.approx(s[3] / np.linalg.norm(s), rel=1e-8)


def _sparse_over_known_dictionary(rng, n_rows=400, d_in=40, K=30, s=3):
    A = rng.standard_normal((K, d_in))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    C = np.zeros((n_rows, K))
    for i in range(n_rows):
        C[i, rng.choice(K, s, replace=False)] = rng.choice([-1, 1], s) * rng.uniform(1, 2, s)
    return C @ A, A


def test_dictionary_reproduces_a_sparse_combination_of_a_known_dictionary():
    rng = _rng(2)
    W, A = _sparse_over_known_dictionary(rng)
    rho = 10.0  # K = 30 atoms for s = 3
    ratio = 1 - wc.dictionary_parameters(W.shape, 30, 3) / W.size  # the budget of exactly (K, s) = (30, 3)
    assert wc.dictionary_size_for_budget(W.shape, ratio, atoms_per_nonzero=rho) == (30, 3)
    # the known dictionary is a fixed point: OMP finds the codes, the update keeps the atoms
    f = wc.compress_weight(W, "dictionary", ratio, atoms_per_nonzero=rho, init=A, max_iter=3)
    np.testing.assert_allclose(f.reconstruct(np.float64), W, atol=1e-9)
    np.testing.assert_allclose(np.abs(f.atoms @ A.T).max(axis=1), 1.0, atol=1e-9)  # same atoms, any order
    # learned from the data alone, alternating minimisation stops in a local minimum (MOD has
    # no recovery guarantee with 400 samples), yet far below the SVD at the same budget, which
    # affords rank 6 of the 30 this matrix has
    f = wc.compress_weight(W, "dictionary", ratio, atoms_per_nonzero=rho, max_iter=20, init="data")
    g = wc.compress_weight(W, "svd", ratio)
    err_dict = wc.functional_error(W, f.reconstruct(np.float64))
    err_svd = wc.functional_error(W, g.reconstruct(np.float64))
    assert g.rank == 6
    assert err_dict < 0.3 * err_svd


# ---------------------------------------------------------------------------------------------
# calibration
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["svd", "dictionary"])
@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_identity_activations_reduce_to_the_plain_method(method, scale):
    W = _rng(3).standard_normal((24, 16))
    plain = wc.compress_weight(W, method, 0.3).reconstruct(np.float64)
    cal = wc.compress_weight(W, method, 0.3, gram=scale * np.eye(16), damping=0.0).reconstruct(np.float64)
    np.testing.assert_allclose(cal, plain, atol=1e-9 * np.abs(W).max())


def _anisotropic_inputs(rng, d_in=16, n=500):
    X = rng.standard_normal((d_in, d_in)) @ rng.standard_normal((d_in, n))
    return X * np.exp(rng.standard_normal(d_in))[:, None]  # features of very different scales


def test_calibrated_svd_matches_the_plain_reference_optimum():
    rng = _rng(4)
    W = rng.standard_normal((20, 16))
    X = _anisotropic_inputs(rng)
    r = wc.svd_rank_for_budget(W.shape, 0.5)
    # reference without whitening: the best rank-r approximation of the outputs W X, mapped back
    # to a weight by the pseudo-inverse of X (X has full row rank, so this is the optimum)
    U, s, Vt = np.linalg.svd(W @ X, full_matrices=False)
    Y_r = (U[:, :r] * s[:r]) @ Vt[:r]
    W_ref = Y_r @ np.linalg.pinv(X)
    f = wc.compress_weight(W, "svd", 0.5, gram=X @ X.T, damping=0.0)
    W_hat = f.reconstruct(np.float64)
    np.testing.assert_allclose(W_hat @ X, Y_r, rtol=1e-7, atol=1e-7 * np.abs(Y_r).max())
    np.testing.assert_allclose(W_hat, W_ref, rtol=1e-6, atol=1e-6 * np.abs(W_ref).max())
    direct = np.linalg.norm((W - W_hat) @ X) / np.linalg.norm(W @ X)
    assert wc.functional_error(W, W_hat, X @ X.T) == pytest.approx(direct, rel=1e-9)
    assert direct == pytest.approx(np.linalg.norm(s[r:]) / np.linalg.norm(s), rel=1e-7)


def test_calibration_trades_weight_error_for_functional_error():
    rng = _rng(5)
    W = rng.standard_normal((64, 16))
    X = _anisotropic_inputs(rng)
    G = X @ X.T
    for method in ("svd", "dictionary"):
        plain = wc.compress_weight(W, method, 0.4).reconstruct(np.float64)
        cal = wc.compress_weight(W, method, 0.4, gram=G).reconstruct(np.float64)
        assert wc.functional_error(W, cal, G) < 0.9 * wc.functional_error(W, plain, G)
        assert wc.functional_error(W, plain) < wc.functional_error(W, cal)


def test_whitening_is_a_cholesky_factor_and_inverts():
    rng = _rng(6)
    X = _anisotropic_inputs(rng)
    G = X @ X.T
    wt = wc.Whitening.from_gram(G, damping=1e-8)
    np.testing.assert_allclose(wt.L @ wt.L.T, G + wt.damping * np.eye(16), rtol=1e-10, atol=1e-8 * np.abs(G).max())
    assert np.allclose(wt.L, np.tril(wt.L))
    M = rng.standard_normal((5, 16))
    np.testing.assert_allclose(wt.unwhiten(wt.whiten(M)), M, atol=1e-8)
    # a rank-deficient Gram (a dead input feature) is still factored thanks to the ridge
    X[3] = 0
    wt = wc.Whitening.from_gram(X @ X.T)
    assert np.all(np.isfinite(wt.L)) and wt.damping > 0


def test_gram_accumulator_equals_x_xt():
    rng = _rng(7)
    X = rng.standard_normal((100, 8)).astype(np.float32)
    acc = wc.GramAccumulator(8)
    acc.update(X[:30])
    acc.update(X[30:].reshape(7, 10, 8))
    np.testing.assert_allclose(acc.gram, X.T.astype(np.float64) @ X, rtol=1e-10)
    assert acc.n_samples == 100


def test_uses_the_registered_learners_and_coders():
    comp = wc.make_weight_compressor("dictionary", learner="aksvd", coder="omp", max_iter=2)
    est = comp.make_learner(6, 2)
    assert type(est) is cs.LEARNERS.get("aksvd")
    assert est.coder.n_nonzero_coefs == 2
    W = _rng(8).standard_normal((24, 16))
    f = comp.compress(W, 0.3)
    assert f.n_parameters <= wc.parameter_budget(W.shape, 0.3)


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def test_bad_input_is_named():
    W = _rng(9).standard_normal((12, 10))
    with pytest.raises(ValueError, match=r"ratio .* must be in \[0, 1\)"):
        wc.compress_weight(W, "svd", 1.0)
    with pytest.raises(ValueError, match="unknown weight compressor"):
        wc.compress_weight(W, "pca", 0.3)
    assert wc.available_weight_compressors() == ["dictionary", "svd"]
    with pytest.raises(ValueError, match="Available: dictionary, svd"):
        wc.make_weight_compressor("pca")
    with pytest.raises(ValueError, match="NaN"):
        wc.compress_weight(np.full((3, 3), np.nan), "svd", 0.1)
    with pytest.raises(ValueError, match=r"expected a \(10, 10\) Gram"):
        wc.compress_weight(W, "svd", 0.3, gram=np.eye(12))
    with pytest.raises(ValueError, match="not symmetric"):
        wc.Whitening.from_gram(np.triu(np.ones((4, 4))))
    with pytest.raises(ValueError, match="fewer than rank 1"):
        wc.svd_rank_for_budget((12, 10), 0.99)
    with pytest.raises(ValueError, match="smallest dictionary"):
        wc.dictionary_size_for_budget((12, 10), 0.95)
    with pytest.raises(ValueError, match="init must be"):
        wc.DictionaryCompressor(init="pca")


# ---------------------------------------------------------------------------------------------
# activations from a model (the observe hook of the numpy llama forward)
# ---------------------------------------------------------------------------------------------
def test_model_inputs_calibrate_a_projection(tmp_path):
    pytest.importorskip("gguf")
    pytest.importorskip("tokenizers")
    from _lm_tiny import LLAMA, write_tiny_llama_gguf

    from cstoolkit import lm

    path = tmp_path / "tiny.gguf"
    stored = write_tiny_llama_gguf(path)
    model = lm.LlamaModel.from_gguf(path)
    ids = _rng(10).integers(0, model.config.vocab_size, size=(2, 9))
    seen, grams = [], {}

    def observe(names, x):
        seen.extend(names)
        grams.setdefault(names, wc.GramAccumulator(x.shape[1])).update(x)
        if names[0] == "blk.0.attn_q.weight":  # block 0 reads the RMS-normalised embeddings
            e = stored["token_embd.weight"][ids.reshape(-1)].astype(np.float64)
            ref = e / np.sqrt(np.mean(e * e, axis=1, keepdims=True) + LLAMA["rms_eps"]) * stored["blk.0.attn_norm.weight"]
            np.testing.assert_allclose(x, ref, rtol=1e-5, atol=1e-6)

    model.hidden(ids, observe=observe)
    projections = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
    assert sorted(seen) == sorted(f"blk.{i}.{p}.weight" for i in range(model.config.n_layers) for p in projections)
    name = ("blk.1.ffn_down.weight",)
    G = grams[name].gram
    W = model.weights[name[0]].astype(np.float64)
    assert grams[name].n_samples == ids.size and G.shape == (W.shape[1],) * 2
    plain = wc.compress_weight(W, "svd", 0.5).reconstruct(np.float64)
    cal = wc.compress_weight(W, "svd", 0.5, gram=G).reconstruct(np.float64)
    assert wc.functional_error(W, cal, G) < wc.functional_error(W, plain, G)


# ---------------------------------------------------------------------------------------------
# non-uniform allocation
# ---------------------------------------------------------------------------------------------
def _spectra(rng, shapes):
    return [np.sort(rng.gamma(0.5, size=min(sh)) * np.geomspace(1, 1e-3, min(sh)))[::-1] for sh in shapes]


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.8])
def test_allocation_spends_the_budget_exactly_and_maximally(ratio):
    shapes = [(12, 20), (30, 8), (16, 16), (40, 10)]
    a = wc.allocate_ranks(shapes, _spectra(_rng(1), shapes), ratio)
    cost = [m + n for m, n in shapes]
    dense = sum(m * n for m, n in shapes)
    assert a.budget == pytest.approx((1 - ratio) * dense)
    assert a.n_parameters == sum(r * c for r, c in zip(a.ranks, cost))  # written out
    assert a.n_parameters <= a.budget
    # maximal: no matrix can take one more rank (within its dense size) in what is left
    for r, c, (m, n) in zip(a.ranks, cost, shapes):
        assert r == min(m, n, m * n // c) or a.n_parameters + c > a.budget
    # the per-matrix ratios give the ranks back through the uniform rule
    for r, q, sh in zip(a.ranks, a.ratios, shapes):
        assert wc.svd_rank_for_budget(sh, q) == r


def test_allocation_with_equal_shapes_keeps_the_largest_relative_energies():
    rng = _rng(2)
    shapes = [(10, 14)] * 3
    spectra = _spectra(rng, shapes)
    a = wc.allocate_ranks(shapes, spectra, 0.5)
    # reference: with equal costs the optimum of the summed kept relative energy is the top-N of
    # all normalised sigma^2 together (rank 1 of each matrix is always kept)
    n_total = a.n_parameters // 24
    assert n_total == int(0.5 * 3 * 140) // 24
    rel = [s ** 2 / np.sum(s ** 2) for s in spectra]
    pool = sorted((e for r in rel for e in r[1:]), reverse=True)
    kept = sum(r[0] for r in rel) + sum(pool[: n_total - 3])
    got = sum(np.sum(r[:k]) for r, k in zip(rel, a.ranks))
    assert got == pytest.approx(kept, rel=1e-12)
    # identical spectra: a uniform split (ranks differ by at most one)
    u = wc.allocate_ranks(shapes, [spectra[0]] * 3, 0.5)
    assert np.ptp(u.ranks) <= 1


def test_allocation_gives_an_exactly_low_rank_matrix_no_more_than_its_rank():
    shapes = [(20, 20), (20, 20)]
    low = np.r_[np.ones(3), np.zeros(17)]
    full = np.geomspace(1, 1e-2, 20)
    a = wc.allocate_ranks(shapes, [low, full], 0.6)
    # 8 ranks in all: the low-rank matrix stops at 3 (its further sigma are 0), the other takes 5
    assert list(a.ranks) == [3, 5]


def test_allocation_bad_input_is_named():
    with pytest.raises(ValueError, match="one spectrum per matrix"):
        wc.allocate_ranks([(4, 4)], [np.ones(4), np.ones(4)], 0.5)
    with pytest.raises(ValueError, match="at most 4"):
        wc.allocate_ranks([(4, 6)], [np.ones(5)], 0.5)
    with pytest.raises(ValueError, match="fewer than rank 1"):
        wc.allocate_ranks([(10, 10)], [np.ones(10)], 0.95)
