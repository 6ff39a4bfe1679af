"""SL0: exact LP (HiGHS) and closed-form least squares as references, the paper's beyond-ℓ1 claim."""

from __future__ import annotations

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.ensembles import gaussian
from cstoolkit.phase import bp_linprog, phase_success
from cstoolkit.signals import sparse_signals
from cstoolkit.theory import rho_l1


def test_matches_exact_lp_and_least_squares_on_support_where_bp_recovers():
    m, n, k, B = 64, 160, 8, 6
    A = gaussian(m, n, random_state=0)
    X, S = sparse_signals(n, k, B, random_state=1, return_support=True)
    Y = A @ X
    res = cs.SL0().recover(A, Y)
    X_lp = bp_linprog(A, Y)
    np.testing.assert_allclose(X_lp, X, atol=1e-9)  # the instance is one where BP recovers
    np.testing.assert_allclose(res.x, X_lp, atol=1e-6)
    assert res.converged and res.stop_reason == "solved"
    # closed form: on the true support the answer is A_S⁺ y, and it lies on {Ax = y}
    for b in range(B):
        ls = np.linalg.lstsq(A[:, S[:, b]], Y[:, b], rcond=None)[0]
        np.testing.assert_allclose(res.x[S[:, b], b], ls, atol=1e-6)
    np.testing.assert_allclose(res.history["residual_norm"][-1], 0, atol=1e-11)


def test_error_falls_with_sigma_min_and_level_count():
    A = gaussian(50, 120, random_state=2)
    X = sparse_signals(120, 6, 3, random_state=3)
    errs = []
    for smin in (1e-4, 1e-7, 1e-10):
        r = cs.SL0(sigma_min=smin).recover(A, A @ X)
        levels = cs.SL0(sigma_min=smin).n_levels()
        assert np.all(r.n_iter == levels) and levels == 1 + int(np.floor(np.log(smin / 2) / np.log(0.5)))
        assert r.history["objective"].shape == (r.n_iter.max(), 3)
        errs.append(np.max(cs.metrics.relative_error(X, r.x)))
    # the estimate is accurate to about sigma_min (relative)
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-8 and errs[0] < 1e-2


def test_batch_equals_column_by_column_and_is_scale_invariant():
    A = gaussian(40, 100, random_state=4)
    X = sparse_signals(100, 7, 5, random_state=5) * np.array([1e-3, 1.0, 50.0, 1.0, 0.0])
    Y = A @ X
    r = cs.SL0(sigma_decrease=0.8)
    batch = r.recover(A, Y)
    for b in range(Y.shape[1]):
        single = r.recover(A, Y[:, b])
        np.testing.assert_allclose(single.x, batch.x[:, b], rtol=0, atol=1e-12 * max(1.0, np.abs(X[:, b]).max()))
        if b < 4:  # (y = 0 is answered without iterating: its history is one row of zeros)
            np.testing.assert_allclose(single.history["l1_norm"], batch.history["l1_norm"][:, b], rtol=1e-12)
    assert np.all(batch.x[:, 4] == 0)  # y = 0 gives x = 0, no NaN from σ = 0
    # sigma_min is relative to max|x0|: scaling y scales the answer
    np.testing.assert_allclose(r.recover(A, 1e4 * Y).x, 1e4 * batch.x, rtol=1e-9, atol=1e-9)


def test_rank_deficient_and_matrix_free_operators():
    A = gaussian(40, 100, random_state=6)
    A[-1] = A[0]  # a repeated measurement: A Aᵀ is singular, the projection uses its pseudo-inverse
    x = sparse_signals(100, 5, random_state=7)
    res = cs.SL0(sigma_min=1e-10).recover(A, A @ x)
    assert cs.metrics.relative_error(x, res.x) < 1e-8
    # a fast transform never formed as a matrix gives the dense answer
    op = cs.PartialDCT(128, np.random.default_rng(9).choice(128, 64, replace=False))
    dense = op @ np.eye(128)
    x = sparse_signals(128, 6, 2, random_state=8)
    a = cs.SL0().recover(op, dense @ x).x
    np.testing.assert_allclose(a, cs.SL0().recover(dense, dense @ x).x, atol=1e-9)
    np.testing.assert_allclose(a, x, atol=1e-6)


def test_recovers_beyond_the_l1_transition_for_gaussian_amplitudes():
    # Mohimani et al. 2009: SL0 (with a slow enough σ schedule) recovers denser signals than ℓ1.
    # δ = 0.5, ρ = 0.45 > ρ_ℓ1(0.5) = 0.3857, Gaussian A and Gaussian amplitudes, 3 × 8 trials.
    # Measured (20 trials, one A each): SL0(c=0.9) 95%, exact LP 15%; with c = 0.5 SL0 gets 5%.
    n, m, rho = 200, 100, 0.45
    assert rho > rho_l1(m / n) + 0.05
    k = int(round(rho * m))
    ok_sl0 = ok_lp = total = 0
    for t in range(3):
        A = gaussian(m, n, random_state=100 + t)
        X = sparse_signals(n, k, 8, random_state=200 + t)
        Y = A @ X
        ok_sl0 += phase_success(X, cs.SL0(sigma_decrease=0.9).recover(A, Y).x).sum()
        ok_lp += phase_success(X, bp_linprog(A, Y)).sum()
        total += X.shape[1]
    rate_sl0, rate_lp = ok_sl0 / total, ok_lp / total
    assert rate_sl0 >= 0.75, (rate_sl0, rate_lp)
    assert rate_sl0 >= rate_lp + 0.4, (rate_sl0, rate_lp)


@pytest.mark.parametrize("params", [
    dict(sigma_decrease=0.0), dict(sigma_decrease=1.0), dict(sigma_decrease=1.5),
    dict(sigma_min=0.0), dict(sigma_min=1.0), dict(sigma_min=-1e-3),
    dict(mu=0.0), dict(mu=-1.0), dict(mu=float("nan")),
    dict(inner_iter=0), dict(inner_iter=2.5),
])
def test_bad_params_raise_with_the_name(params):
    (name,) = params
    with pytest.raises(ValueError, match=name):
        cs.SL0(**params)
