"""Tests for cstoolkit.sparsify, each against an independent reference."""

from __future__ import annotations


import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize_scalar

from cstoolkit.sparsify import (
    LowRankFactors,
    gini_index,
    hard_threshold,
    hoyer_sparsity,
    keep_largest,
    nonzero_ratio,
    soft_threshold,
    sparsity,
    sparsity_index,
    storage_bytes,
    svd_truncate,
    threshold_to_density,
)

SPARSE_FORMATS = [sp.csr_array, sp.csc_array, sp.coo_array, sp.csr_matrix, sp.csc_matrix]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_sparse_dense(rng, shape, density):
    X = rng.standard_normal(shape)
    X[rng.random(shape) > density] = 0
    return X


# ---------------------------------------------------------------------------------------------
# soft / hard thresholding
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x", [-3.0, -1.2, -0.4, 0.0, 0.3, 0.7, 2.5])
@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_soft_threshold_is_the_prox_by_brute_force(x, lam):
    objective = lambda z: 0.5 * (z - x) ** 2 + lam * abs(z)  # noqa: E731
    ref = minimize_scalar(
        objective, bounds=(-abs(x) - 1, abs(x) + 1), method="bounded", options={"xatol": 1e-10}
    ).x
    got = soft_threshold(np.array([x]), lam)[0]
    assert got == pytest.approx(ref, abs=1e-7)


def test_soft_threshold_moreau_identity(rng):
    # x = prox_{lam f}(x) + lam * prox_{f*/lam}(x/lam), f = ||.||_1, f* = indicator of the
    # unit l_inf ball whose prox is clipping; equivalently prox of lam||.||_1 plus projection on
    # the l_inf ball of radius lam (the conjugate of lam||.||_1) gives x back.
    X = 3 * rng.standard_normal((20, 30))
    for lam in [0.1, 0.7, 2.0]:
        np.testing.assert_allclose(
            soft_threshold(X, lam) + lam * np.clip(X / lam, -1, 1), X, rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            soft_threshold(X, lam) + np.clip(X, -lam, lam), X, rtol=0, atol=1e-12
        )


def test_soft_threshold_complex_shrinks_modulus_and_keeps_phase(rng):
    Z = rng.standard_normal((8, 9)) + 1j * rng.standard_normal((8, 9))
    lam = 0.8
    out = soft_threshold(Z, lam)
    assert out.dtype == Z.dtype
    np.testing.assert_allclose(np.abs(out), np.maximum(np.abs(Z) - lam, 0), atol=1e-12)
    kept = np.abs(out) > 0
    np.testing.assert_allclose(np.angle(out[kept]), np.angle(Z[kept]), atol=1e-12)
    # Moreau: the conjugate of lam*sum|z_i| is the indicator of {|z_i| <= lam}; its prox
    # projects each entry radially onto the disc of radius lam.
    proj = Z * np.minimum(1, lam / np.abs(Z))
    np.testing.assert_allclose(out + proj, Z, atol=1e-12)


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_soft_threshold_dense_and_sparse_agree(rng, fmt):
    X = random_sparse_dense(rng, (15, 12), 0.4)
    S = fmt(X)
    out = soft_threshold(S, 0.5)
    assert isinstance(out, sp.csr_array)
    assert out.has_canonical_format
    assert np.all(out.data != 0)  # zeros created by the shrinkage are eliminated
    np.testing.assert_array_equal(out.toarray(), soft_threshold(X, 0.5))
    # S not modified
    np.testing.assert_array_equal(S.toarray(), X)


def test_soft_threshold_array_lam_broadcasts_dense_and_sparse(rng):
    X = random_sparse_dense(rng, (6, 5), 0.6)
    lam = np.linspace(0, 1.5, 6)[:, None]  # one threshold per row
    ref = np.sign(X) * np.maximum(np.abs(X) - lam, 0)
    np.testing.assert_allclose(soft_threshold(X, lam), ref)
    np.testing.assert_allclose(soft_threshold(sp.csc_array(X), lam).toarray(), ref)
    with pytest.raises(ValueError, match="broadcast"):
        soft_threshold(X, np.ones((2, 6, 5)))  # would enlarge X


def test_soft_threshold_sums_duplicates_before_thresholding():
    S = sp.coo_array(([1.0, 1.0], ([0, 0], [0, 0])), shape=(1, 2))  # value 2 at (0, 0)
    np.testing.assert_array_equal(soft_threshold(S, 1.5).toarray(), [[0.5, 0.0]])


def test_soft_threshold_dtypes():
    assert soft_threshold(np.ones(3, dtype=np.float32), 0.5).dtype == np.float32
    assert soft_threshold(np.array([3, -2, 1]), 1).dtype == np.float64
    np.testing.assert_array_equal(soft_threshold(np.array([3, -2, 1]), 1), [2, -1, 0])
    assert soft_threshold(np.full((2, 2), 2.0, np.float32), np.array([0.5, 1.0])).dtype == np.float32
    assert soft_threshold(sp.csr_array(np.eye(3, dtype=int)), 0.5).dtype == np.float64


@pytest.mark.parametrize("bad", [-0.1, np.nan, [0.5, -1.0]])
def test_soft_threshold_rejects_bad_lam(bad):
    with pytest.raises(ValueError, match="lam"):
        soft_threshold(np.ones((2, 2)), bad)
    with pytest.raises(ValueError, match="lam"):
        soft_threshold(sp.csr_array(np.ones((2, 2))), bad)


def test_soft_threshold_rejects_non_numeric():
    with pytest.raises(TypeError):
        soft_threshold(np.array(["a", "b"]), 1.0)
    with pytest.raises(TypeError):
        soft_threshold(np.ones(2), 1j)


def test_hard_threshold(rng):
    X = np.array([[1.0, -2.0, 0.5], [-0.5, 3.0, 1.0]])
    np.testing.assert_array_equal(hard_threshold(X, 1.0), [[0, -2, 0], [0, 3, 0]])  # strict >
    Y = random_sparse_dense(rng, (10, 10), 0.5)
    for fmt in SPARSE_FORMATS:
        out = hard_threshold(fmt(Y), 0.7)
        assert isinstance(out, sp.csr_array)
        np.testing.assert_array_equal(out.toarray(), np.where(np.abs(Y) > 0.7, Y, 0))
    Z = np.array([1 + 1j, 0.1j])
    np.testing.assert_array_equal(hard_threshold(Z, 1.0), [1 + 1j, 0])
    with pytest.raises(ValueError, match="threshold"):
        hard_threshold(X, -1)


# ---------------------------------------------------------------------------------------------
# keep_largest
# ---------------------------------------------------------------------------------------------
def ref_keep_largest(X, k, axis):
    """Sort-based reference: stable argsort of -|x| (ties -> lowest index)."""
    X = np.asarray(X)
    out = np.zeros_like(X)
    if axis is None:
        idx = np.argsort(-np.abs(X).ravel(), kind="stable")[:k]
        out.ravel()[idx] = X.ravel()[idx]
        return out
    if axis == 0:
        return ref_keep_largest(X.T, k, 1).T
    for i, row in enumerate(X):
        idx = np.argsort(-np.abs(row), kind="stable")[:k]
        out[i, idx] = row[idx]
    return out


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_keep_largest_matches_sort_reference(rng, axis, k):
    X = rng.standard_normal((9, 11))
    out = keep_largest(X, k, axis=axis)
    assert isinstance(out, sp.csr_array)
    assert out.has_canonical_format
    np.testing.assert_array_equal(out.toarray(), ref_keep_largest(X, k, axis))
    if axis == 1:
        np.testing.assert_array_equal(np.diff(out.indptr), k)
    elif axis == 0:
        np.testing.assert_array_equal(np.diff(out.tocsc().indptr), k)
    else:
        assert out.nnz == k


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_keep_largest_ties_lowest_index_and_sparse_agrees(rng, axis):
    # integer magnitudes in {1, 2, 3} with random signs -> many ties at the cut
    X = rng.integers(1, 4, size=(12, 10)) * rng.choice([-1.0, 1.0], size=(12, 10))
    X[rng.random(X.shape) < 0.3] = 0
    k = 4
    ref = ref_keep_largest(X, k, axis)
    np.testing.assert_array_equal(keep_largest(X, k, axis=axis).toarray(), ref)
    for fmt in SPARSE_FORMATS:
        out = keep_largest(fmt(X), k, axis=axis)
        assert isinstance(out, sp.csr_array)
        np.testing.assert_array_equal(out.toarray(), ref)


def test_keep_largest_all_ties():
    out = keep_largest(np.ones((3, 5)), 2, axis=1).toarray()
    np.testing.assert_array_equal(out, np.array([[1, 1, 0, 0, 0]] * 3))
    out = keep_largest(np.ones((3, 5)), 4).toarray()
    np.testing.assert_array_equal(out.ravel(), [1, 1, 1, 1] + [0] * 11)


def test_keep_largest_vector_complex_and_dtype():
    x = np.array([0.5, -3.0, 2.0, 1.0])
    np.testing.assert_array_equal(keep_largest(x, 2), [0, -3, 2, 0])
    z = np.array([1j, 3 + 0j, -2j], dtype=np.complex64)
    out = keep_largest(z, 2)
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out, [0, 3, -2j])
    assert keep_largest(np.ones((2, 3), np.float32), 1, axis=1).dtype == np.float32


def test_keep_largest_rows_with_fewer_nonzeros_than_k():
    X = np.array([[0.0, 0.0, 5.0], [1.0, 2.0, 3.0]])
    out = keep_largest(X, 2, axis=1)
    np.testing.assert_array_equal(np.diff(out.indptr), [1, 2])
    np.testing.assert_array_equal(keep_largest(sp.csr_array(X), 2, axis=1).toarray(), out.toarray())


def test_keep_largest_errors():
    X = np.ones((3, 4))
    with pytest.raises(ValueError, match="k must be in"):
        keep_largest(X, 0)
    with pytest.raises(ValueError, match="k must be in"):
        keep_largest(X, -1, axis=1)
    with pytest.raises(ValueError, match=r"X.size = 12"):
        keep_largest(X, 13)
    with pytest.raises(ValueError, match=r"X.shape\[1\] = 4"):
        keep_largest(X, 5, axis=1)
    with pytest.raises(ValueError, match=r"X.shape\[1\] = 4"):
        keep_largest(sp.csr_array(X), 5, axis=1)
    with pytest.raises(TypeError, match="integer"):
        keep_largest(X, 2.0)
    with pytest.raises(ValueError, match="2-D"):
        keep_largest(np.ones((2, 2, 2)), 1)
    with pytest.raises(ValueError, match="axis"):
        keep_largest(X, 1, axis=2)
    with pytest.raises(ValueError, match="NaN"):
        keep_largest(np.array([[1.0, np.nan]]), 1)


def test_threshold_to_density(rng):
    X = rng.standard_normal((10, 20))
    assert threshold_to_density(X, 0.25, axis=1).nnz == 10 * 5
    assert threshold_to_density(X, 0.1).nnz == 20
    assert threshold_to_density(X, 0.001).nnz == 1  # at least one entry
    assert threshold_to_density(X, 1.0).nnz == 200
    np.testing.assert_array_equal(
        threshold_to_density(X, 0.3, axis=0).toarray(), keep_largest(X, 3, axis=0).toarray()
    )
    for bad in [0, -0.1, 1.5, np.nan]:
        with pytest.raises(ValueError, match="density"):
            threshold_to_density(X, bad)


# ---------------------------------------------------------------------------------------------
# svd_truncate
# ---------------------------------------------------------------------------------------------
def test_svd_truncate_full_meets_eckart_young(rng):
    X = rng.standard_normal((40, 25))
    s_all = np.linalg.svd(X, compute_uv=False)
    for r in [1, 5, 24, 25]:
        f = svd_truncate(X, r, method="full")
        assert isinstance(f, LowRankFactors)
        assert f.U.shape == (40, r) and f.s.shape == (r,) and f.Vt.shape == (r, 25)
        assert f.rank == r and f.shape == (40, 25)
        err = np.linalg.norm(X - f.reconstruct())
        assert err == pytest.approx(np.sqrt(np.sum(s_all[r:] ** 2)), abs=1e-10)
        left, right = f.as_pair()
        np.testing.assert_allclose(left @ right, f.reconstruct())
        np.testing.assert_allclose(left, f.U * f.s)


def test_svd_truncate_randomized_low_rank_plus_noise(rng):
    m, n, r = 300, 200, 10
    X = rng.standard_normal((m, r)) @ rng.standard_normal((r, n)) + 0.01 * rng.standard_normal(
        (m, n)
    )
    s_all = np.linalg.svd(X, compute_uv=False)
    optimal = np.sqrt(np.sum(s_all[r:] ** 2))
    f = svd_truncate(X, r, method="randomized")
    err = np.linalg.norm(X - f.reconstruct())
    assert optimal <= err + 1e-9
    assert err == pytest.approx(optimal, rel=1e-3)
    np.testing.assert_allclose(f.s, s_all[:r], rtol=1e-6)
    # seeded: reproducible
    g = svd_truncate(X, r, method="randomized")
    np.testing.assert_array_equal(f.reconstruct(), g.reconstruct())
    # sparse input to the randomized path is not densified and gives the same answer
    h = svd_truncate(sp.csr_array(X), r, method="randomized")
    np.testing.assert_allclose(h.reconstruct(), f.reconstruct(), atol=1e-8)


def test_svd_truncate_auto_and_sparse(rng):
    X = rng.standard_normal((30, 20))
    np.testing.assert_allclose(
        svd_truncate(X, 3).reconstruct(), svd_truncate(X, 3, method="full").reconstruct()
    )
    np.testing.assert_allclose(
        svd_truncate(sp.csc_array(X), 3, method="full").reconstruct(),
        svd_truncate(X, 3, method="full").reconstruct(),
    )


def test_svd_truncate_errors():
    X = np.ones((5, 3))
    for bad in [0, -1, 4]:
        with pytest.raises(ValueError, match=r"rank must be in \[1, 3\]"):
            svd_truncate(X, bad)
    with pytest.raises(TypeError, match="rank"):
        svd_truncate(X, 1.5)
    with pytest.raises(ValueError, match="method"):
        svd_truncate(X, 1, method="qr")
    with pytest.raises(ValueError, match="2-D"):
        svd_truncate(np.ones((2, 3, 4)), 1)
    with pytest.raises(ValueError, match="2-D"):
        svd_truncate(np.ones(4), 1)


# ---------------------------------------------------------------------------------------------
# nonzero ratio / sparsity
# ---------------------------------------------------------------------------------------------
def test_nonzero_ratio_and_sparsity(rng):
    X = np.array([[0.0, 1e-3, 2.0], [-1.0, 0.0, 0.0]])
    assert nonzero_ratio(X) == pytest.approx(3 / 6)
    assert nonzero_ratio(X, tol=1e-2) == pytest.approx(2 / 6)
    assert sparsity(X) == pytest.approx(3 / 6)
    assert sparsity(X, tol=1e-2) == pytest.approx(4 / 6)
    Y = random_sparse_dense(rng, (30, 40), 0.2)
    for fmt in SPARSE_FORMATS:
        assert nonzero_ratio(fmt(Y)) == pytest.approx(nonzero_ratio(Y))
        assert nonzero_ratio(fmt(Y), tol=0.5) == pytest.approx(nonzero_ratio(Y, tol=0.5))
    # stored explicit zeros and duplicates that cancel do not count
    S = sp.coo_array(([1.0, -1.0, 0.0, 2.0], ([0, 0, 1, 1], [0, 0, 1, 2])), shape=(2, 3))
    assert nonzero_ratio(S) == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="tol"):
        nonzero_ratio(X, tol=-1)
    with pytest.raises(ValueError, match="empty"):
        nonzero_ratio(np.zeros((0, 3)))


# ---------------------------------------------------------------------------------------------
# sparsity_index
# ---------------------------------------------------------------------------------------------
def naive_sparsity_index(X, tol=0.0, connectivity=4):
    X = np.asarray(X)
    m, n = X.shape
    offsets = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        offsets += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    total, count = 0, 0
    for i in range(m):
        for j in range(n):
            if abs(X[i, j]) > tol:
                count += 1
                for di, dj in offsets:
                    a, b = i + di, j + dj
                    if 0 <= a < m and 0 <= b < n and abs(X[a, b]) > tol:
                        total += 1
    return 0.0 if count == 0 else total / count


def both(X, **kw):
    """sparsity_index on dense and CSR input (asserting they agree)."""
    d = sparsity_index(X, **kw)
    s = sparsity_index(sp.csr_array(X), **kw)
    assert d == pytest.approx(s)
    return d


def test_sparsity_index_hand_computed():
    iso = np.zeros((5, 5))
    iso[2, 2] = 1.0
    assert both(iso) == 0.0
    assert both(iso, connectivity=8) == 0.0

    diag = np.eye(4)  # diagonal neighbours only
    assert both(diag) == 0.0
    assert both(diag, connectivity=8) == pytest.approx(2 * 3 / 4)

    block = np.zeros((6, 6))
    block[1:3, 2:4] = 1.0  # 2x2 block: each non-zero has 2 (4-conn) / 3 (8-conn) neighbours
    assert both(block) == pytest.approx(2.0)
    assert both(block, connectivity=8) == pytest.approx(3.0)

    row = np.zeros((3, 7))
    row[1] = 1.0  # full row: ends have 1 neighbour, interior 2 -> 2(n-1)/n
    assert both(row) == pytest.approx(2 * 6 / 7)
    assert both(row, connectivity=8) == pytest.approx(2 * 6 / 7)

    assert both(np.ones((3, 3))) == pytest.approx(24 / 9)
    assert both(np.ones((3, 3)), connectivity=8) == pytest.approx((4 * 3 + 4 * 5 + 8) / 9)

    assert both(np.zeros((4, 4))) == 0.0  # all-zero: documented convention, no NaN
    assert both(np.zeros((4, 4)), connectivity=8) == 0.0

    # tol: small entries do not count
    X = np.array([[1.0, 0.01], [0.01, 0.0]])
    assert both(X) == pytest.approx(4 / 3)
    assert both(X, tol=0.1) == 0.0


def test_sparsity_index_block_higher_than_scattered(rng):
    m, n = 40, 40
    block = np.zeros((m, n))
    block[:10, :16] = 1.0  # 160 non-zeros in one block
    scattered = np.zeros(m * n)
    scattered[rng.choice(m * n, 160, replace=False)] = 1.0
    scattered = scattered.reshape(m, n)
    assert sparsity_index(block) > 3 * sparsity_index(scattered)


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("density", [0.05, 0.3, 0.8])
def test_sparsity_index_matches_naive_loop(rng, connectivity, density):
    X = random_sparse_dense(rng, (17, 23), density)
    ref = naive_sparsity_index(X, connectivity=connectivity)
    assert sparsity_index(X, connectivity=connectivity) == pytest.approx(ref)
    for fmt in SPARSE_FORMATS:
        assert sparsity_index(fmt(X), connectivity=connectivity) == pytest.approx(ref)
    ref_tol = naive_sparsity_index(X, tol=0.5, connectivity=connectivity)
    assert sparsity_index(X, tol=0.5, connectivity=connectivity) == pytest.approx(ref_tol)
    assert sparsity_index(
        sp.csc_array(X), tol=0.5, connectivity=connectivity
    ) == pytest.approx(ref_tol)


def test_sparsity_index_edge_shapes_and_wraparound():
    # entries at the end of one row and the start of the next are NOT neighbours
    X = np.zeros((3, 4))
    X[0, 3] = X[1, 0] = 1.0
    assert both(X) == 0.0
    assert both(X, connectivity=8) == 0.0
    for shape in [(1, 6), (6, 1), (1, 1)]:
        Y = np.ones(shape)
        assert both(Y) == pytest.approx(naive_sparsity_index(Y))
        assert both(Y, connectivity=8) == pytest.approx(naive_sparsity_index(Y, connectivity=8))


def test_sparsity_index_large_sparse_not_densified():
    # 1e6 x 1e6 would be 1e12 entries dense; works on coordinates only
    rows = np.array([0, 0, 1, 999_999, 500_000])
    cols = np.array([0, 1, 1, 999_999, 3])
    S = sp.coo_array((np.ones(5), (rows, cols)), shape=(1_000_000, 1_000_000))
    # (0,0)-(0,1) and (0,1)-(1,1) adjacent: pairs = 2, nnz = 5
    assert sparsity_index(S) == pytest.approx(2 * 2 / 5)
    # plus the diagonal (0,0)-(1,1)
    assert sparsity_index(S, connectivity=8) == pytest.approx(2 * 3 / 5)


def test_sparsity_index_errors():
    with pytest.raises(ValueError, match="2-D"):
        sparsity_index(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="2-D"):
        sparsity_index(np.ones(5))
    with pytest.raises(ValueError, match="connectivity"):
        sparsity_index(np.ones((2, 2)), connectivity=6)
    with pytest.raises(ValueError, match="tol"):
        sparsity_index(np.ones((2, 2)), tol=np.nan)


# ---------------------------------------------------------------------------------------------
# Hoyer and Gini
# ---------------------------------------------------------------------------------------------
def test_hoyer_known_values(rng):
    assert hoyer_sparsity([0.0, 0.0, 5.0, 0.0]) == pytest.approx(1.0)
    assert hoyer_sparsity(np.full(10, -2.0)) == pytest.approx(0.0, abs=1e-12)
    assert hoyer_sparsity([1.0, 1.0, 0.0, 0.0]) == pytest.approx(2 - np.sqrt(2))
    x = rng.standard_normal(50)
    assert hoyer_sparsity(7.5 * x) == pytest.approx(hoyer_sparsity(x))
    assert np.isnan(hoyer_sparsity(np.zeros(4)))
    assert hoyer_sparsity([1j, 0, 0]) == pytest.approx(1.0)


def test_hoyer_axis_and_sparse(rng):
    X = random_sparse_dense(rng, (8, 12), 0.4)
    X[3] = 0  # an all-zero row -> NaN
    for axis in [0, 1]:
        ref = np.array([hoyer_sparsity(v) for v in (X if axis == 1 else X.T)])
        got = hoyer_sparsity(X, axis=axis)
        np.testing.assert_allclose(got, ref, equal_nan=True)
        for fmt in SPARSE_FORMATS:
            np.testing.assert_allclose(hoyer_sparsity(fmt(X), axis=axis), ref, equal_nan=True)
    assert hoyer_sparsity(sp.csr_array(X)) == pytest.approx(hoyer_sparsity(X))
    with pytest.raises(ValueError, match="at least 2"):
        hoyer_sparsity([3.0])


def gini_pairwise(c):
    """Independent reference: mean-absolute-difference form of the Gini coefficient."""
    c = np.abs(np.asarray(c, dtype=float))
    return np.abs(c[:, None] - c[None, :]).sum() / (2 * c.size * c.sum())


def test_gini_known_values(rng):
    for N in [2, 5, 10]:
        e = np.zeros(N)
        e[N // 2] = -3.0
        assert gini_index(e) == pytest.approx(1 - 1 / N)
        assert gini_index(np.full(N, 4.0)) == pytest.approx(0.0, abs=1e-12)
    assert gini_index([0, 0, 1, 1]) == pytest.approx(0.5)
    assert gini_index([1.0, 2.0, 3.0]) == pytest.approx(2 / 9)  # sum|ci-cj| = 8, 2*3*6 = 36
    x = rng.standard_normal(40)
    assert gini_index(x) == pytest.approx(gini_pairwise(x))
    assert gini_index(3 * x) == pytest.approx(gini_index(x))
    assert np.isnan(gini_index(np.zeros(3)))


def test_gini_axis_and_sparse(rng):
    X = random_sparse_dense(rng, (9, 11), 0.35)
    X[2] = 0
    for axis in [0, 1]:
        ref = np.array([gini_pairwise(v) if np.any(v) else np.nan
                        for v in (X if axis == 1 else X.T)])
        np.testing.assert_allclose(gini_index(X, axis=axis), ref, equal_nan=True)
        for fmt in SPARSE_FORMATS:
            np.testing.assert_allclose(gini_index(fmt(X), axis=axis), ref, equal_nan=True)
    assert gini_index(sp.csr_array(X)) == pytest.approx(gini_pairwise(X.ravel()))
    assert gini_index(X) == pytest.approx(gini_pairwise(X.ravel()))


# ---------------------------------------------------------------------------------------------
# storage accounting
# ---------------------------------------------------------------------------------------------
def test_storage_bytes(rng):
    X = rng.standard_normal((100, 30))
    assert storage_bytes(X) == 100 * 30 * 4
    assert storage_bytes(X, value_bytes=2) == 100 * 30 * 2
    assert storage_bytes(X, value_bytes=None) == X.nbytes

    S = keep_largest(X, 5, axis=1)
    assert storage_bytes(S) == 500 * 4 + 500 * 4 + 101 * 4
    assert storage_bytes(S, value_bytes=2, index_bytes=2) == 500 * 2 + 500 * 2 + 101 * 2
    assert storage_bytes(S, value_bytes=None, index_bytes=None) == (
        S.data.nbytes + S.indices.nbytes + S.indptr.nbytes
    )
    assert storage_bytes(sp.csc_array(S)) == 500 * 8 + 31 * 4
    assert storage_bytes(sp.coo_array(S)) == 500 * 12
    assert storage_bytes(sp.csr_matrix(S)) == storage_bytes(S)
    assert storage_bytes(sp.lil_array(S)) == storage_bytes(S)  # counted as CSR

    f = svd_truncate(X, 8)
    assert storage_bytes(f) == (100 + 30) * 8 * 4
    assert storage_bytes(f.as_pair()) == storage_bytes(f)
    assert storage_bytes(f, value_bytes=34 / 32) == pytest.approx((100 + 30) * 8 * 34 / 32)
    assert isinstance(storage_bytes(f, value_bytes=34 / 32), float)
    assert isinstance(storage_bytes(X), int)

    with pytest.raises(TypeError, match="storage_bytes accepts"):
        storage_bytes("not a matrix")
    with pytest.raises(ValueError, match="value_bytes"):
        storage_bytes(X, value_bytes=0)


def test_public_names_have_docstrings_with_math():
    import cstoolkit.sparsify as mod

    for name in mod.__all__:
        doc = getattr(mod, name).__doc__
        assert doc and ".. math::" in doc, name


def test_low_rank_truncate_is_the_svd_at_that_rank():
    """One exact SVD truncated at rank r equals the rank-r SVD (Eckart–Young) and numpy's."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 12))
    from cstoolkit.sparsify import svd_truncate

    full = svd_truncate(X, 12, method="full")
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    for r in (1, 5, 12):
        np.testing.assert_allclose(full.truncate(r).reconstruct(), (U[:, :r] * s[:r]) @ Vt[:r], atol=1e-12)
        assert full.truncate(r).rank == r
    with pytest.raises(ValueError, match="rank must be in 1..12"):
        full.truncate(13)
