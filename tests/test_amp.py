"""AMP against its state evolution, the Lasso (scikit-learn) and the ℓ1 phase transition."""

from __future__ import annotations

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit import theory
from cstoolkit.ensembles import gaussian
from cstoolkit.signals import sparse_signals


def _noisy_problem(n=1000, delta=0.5, eps=0.05, sigma=0.03, B=20, seed=0):
    m, k = int(delta * n), int(eps * n)
    A = gaussian(m, n, random_state=seed)
    X = sparse_signals(n, k, B, random_state=seed + 1)
    Y = A @ X + sigma * np.random.default_rng(seed + 2).standard_normal((m, B))
    return A, X, Y, m, k


def test_state_evolution_predicts_mse_per_iteration():
    n, delta, eps, sigma, alpha = 1000, 0.5, 0.05, 0.03, 1.5
    A, X, Y, m, k = _noisy_problem(n, delta, eps, sigma)
    mse = []
    cs.AMP(alpha=alpha, max_iter=15, tol=0.0).recover(
        A, Y, callbacks=lambda info: mse.append(np.mean(np.sum((info.coef - X) ** 2, axis=0)) / n))
    se = theory.state_evolution(15, delta=m / n, eps=k / n, alpha=alpha, sigma2=sigma**2)
    ratio = np.array(mse) / se[1:]
    assert np.all(np.abs(ratio - 1) < 0.12), ratio
    # the prediction is informative: the MSE falls by more than 10x and then plateaus
    assert se[1] / se[-1] > 10 and mse[0] / mse[-1] > 10


def test_alpha_mode_is_lasso_with_calibrated_lambda():
    from sklearn.linear_model import Lasso

    n, delta, eps, sigma, alpha = 1000, 0.5, 0.05, 0.03, 1.5
    A, X, Y, m, k = _noisy_problem(n, delta, eps, sigma, B=4, seed=10)
    amp = cs.AMP(alpha=alpha, max_iter=3000, tol=1e-12)
    res = amp.recover(A, Y)
    assert res.converged
    lam_theory = theory.amp_lambda_from_alpha(alpha, delta=m / n, eps=k / n, sigma2=sigma**2)
    assert not hasattr(amp, "lam_")  # recover leaves the solver unchanged; λ is in the result
    assert np.mean(res.lam) == pytest.approx(lam_theory, rel=0.1)
    for b in range(4):
        lam = res.lam[b]
        sk = Lasso(alpha=cs.conventions.sklearn_alpha_from_lam(lam, m), fit_intercept=False, tol=1e-12,
                   max_iter=100000).fit(A, Y[:, b])
        f = lambda x: 0.5 * np.sum((A @ x - Y[:, b]) ** 2) + lam * np.sum(np.abs(x))  # noqa: E731
        assert f(res.x[:, b]) <= f(sk.coef_) * (1 + 1e-7)
        np.testing.assert_allclose(res.x[:, b], sk.coef_, atol=1e-5)


def test_lam_mode_relative_scale_batched():
    from sklearn.linear_model import Lasso

    A, X, Y, m, _ = _noisy_problem(400, 0.5, 0.05, 0.02, B=5, seed=20)
    res = cs.AMP(lam=0.05, lam_scale="relative", max_iter=5000, tol=1e-12).recover(A, Y)
    lam = 0.05 * np.max(np.abs(A.T @ Y), axis=0)
    for b in range(5):
        sk = Lasso(alpha=lam[b] / m, fit_intercept=False, tol=1e-12, max_iter=100000).fit(A, Y[:, b])
        np.testing.assert_allclose(res.x[:, b], sk.coef_, atol=1e-6)
    np.testing.assert_allclose(res.history["objective"][-1],
                               0.5 * np.sum((A @ res.x - Y) ** 2, 0) + lam * np.abs(res.x).sum(0), rtol=1e-10)


def _crossing(rhos, success):
    """50% point of a logistic fit of success on ρ (SparseLab's estimator)."""
    from sklearn.linear_model import LogisticRegression

    x = np.repeat(rhos, success.shape[1])[:, None]
    fit = LogisticRegression(C=1e6).fit(x, success.ravel().astype(int))
    return -fit.intercept_[0] / fit.coef_[0, 0]


@pytest.mark.parametrize("delta,n", [(0.5, 300), pytest.param(0.25, 400, marks=pytest.mark.slow)])
def test_empirical_phase_transition_on_l1_curve(delta, n):
    m = int(delta * n)
    rho_star = theory.rho_l1(delta)
    rhos = rho_star + np.linspace(-0.1, 0.1, 5)
    trials, per_matrix = 40, 20
    success = np.zeros((rhos.size, trials), dtype=bool)
    amp = cs.AMP(max_iter=500, tol=1e-7)  # minimax α for δ
    for i, rho in enumerate(rhos):
        k = int(round(rho * m))
        for j in range(trials // per_matrix):
            seed = 1000 * i + j
            A = gaussian(m, n, random_state=seed)
            X = sparse_signals(n, k, per_matrix, amplitude="sign", random_state=seed + 500)
            sl = slice(j * per_matrix, (j + 1) * per_matrix)
            success[i, sl] = cs.metrics.success(X, amp.recover(A, A @ X).x)
    assert success[0].mean() >= 0.9 and success[-1].mean() <= 0.1, success.mean(axis=1)
    assert abs(_crossing(rhos, success) - rho_star) < 0.03, (_crossing(rhos, success), rho_star)
