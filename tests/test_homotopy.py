"""Homotopy / LARS-Lasso path against scikit-learn's lars_path and Lasso."""

from __future__ import annotations

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.ensembles import gaussian
from cstoolkit.signals import sparse_signals
from cstoolkit.solvers.homotopy import lasso_path_homotopy


@pytest.fixture(scope="module")
def noisy():
    A = gaussian(50, 120, random_state=0)
    x = sparse_signals(120, 10, random_state=1)
    y = A @ x + 0.01 * np.random.default_rng(2).standard_normal(50)
    return A, y


def test_path_matches_sklearn_lars_path(noisy):
    from sklearn.linear_model import lars_path

    A, y = noisy
    m = A.shape[0]
    alphas, _, coefs = lars_path(A, y, method="lasso")
    lams, path = lasso_path_homotopy(A, y)
    assert lams.shape == alphas.shape  # same breakpoints, joins and drops alike
    np.testing.assert_allclose(lams, alphas * m, rtol=1e-9, atol=1e-12)  # sklearn's alphas are λ/m
    np.testing.assert_allclose(path, coefs, atol=1e-9)


def test_path_has_drops_and_is_piecewise_linear_optimal(noisy):
    A, y = noisy
    lams, path = lasso_path_homotopy(A, y, lam_min=1e-3)
    nnz = np.count_nonzero(path, axis=0)
    # joins − drops = final support size and joins + drops = steps (the last step only ends the path)
    assert len(lams) - 2 > nnz[-1], "this instance has zero crossings (Lasso modification)"
    assert lams[-1] == pytest.approx(1e-3)
    # KKT at every breakpoint and at a midpoint: |Aᵀr| ≤ λ, = λ·sign(x) on the support
    mids = 0.5 * (path[:, 1:] + path[:, :-1])
    for x, lam in list(zip(path.T, lams)) + [(mids[:, 3], 0.5 * (lams[3] + lams[4]))]:
        g = A.T @ (y - A @ x)
        assert np.max(np.abs(g)) <= lam * (1 + 1e-9)
        s = x != 0
        np.testing.assert_allclose(g[s], lam * np.sign(x[s]), rtol=1e-8)


@pytest.mark.parametrize("lam", [0.5, 0.05, 0.005])
def test_recoverer_matches_sklearn_lasso(lam):
    from sklearn.linear_model import Lasso

    A = gaussian(40, 90, random_state=4)
    X = sparse_signals(90, 6, 3, random_state=5)
    Y = A @ X + 0.02 * np.random.default_rng(6).standard_normal((40, 3))
    res = cs.Homotopy(lam=lam).recover(A, Y)
    alpha = cs.conventions.sklearn_alpha_from_lam(lam, 40)
    for b in range(3):
        sk = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=10**6).fit(A, Y[:, b])
        np.testing.assert_allclose(res.x[:, b], sk.coef_, atol=1e-7)


def test_lambda_above_max_gives_zero():
    A = gaussian(20, 40, random_state=1)
    y = np.random.default_rng(2).standard_normal(20)
    res = cs.Homotopy(lam=1.0, lam_scale="relative").recover(A, y)
    assert not np.any(res.x)


def test_bad_input():
    with pytest.raises(ValueError, match="expected A of shape"):
        lasso_path_homotopy(np.ones((3, 4)), np.ones(4))
