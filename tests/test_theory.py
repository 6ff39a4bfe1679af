"""cstoolkit.theory against published tables, numerical quadrature and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from cstoolkit import theory

# Donoho–Tanner weak threshold as tabulated in /work/shared/ANCHORS.md (DMM 2009 closed form)
DELTAS = np.array([0.05, 0.10, 0.20, 0.25, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90, 0.95])
SIGNED = np.array([.1544, .1894, .2433, .2674, .2908, .3373, .3857, .4384, .4988, .5733, .6782, .7601])
NONNEG = np.array([.1889, .2410, .3259, .3651, .4036, .4803, .5582, .6387, .7225, .8103, .9027, .9507])


def test_rho_l1_matches_published_table():
    np.testing.assert_allclose(theory.rho_l1(DELTAS), SIGNED, atol=1e-3)
    np.testing.assert_allclose(theory.rho_l1(DELTAS, nonneg=True), NONNEG, atol=1e-3)


def test_rho_l1_is_the_maximum_over_z():
    # brute force over a very fine grid (independent of the golden-section search)
    z = np.linspace(1e-4, 6, 200001)
    for d in (0.1, 0.5, 0.9):
        for eps, nonneg in ((2.0, False), (1.0, True)):
            g = (1 + z**2) * stats.norm.sf(z) - z * stats.norm.pdf(z)
            brute = np.max((1 - eps / d * g) / (1 + z**2 - eps * g))
            assert theory.rho_l1(d, nonneg=nonneg) == pytest.approx(brute, abs=1e-9)


def test_rho_l1_shapes_and_errors():
    assert np.ndim(theory.rho_l1(0.5)) == 0
    assert theory.rho_l1(np.ones((2, 3)) * 0.5).shape == (2, 3)
    assert np.all(np.diff(theory.rho_l1(np.linspace(0.02, 1, 50))) > 0)  # increasing in δ
    with pytest.raises(ValueError, match="delta"):
        theory.rho_l1(0.0)
    with pytest.raises(ValueError, match="delta"):
        theory.rho_l1(1.5)


def test_tst_rho_formula_and_range():
    d = np.linspace(0.05, 1, 20)
    r = theory.tst_rho(d)
    assert np.all(np.diff(r) > 0) and np.all((r > 0.14) & (r < 0.54))
    # Maleki–Donoho: tuned TST sits close to, and at moderate δ below, the ℓ1 curve
    mid = (d >= 0.2) & (d <= 0.8)
    assert np.all(r[mid] < theory.rho_l1(d[mid])) and np.all(r[mid] > 0.75 * theory.rho_l1(d[mid]))


@pytest.mark.parametrize("mu", [0.0, 0.3, 1.0, 2.5, 6.0])
@pytest.mark.parametrize("theta", [0.5, 1.2, 3.0])
def test_soft_threshold_risk_matches_quadrature(mu, theta):
    def integrand(z):
        v = mu + z
        eta = np.sign(v) * max(abs(v) - theta, 0.0)
        return (eta - mu) ** 2 * stats.norm.pdf(z)

    ref = integrate.quad(integrand, -12, 12, points=[theta - mu, -theta - mu], limit=200)[0]
    assert theory.soft_threshold_risk(mu, theta) == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_se_map_matches_monte_carlo():
    rng = np.random.default_rng(0)
    delta, eps, alpha, sigma2, mse = 0.4, 0.08, 1.3, 0.01, 0.05
    N = 4_000_000
    X = np.where(rng.random(N) < eps, rng.standard_normal(N), 0.0)
    tau = np.sqrt(sigma2 + mse / delta)
    V = X + tau * rng.standard_normal(N)
    est = np.sign(V) * np.maximum(np.abs(V) - alpha * tau, 0)
    mc = np.mean((est - X) ** 2)
    se = float(theory.se_mse_map(mse, delta=delta, eps=eps, alpha=alpha, sigma2=sigma2))
    assert se == pytest.approx(mc, rel=5e-3)
    # ±1 amplitudes and sample-based laws agree with the same Monte Carlo idea
    Xs = np.where(rng.random(N) < eps, rng.choice([-1.0, 1.0], N), 0.0)
    V = Xs + tau * rng.standard_normal(N)
    mc_s = np.mean((np.sign(V) * np.maximum(np.abs(V) - alpha * tau, 0) - Xs) ** 2)
    assert float(theory.se_mse_map(mse, delta=delta, eps=eps, alpha=alpha, sigma2=sigma2,
                                   amplitude="sign")) == pytest.approx(mc_s, rel=5e-3)
    samples = rng.standard_normal(20000)
    assert float(theory.se_mse_map(mse, delta=delta, eps=eps, alpha=alpha, sigma2=sigma2, amplitude=samples)) == \
        pytest.approx(se, rel=2e-2)


@pytest.mark.parametrize("delta", [0.2, 0.5, 0.8])
def test_state_evolution_phase_transition_is_rho_l1(delta):
    # noiseless SE: mse = 0 is stable iff the slope Ψ(m)/m at 0 is < 1; with the minimax α the
    # boundary is exactly ρ_l1(δ), and no other α does better
    rho = theory.rho_l1(delta)
    alpha = theory.minimax_alpha(delta)
    tiny = 1e-12

    def slope(r, a):
        return float(theory.se_mse_map(tiny, delta=delta, eps=r * delta, alpha=a, amplitude="sign")) / tiny

    assert slope(0.97 * rho, alpha) < 1 < slope(1.03 * rho, alpha)
    assert slope(rho, alpha) == pytest.approx(1.0, abs=1e-6)
    assert min(slope(rho, a) for a in np.linspace(0.3, 3, 28)) >= 1 - 1e-6
    # and the iterated SE converges to 0 below, stays away from 0 above
    below = theory.state_evolution(1000, delta=delta, eps=0.9 * rho * delta, alpha=alpha)
    above = theory.state_evolution(1000, delta=delta, eps=1.1 * rho * delta, alpha=alpha)
    assert below[-1] < 1e-8 * below[0] and above[-1] > 1e-3 * above[0]


def test_fixed_point_and_calibration():
    kw = dict(delta=0.5, eps=0.05, alpha=1.5, sigma2=0.01)
    mse, tau2 = theory.se_fixed_point(**kw)
    assert float(theory.se_mse_map(mse, **kw)) == pytest.approx(mse, rel=1e-9)
    assert tau2 == pytest.approx(0.01 + mse / 0.5)
    lam = theory.amp_lambda_from_alpha(1.5, delta=0.5, eps=0.05, sigma2=0.01)
    # λ = ατ(1 − P(|X+τZ| > ατ)/δ) lies strictly between 0 and the threshold ατ
    assert 0 < lam < 1.5 * np.sqrt(tau2)
    # noiseless and below the transition: τ* = 0, so λ = 0 (basis pursuit)
    assert theory.amp_lambda_from_alpha(theory.minimax_alpha(0.5), delta=0.5, eps=0.05) == 0.0
