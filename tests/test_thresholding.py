"""Thresholding family: guarantees from the papers, scikit-learn OMP and lstsq as references."""

from __future__ import annotations

import numpy as np
import pytest
import cstoolkit as cs
from cstoolkit.ensembles import gaussian
from cstoolkit.signals import sparse_signals
from cstoolkit.solvers import thresholding as th
from cstoolkit.theory import tst_rho

GREEDY = ["iht", "niht", "htp", "cosamp", "sp", "stomp", "tst-md", "iht-md"]


def test_ls_on_support_matches_lstsq():
    rng = np.random.default_rng(0)
    m, n, B = 30, 60, 12
    D = rng.standard_normal((m, n))
    Y = rng.standard_normal((m, B))
    sizes = [0, 1, 3, 7, 15, 29, 30, 5, 9, 2, 11, 4]
    mask = np.zeros((n, B), dtype=bool)
    for b, s in enumerate(sizes):
        mask[rng.choice(n, s, replace=False), b] = True
    X = th._ls_on_support(D.T @ D, D.T @ Y, mask)
    for b in range(B):
        ref = np.zeros(n)
        S = np.flatnonzero(mask[:, b])
        if S.size:
            ref[S] = np.linalg.lstsq(D[:, S], Y[:, b], rcond=None)[0]
        np.testing.assert_allclose(X[:, b], ref, atol=1e-9)


def test_topk_and_hard_threshold():
    rng = np.random.default_rng(1)
    V = rng.standard_normal((50, 7))
    H = th._hard_threshold(V, 5)
    assert np.all(np.count_nonzero(H, axis=0) == 5)
    ref = np.sort(np.abs(V), axis=0)[-5:]
    np.testing.assert_array_equal(np.sort(np.abs(H), axis=0)[-5:], ref)


def test_iht_monotone_and_convergent_when_norm_below_one():
    # Blumensath & Davies 2009, Thm. 3: with ‖A‖₂ < 1 and μ = 1 the cost never increases and
    # the iterates converge
    A = gaussian(80, 200, random_state=2)
    A *= 0.99 / np.linalg.norm(A, 2)
    X = sparse_signals(200, 8, 6, random_state=3)
    Y = A @ X + 0.01 * np.random.default_rng(4).standard_normal((80, 6))
    res = cs.IHT(n_nonzero_coefs=8, step_size=1.0, max_iter=20000, tol=1e-12).recover(A, Y)
    obj = res.history["objective"]
    assert np.all(np.diff(obj, axis=0) <= 1e-12 * obj[:-1])
    assert res.converged and res.stop_reason == "tol"
    assert np.all(np.count_nonzero(res.x, axis=0) <= 8)


def test_niht_monotone_and_scale_invariant():
    A = gaussian(80, 200, random_state=5)
    X = sparse_signals(200, 15, 6, random_state=6)
    Y = A @ X
    res = cs.NIHT(n_nonzero_coefs=15, max_iter=3000, tol=1e-12).recover(A, Y)
    obj = res.history["objective"]
    # the step-size safeguard makes the cost decrease (Blumensath & Davies 2010, Thm. 1)
    assert np.all(np.diff(obj, axis=0) <= 1e-10 * obj[:-1] + 1e-28)
    scaled = cs.NIHT(n_nonzero_coefs=15, max_iter=3000, tol=1e-12).recover(10 * A, 10 * Y)
    np.testing.assert_allclose(scaled.x, res.x, atol=1e-8)
    # plain IHT with μ = 1 does not survive the same scaling (it diverges)
    with np.errstate(all="ignore"):
        plain = cs.IHT(n_nonzero_coefs=15, step_size=1.0, max_iter=50, tol=0).recover(10 * A, 10 * Y).x
        assert not np.any(cs.metrics.relative_error(X, plain) < 1e-2)


@pytest.mark.parametrize("name", GREEDY)
def test_support_agrees_with_sklearn_omp(name):
    from sklearn.linear_model import orthogonal_mp

    m, n, k, B = 120, 256, 10, 30
    A = gaussian(m, n, random_state=7)
    X = sparse_signals(n, k, B, random_state=8)
    Y = A @ X
    cls = cs.get_recoverer_class(name)
    params = {} if name in ("stomp", "tst-md") else {"n_nonzero_coefs": k}
    if name == "iht":
        params["step_size"] = 0.65  # μ = 1/‖A‖₂² is convergent but too slow for this size
    res = cls(**params).recover(A, Y)
    ref = orthogonal_mp(A, Y, n_nonzero_coefs=k)
    agree = np.all((np.abs(res.x) > 1e-8) == (np.abs(ref) > 1e-8), axis=0)
    assert agree.mean() >= 0.95, agree.mean()


@pytest.mark.parametrize("name", ["htp", "cosamp", "sp", "stomp", "niht", "iht"])
def test_batched_equals_loop_with_different_supports(name):
    m, n = 60, 150
    A = gaussian(m, n, random_state=9)
    X = np.hstack([sparse_signals(n, k, 1, random_state=10 + k) for k in (2, 5, 9, 14, 20)])
    Y = A @ X
    params = {} if name == "stomp" else {"n_nonzero_coefs": 12}
    r = cs.get_recoverer_class(name)(**params)
    batch = r.recover(A, Y).x
    for b in range(Y.shape[1]):
        np.testing.assert_allclose(r.recover(A, Y[:, b]).x, batch[:, b], atol=1e-9)


def test_htp_stops_at_least_squares_fixed_point():
    A = gaussian(100, 300, random_state=11)
    X = sparse_signals(300, 12, 8, random_state=12)
    Y = A @ X + 0.01 * np.random.default_rng(13).standard_normal((100, 8))
    # (with larger noise HTP can also end in a 2-cycle of supports; Foucart's finite
    # termination needs the RIP condition)
    res = cs.HTP(n_nonzero_coefs=12).recover(A, Y)
    assert res.stop_reason == "solved"
    for b in range(8):
        S = np.flatnonzero(res.x[:, b])
        assert S.size == 12
        ls = np.linalg.lstsq(A[:, S], Y[:, b], rcond=None)[0]
        np.testing.assert_allclose(res.x[S, b], ls, atol=1e-10)


def test_stomp_cfar_false_alarm_rate_on_pure_noise():
    # Gaussian A independent of y: a_jᵀy/(‖y‖/√m) ~ N(0, 1) exactly, so CFAR selects a null
    # coordinate with probability α
    m, n, B, alpha = 200, 1000, 100, 0.05
    A = gaussian(m, n, random_state=14)
    Y = np.random.default_rng(15).standard_normal((m, B))
    res = cs.StOMP(threshold="cfar", false_alarm_rate=alpha, n_stages=1).recover(A, Y)
    rate = np.count_nonzero(res.x) / (n * B)
    se = np.sqrt(alpha * (1 - alpha) / (n * B))
    assert abs(rate - alpha) < 5 * se + 0.002, rate


def test_stomp_cfdr_under_the_global_null():
    # Benjamini–Hochberg with independent nulls rejects anything with probability exactly q
    m, n, B, q = 200, 1000, 200, 0.2
    A = gaussian(m, n, random_state=16)
    Y = np.random.default_rng(17).standard_normal((m, B))
    res = cs.StOMP(threshold="cfdr", fdr=q, n_stages=1).recover(A, Y)
    any_rej = np.mean(np.count_nonzero(res.x, axis=0) > 0)
    assert abs(any_rej - q) < 4 * np.sqrt(q * (1 - q) / B), any_rej


def test_stomp_cfdr_recovers_sparse_signals():
    A = gaussian(150, 400, random_state=18)
    X = sparse_signals(400, 20, 10, random_state=19)
    res = cs.StOMP(threshold="cfdr", fdr=0.3).recover(A, A @ X)
    assert np.mean(cs.metrics.success(X, res.x)) >= 0.9


def test_tuned_presets_work_without_k():
    m, n = 100, 200
    A = gaussian(m, n, random_state=20)
    assert th.tuned_sparsity(m, n) == int(np.floor(tst_rho(0.5) * m)) == 33
    X = sparse_signals(n, 20, 20, random_state=21)  # ρ = 0.2, below ρ_TST(0.5) = 0.33
    tst = cs.SubspacePursuit.maleki_donoho()
    assert isinstance(tst, cs.TSTMalekiDonoho)
    assert np.all(cs.metrics.success(X, tst.recover(A, A @ X).x))
    iht = cs.IHT.maleki_donoho()
    assert iht.step_size == 0.65 and iht.max_iter == 300 and iht.n_nonzero_coefs is None
    X10 = sparse_signals(n, 10, 20, random_state=22)
    assert np.mean(cs.metrics.success(X10, iht.recover(A, A @ X10).x)) >= 0.95
    # far above the ℓ1 curve neither can succeed: the tests above can fail
    X50 = sparse_signals(n, 55, 10, random_state=23)
    assert not np.any(cs.metrics.success(X50, tst.recover(A, A @ X50).x))


def test_bad_parameters():
    with pytest.raises(ValueError, match="kappa"):
        cs.NIHT(kappa=1.005, c=0.01)
    with pytest.raises(ValueError, match="threshold"):
        cs.StOMP(threshold="fixed")
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        cs.CoSaMP(n_nonzero_coefs=70).recover(gaussian(60, 100, random_state=0), np.ones(60))
