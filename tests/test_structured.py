"""Group Lasso, block-OMP, NNOMP and nonnegative basis pursuit against references and theory."""

from __future__ import annotations

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.ensembles import gaussian
from cstoolkit.signals import sparse_signals


def _block_sparse(n, g, k_blocks, B, seed, positive=False):
    rng = np.random.default_rng(seed)
    X = np.zeros((n // g, g, B))
    for b in range(B):
        X[rng.choice(n // g, k_blocks, replace=False), :, b] = rng.standard_normal((k_blocks, g))
    X = X.reshape(n, B)
    return np.abs(X) if positive else X


def test_group_lasso_matches_cvxpy():
    import cvxpy as cp

    A = gaussian(30, 60, random_state=1)
    X = _block_sparse(60, 4, 2, 2, seed=2)
    Y = A @ X + 0.01 * np.random.default_rng(3).standard_normal((30, 2))
    lam = 0.1
    res = cs.GroupLasso(lam=lam, group_size=4, tol=1e-10).recover(A, Y)
    for b in range(2):
        x = cp.Variable(60)
        obj = 0.5 * cp.sum_squares(A @ x - Y[:, b]) + lam * sum(cp.norm2(x[i:i + 4]) for i in range(0, 60, 4))
        prob = cp.Problem(cp.Minimize(obj))
        prob.solve(solver="CLARABEL")
        assert res.history["objective"][-1, b] == pytest.approx(prob.value, rel=1e-6)
        np.testing.assert_allclose(res.x[:, b], x.value, atol=1e-4)


def test_group_lasso_rejects_a_non_dividing_group_size():
    with pytest.raises(ValueError, match="blocks of 7"):
        cs.GroupLasso(group_size=7).recover(gaussian(10, 20, random_state=0), np.ones(10))


def test_block_omp_recovers_block_sparse_signals_beyond_omp():
    # 6 blocks of 4 = 24 non-zeros in 64 measurements: block-OMP uses the structure
    A = gaussian(64, 128, random_state=4)
    X = _block_sparse(128, 4, 6, 10, seed=5)
    Y = A @ X
    blk = cs.BlockOMP(n_nonzero_blocks=6, block_size=4).recover(A, Y)
    omp = cs.OMP(n_nonzero_coefs=24).recover(A, Y)
    ok_blk = cs.metrics.success(X, blk.x)
    assert ok_blk.mean() >= 0.9
    assert ok_blk.mean() > cs.metrics.success(X, omp.x).mean()


def test_nnomp_is_nnls_on_its_support():
    from scipy.optimize import nnls

    A = gaussian(40, 100, random_state=6)
    X = np.abs(sparse_signals(100, 5, 4, random_state=7))
    Y = A @ X + 0.01 * np.random.default_rng(8).standard_normal((40, 4))
    res = cs.BlockOMP(n_nonzero_blocks=8, positive=True).recover(A, Y)
    assert res.x.min() >= 0
    for b in range(4):
        s = np.flatnonzero(res.x[:, b])
        ref = nnls(A[:, s], Y[:, b])[0]
        np.testing.assert_allclose(res.x[s, b], ref, atol=1e-10)
    assert np.all(cs.metrics.support_recovered(X, res.x))


def test_nonnegative_bp_succeeds_between_the_two_phase_transitions():
    # δ = 0.5: ρ_signed ≈ 0.386, ρ_nonneg ≈ 0.558 (Donoho–Tanner; ANCHORS.md). At ρ = 0.47
    # nonnegative BP should mostly succeed and signed BP mostly fail.
    n, m, trials = 200, 100, 16
    k = 47
    A = gaussian(m, n, random_state=10)
    X = np.abs(sparse_signals(n, k, trials, random_state=11))
    Y = A @ X
    nn = cs.metrics.success(X, cs.BasisPursuitLP(positive=True).recover(A, Y).x)
    sg = cs.metrics.success(X, cs.BasisPursuitLP().recover(A, Y).x)
    assert nn.mean() >= 0.8 and sg.mean() <= 0.2, (nn.mean(), sg.mean())
    # the batched nonnegative ADMM gives the same labels
    ad = cs.metrics.success(X, cs.ADMMBasisPursuit(positive=True, tol=1e-8).recover(A, Y).x)
    assert np.mean(ad == nn) >= 0.9


def test_block_omp_rank_deficient_selection_does_not_crash():
    # two identical blocks: once both are chosen the normal equations are singular; the
    # minimum-norm least-squares fit must still reproduce y (reference: numpy lstsq residual)
    import cstoolkit as cs

    A = np.random.default_rng(0).standard_normal((12, 40))
    A[:, 4:8] = A[:, 0:4]
    y = A[:, :4] @ np.ones(4)
    # after block 0 the residual is zero, all scores tie at 0 and block 1 (its copy) is next
    res = cs.make_recoverer("block-omp", n_nonzero_blocks=2, block_size=4).recover(A, y)
    assert np.all(np.isfinite(res.x))
    assert res.residual_norm <= 1e-8 * np.linalg.norm(y)
    np.testing.assert_allclose(A @ res.x, y, atol=1e-8)
