"""cstoolkit.phase: exact ℓ1 references agree with each other, logistic crossings with scikit-learn."""

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit import phase


@pytest.mark.parametrize("m,k", [(40, 6), (40, 16), (60, 30)])  # below, near and above the ℓ1 transition
def test_homotopy_matches_highs_lp(m, k):
    n, B = 100, 4
    rng = np.random.default_rng(m + k)
    A = cs.ensembles.gaussian(m, n, random_state=rng)
    X = cs.signals.sparse_signals(n, k, B, random_state=rng)
    Y = A @ X
    Xh = phase.bp_homotopy(A, Y)
    Xl = phase.bp_linprog(A, Y)
    assert Xh.shape == (n, B)
    np.testing.assert_allclose(A @ Xh, Y, atol=1e-8)
    # both are ℓ1 minimisers: equal ℓ1 norms (the LP is the independent reference)
    np.testing.assert_allclose(np.abs(Xh).sum(0), np.abs(Xl).sum(0), rtol=1e-7)


def test_homotopy_single_signal_and_exact_recovery():
    A = cs.ensembles.gaussian(50, 120, random_state=0)
    x = cs.signals.sparse_signals(120, 5, random_state=1)
    xh = phase.bp_homotopy(A, A @ x)
    assert xh.shape == (120,)
    assert cs.metrics.relative_error(x, xh) < 1e-9
    with pytest.raises(ValueError, match="rows"):
        phase.bp_homotopy(A, np.ones(49))


def test_logistic_fit_matches_sklearn_unpenalised():
    from sklearn.linear_model import LogisticRegression

    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    s = np.array([39, 35, 28, 15, 6, 1])
    t = np.full(6, 40)
    a, b = phase.logistic_fit(x, s, t, ridge=0.0)
    # the same likelihood written as individual Bernoulli observations
    xx = np.repeat(x, t)
    yy = np.concatenate([np.r_[np.ones(si), np.zeros(ti - si)] for si, ti in zip(s, t)])
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(xx[:, None], yy)
    assert a == pytest.approx(lr.intercept_[0], rel=1e-5)
    assert b == pytest.approx(lr.coef_[0, 0], rel=1e-5)
    assert phase.logistic_crossing(x, s, t, ridge=0.0) == pytest.approx(-lr.intercept_[0] / lr.coef_[0, 0], rel=1e-5)


def test_logistic_crossing_recovers_known_curve_and_levels():
    x = np.linspace(0, 1, 11)
    p = 1 / (1 + np.exp(-(3.0 - 10.0 * x)))  # 50% at 0.3
    t = np.full(11, 10**6)
    s = np.round(p * t)
    assert phase.logistic_crossing(x, s, t) == pytest.approx(0.3, abs=1e-3)
    x95 = (np.log(0.95 / 0.05) - 3.0) / -10.0
    assert phase.logistic_crossing(x, s, t, level=0.95) == pytest.approx(x95, abs=1e-3)
    with pytest.raises(ValueError, match="level"):
        phase.logistic_crossing(x, s, t, level=1.0)


def test_crossing_under_perfect_separation_lies_between_points():
    x = np.array([0.1, 0.2, 0.3, 0.4])
    s = np.array([40, 40, 0, 0])
    c = phase.logistic_crossing(x, s, np.full(4, 40))
    assert 0.2 < c < 0.3


def test_crossings_by_group():
    rows = [dict(solver=s, delta=0.5, rho=r, successes=sc, trials=40)
            for s, pts in {"a": [(0.2, 40), (0.3, 20), (0.4, 0)], "b": [(0.2, 40), (0.3, 40)]}.items()
            for r, sc in pts]
    out = {c["solver"]: c for c in phase.crossings_by_group(rows, group=("solver", "delta"))}
    assert out["a"]["rho_cross"] == pytest.approx(0.3, abs=1e-6)  # symmetric counts
    assert np.isnan(out["b"]["rho_cross"]) and out["b"]["all_success"]


def test_phase_success_criteria():
    x = np.zeros((10, 3)); x[0] = 1.0; x[1] = 1.0
    xh = x.copy(); xh[0, 1] += 0.02; xh[5, 2] = 5.0
    np.testing.assert_array_equal(phase.phase_success(x, xh), [True, False, False])
    np.testing.assert_array_equal(phase.phase_success(x, xh, criterion="support"), [True, True, False])
    xh[:, 0] = np.nan
    assert not phase.phase_success(x, xh)[0]
    with pytest.raises(ValueError, match="criterion"):
        phase.phase_success(x, xh, criterion="nope")


def test_phase_recoverer_uses_solver_settings_and_overrides():
    r = phase.phase_recoverer("omp", 7)
    assert r.n_nonzero_coefs == 7
    f = phase.phase_recoverer("fista", 7, {"max_iter": 33, "bogus": 1})
    assert f.max_iter == 33 and f.lam_scale == "relative"
    with pytest.raises(ValueError, match="unknown recoverer"):
        phase.phase_recoverer("no-such-solver", 3)


def test_crossings_by_group_refuses_extrapolation():
    # success falls only a little over the range: the fitted 50% point lies far outside it
    rows = [dict(solver="a", delta=0.5, rho=r, successes=s, trials=40) for r, s in [(0.1, 40), (0.2, 39), (0.3, 38)]]
    (c,) = phase.crossings_by_group(rows, group=("solver", "delta"))
    assert np.isnan(c["rho_cross"]) and not c["all_success"]
