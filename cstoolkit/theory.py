r"""Theoretical curves of compressed sensing: phase transitions and AMP state evolution.

Notation (Donoho–Tanner): ``A`` is ``(m, n)`` with i.i.d. ``N(0, 1/m)`` entries (unit-norm
columns on average), ``δ = m/n`` is the undersampling ratio and ``ρ = k/m`` the sparsity
ratio. The signal prior of the state evolution is ``X ~ (1 − ε)·δ₀ + ε·G`` with ``ε = ρδ = k/n``
and ``G`` the amplitude law of the non-zeros.

* :func:`rho_l1` — the ℓ1 weak phase transition ρ(δ) (signed or non-negative signals), in the
  closed form of Donoho, Maleki & Montanari (2009); :func:`minimax_alpha` — the maximising
  threshold, which is the minimax AMP threshold multiplier α at the transition.
* :func:`tst_rho` — Maleki & Donoho's tuned sparsity for two-stage thresholding.
* :func:`soft_threshold_risk`, :func:`se_mse_map`, :func:`state_evolution`,
  :func:`se_fixed_point`, :func:`amp_lambda_from_alpha` — the scalar state evolution of AMP for
  the Lasso and its λ ↔ α calibration (Bayati & Montanari 2012).

References
----------
Donoho & Tanner, "Counting faces of randomly projected polytopes when the projection
radically lowers dimension", J. AMS 22 (2009).
Donoho, Maleki & Montanari, "Message-passing algorithms for compressed sensing", PNAS 106
(2009).
Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed
sensing", IEEE J. Sel. Topics Signal Process. 4 (2010).
Bayati & Montanari, "The LASSO risk for Gaussian matrices", IEEE Trans. Inf. Theory 58 (2012).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import erfc

__all__ = [
    "rho_l1",
    "minimax_alpha",
    "tst_rho",
    "soft_threshold_risk",
    "se_mse_map",
    "state_evolution",
    "se_fixed_point",
    "amp_lambda_from_alpha",
]

_SQRT2 = np.sqrt(2.0)
_INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _Phi_neg(z):
    """Φ(−z), accurate in the tail."""
    return 0.5 * erfc(z / _SQRT2)


def _phi(z):
    return _INV_SQRT2PI * np.exp(-0.5 * z * z)


def _g(z):
    """g(z) = (1 + z²)Φ(−z) − zφ(z) = ½·E[η(Z; z)²] for Z ~ N(0, 1), η soft thresholding."""
    return (1 + z * z) * _Phi_neg(z) - z * _phi(z)


def _check_delta(delta):
    d = np.asarray(delta, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0) or np.any(d > 1):
        raise ValueError(f"delta = m/n must lie in (0, 1], got {delta!r}.")
    return d


def _rho_of_z(z, d, eps):
    g = _g(z)
    return (1 - (eps / d) * g) / (1 + z * z - eps * g)


def _rho_argmax(delta, nonneg):
    d = _check_delta(delta)
    eps = 1.0 if nonneg else 2.0
    shape = d.shape
    d = d.reshape(-1, 1)
    # coarse grid, then golden-section refinement in the bracketing cell (the curve in z is
    # unimodal on (0, ∞)); all deltas at once
    grid = np.linspace(1e-6, 8.0, 801)
    vals = _rho_of_z(grid[None, :], d, eps)
    j = np.argmax(vals, axis=1)
    h = grid[1] - grid[0]
    lo = np.maximum(grid[j] - h, 1e-9)[:, None]
    hi = (grid[j] + h)[:, None]
    gr = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a = hi - gr * (hi - lo)
        b = lo + gr * (hi - lo)
        fa, fb = _rho_of_z(a, d, eps), _rho_of_z(b, d, eps)
        left = fa > fb
        hi = np.where(left, b, hi)
        lo = np.where(left, lo, a)
    z = 0.5 * (lo + hi)
    return z.reshape(shape), _rho_of_z(z, d, eps).reshape(shape)


def rho_l1(delta, nonneg: bool = False):
    r"""Donoho–Tanner weak phase transition of ℓ1 minimisation, ρ = k/m as a function of δ = m/n.

    .. math::

        \rho(\delta) = \max_{z > 0}
        \frac{1 - (\epsilon/\delta)\, g(z)}{1 + z^2 - \epsilon\, g(z)},\qquad
        g(z) = (1 + z^2)\Phi(-z) - z\varphi(z),

    with ``ε = 2`` for signed and ``ε = 1`` for non-negative signals. Basis pursuit (and AMP
    with the minimax threshold) recovers a k-sparse x from ``m`` Gaussian measurements with
    probability → 1 when ``k/m < ρ(m/n)`` and → 0 above, as ``n → ∞``.

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratio(s) ``m/n`` in (0, 1].
    nonneg : bool, default=False
        Non-negative signals (basis pursuit with the constraint ``x ≥ 0``).

    Returns
    -------
    rho : float or ndarray, same shape as ``delta``

    References
    ----------
    Donoho, Maleki & Montanari, "Message-passing algorithms for compressed sensing",
    PNAS 106 (2009), eq. (7); Donoho & Tanner, J. AMS 22 (2009).
    """
    r = _rho_argmax(delta, nonneg)[1]
    return r[()] if np.ndim(r) == 0 else r


def minimax_alpha(delta, nonneg: bool = False):
    r"""The maximiser ``z*(δ)`` of the :func:`rho_l1` formula: AMP's minimax threshold multiplier.

    With the threshold policy ``θ_t = α·σ_t`` and ``α = z*(δ)``, AMP's noiseless state evolution
    has its phase transition exactly at ``ρ = rho_l1(δ)``.

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratio(s) in (0, 1].
    nonneg : bool, default=False

    Returns
    -------
    alpha : float or ndarray

    References
    ----------
    Donoho, Maleki & Montanari, PNAS 106 (2009).
    """
    z = _rho_argmax(delta, nonneg)[0]
    return z[()] if np.ndim(z) == 0 else z


def tst_rho(delta):
    r"""Maleki–Donoho tuned sparsity ratio for two-stage thresholding (TST / subspace pursuit).

    .. math:: \rho_{TST}(\delta) = 0.044417\,\delta^2 + 0.34142\,\delta + 0.14844

    The tuned algorithm runs with ``k = ⌊ρ_TST(δ)·m⌋`` (Maleki & Donoho write ``n`` for the
    number of measurements, our ``m``).

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratio(s) ``m/n`` in (0, 1].

    Returns
    -------
    rho : float or ndarray

    References
    ----------
    Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed
    sensing", IEEE J. Sel. Topics Signal Process. 4 (2010).
    """
    d = _check_delta(delta)
    r = 0.044417 * d * d + 0.34142 * d + 0.14844
    return r[()] if np.ndim(r) == 0 else r


def soft_threshold_risk(mu, theta):
    r"""Risk of soft thresholding a unit-variance Gaussian observation, closed form.

    .. math::

        r(\mu, \theta) = E[(\eta(\mu + Z; \theta) - \mu)^2]
        = 1 + \theta^2 + (\mu^2 - \theta^2 - 1)[\Phi(\theta - \mu) - \Phi(-\theta - \mu)]
          - (\theta - \mu)\varphi(\theta + \mu) - (\theta + \mu)\varphi(\theta - \mu)

    Parameters
    ----------
    mu : float or array_like
        Mean of the observation (the true coefficient divided by the noise level).
    theta : float or array_like
        Threshold, in units of the noise level; broadcasts with ``mu``.

    Returns
    -------
    risk : ndarray

    References
    ----------
    Donoho & Johnstone, "Ideal spatial adaptation by wavelet shrinkage", Biometrika 81 (1994).
    """
    mu = np.abs(np.asarray(mu, dtype=float))
    t = np.asarray(theta, dtype=float)
    # Φ(θ−μ) − Φ(−θ−μ) written with tail functions for accuracy
    inside = (1 - _Phi_neg(t - mu)) - _Phi_neg(t + mu)
    return 1 + t * t + (mu * mu - t * t - 1) * inside - (t - mu) * _phi(t + mu) - (t + mu) * _phi(t - mu)


@lru_cache(maxsize=None)
def _named_law(amplitude, n_nodes):
    if amplitude == "gaussian":
        x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
        return x, w / w.sum()
    if amplitude in ("sign", "ones"):
        return np.array([1.0]), np.array([1.0])
    if amplitude == "uniform":
        x, w = np.polynomial.legendre.leggauss(n_nodes)
        return x, w / w.sum()
    raise ValueError(f"unknown amplitude law {amplitude!r}; use 'gaussian', 'sign', 'ones', 'uniform' or samples.")


def _amplitude_nodes(amplitude, n_nodes=80):
    """Nodes and weights of the amplitude law G (E over G = Σ w·f(nodes))."""
    if isinstance(amplitude, str):
        return _named_law(amplitude, n_nodes)
    a = np.asarray(amplitude, dtype=float).ravel()
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError("amplitude samples must be a non-empty finite array.")
    return a, np.full(a.size, 1.0 / a.size)


def se_mse_map(mse, *, delta, eps, alpha, sigma2=0.0, amplitude="gaussian"):
    r"""One step of AMP's state evolution for soft thresholding with ``θ = α·τ``.

    .. math::

        \tau^2 = \sigma^2 + \mathrm{mse}/\delta,\qquad
        \Psi(\mathrm{mse}) = E\big[(\eta(X + \tau Z; \alpha\tau) - X)^2\big],\quad
        X \sim (1-\epsilon)\delta_0 + \epsilon G

    ``mse`` is the per-coordinate error ``‖x_t − x‖²/n`` and ``σ²`` the noise variance per
    measurement (``y = Ax + w``, ``w ~ N(0, σ²I_m)``, ``A`` with ``N(0, 1/m)`` entries).

    Parameters
    ----------
    mse : float or array_like
        Current per-coordinate MSE (≥ 0).
    delta : float
        ``m/n``.
    eps : float
        Fraction of non-zeros ``k/n``.
    alpha : float
        Threshold multiplier.
    sigma2 : float, default=0.0
        Measurement-noise variance.
    amplitude : {"gaussian", "sign", "ones", "uniform"} or array_like, default="gaussian"
        Law of the non-zero entries (N(0,1), ±1, 1, U[−1,1]) or samples of it.

    Returns
    -------
    mse_next : ndarray, same shape as ``mse``

    References
    ----------
    Donoho, Maleki & Montanari, PNAS 106 (2009); Bayati & Montanari, IEEE Trans. Inf. Theory
    57 (2011).
    """
    mse = np.asarray(mse, dtype=float)
    tau = np.sqrt(sigma2 + mse / delta)
    nodes, w = _amplitude_nodes(amplitude)
    safe = np.where(tau > 0, tau, 1.0)
    zero_part = tau * tau * 2 * _g(alpha)
    # |μ| beyond 1e6 has risk 1 + α² to machine precision; clipping avoids overflow as τ → 0
    mu = np.clip(nodes[None, :] / safe.reshape(-1, 1), -1e6, 1e6)
    nz = (safe.reshape(-1, 1) ** 2 * soft_threshold_risk(mu, alpha)) @ w
    nz = np.where(tau.reshape(-1) > 0, nz, 0.0).reshape(mse.shape)
    return (1 - eps) * zero_part + eps * nz


def state_evolution(n_iter, *, delta, eps, alpha, sigma2=0.0, amplitude="gaussian", mse0=None):
    r"""Iterate the AMP state evolution ``mse_{t+1} = Ψ(mse_t)`` from ``mse_0 = E[X²]`` (x⁰ = 0).

    Parameters
    ----------
    n_iter : int
        Number of AMP iterations to predict.
    delta, eps, alpha, sigma2, amplitude
        As in :func:`se_mse_map`.
    mse0 : float, optional
        Starting MSE; default ``ε·E[G²]`` (AMP started at zero).

    Returns
    -------
    mse : ndarray, shape (n_iter + 1,)
        Predicted ``‖x_t − x‖²/n`` for ``t = 0..n_iter``.

    References
    ----------
    Donoho, Maleki & Montanari, PNAS 106 (2009).
    """
    if mse0 is None:
        nodes, w = _amplitude_nodes(amplitude)
        mse0 = eps * float(np.sum(w * nodes**2))
    out = np.empty(int(n_iter) + 1)
    out[0] = mse0
    for t in range(int(n_iter)):
        out[t + 1] = se_mse_map(out[t], delta=delta, eps=eps, alpha=alpha, sigma2=sigma2, amplitude=amplitude)
    return out


def se_fixed_point(*, delta, eps, alpha, sigma2=0.0, amplitude="gaussian", tol=1e-13, max_iter=100000):
    r"""Stable fixed point ``mse* = Ψ(mse*)`` reached by the state evolution from ``x⁰ = 0``.

    Parameters
    ----------
    delta, eps, alpha, sigma2, amplitude
        As in :func:`se_mse_map`.
    tol : float, default=1e-13
        Stop when successive iterates differ by less than ``tol·max(mse, 1e-300)`` or mse < tol².
    max_iter : int, default=100000

    Returns
    -------
    mse : float
        Per-coordinate MSE at the fixed point (0 in the noiseless case below the transition).
    tau2 : float
        Effective noise variance ``σ² + mse/δ``.

    References
    ----------
    Bayati & Montanari, "The LASSO risk for Gaussian matrices", IEEE Trans. Inf. Theory 58 (2012).
    """
    mse = state_evolution(0, delta=delta, eps=eps, alpha=alpha, sigma2=sigma2, amplitude=amplitude)[0]
    for _ in range(int(max_iter)):
        nxt = float(se_mse_map(mse, delta=delta, eps=eps, alpha=alpha, sigma2=sigma2, amplitude=amplitude))
        if nxt < tol * tol:  # converged to the noiseless perfect-recovery fixed point
            mse = 0.0
            break
        if abs(nxt - mse) <= tol * max(mse, 1e-300):
            mse = nxt
            break
        mse = nxt
    return mse, sigma2 + mse / delta


def amp_lambda_from_alpha(alpha, *, delta, eps, sigma2=0.0, amplitude="gaussian"):
    r"""Lasso penalty λ equivalent to AMP's threshold multiplier α (Bayati–Montanari calibration).

    .. math::

        \lambda = \alpha\tau_*\Big(1 - \frac1\delta P\big(|X + \tau_* Z| > \alpha\tau_*\big)\Big)

    where ``τ*²`` is the state-evolution fixed point. AMP with ``θ_t = α·σ̂_t`` then converges
    to the Lasso solution ``argmin ½‖Ax − y‖² + λ‖x‖₁`` (our scaling: A with unit-norm columns).

    Parameters
    ----------
    alpha : float
    delta, eps, sigma2, amplitude
        As in :func:`se_mse_map`.

    Returns
    -------
    lam : float

    References
    ----------
    Bayati & Montanari, "The LASSO risk for Gaussian matrices", IEEE Trans. Inf. Theory 58 (2012).
    """
    _, tau2 = se_fixed_point(delta=delta, eps=eps, alpha=alpha, sigma2=sigma2, amplitude=amplitude)
    tau = np.sqrt(tau2)
    if tau == 0:
        return 0.0
    nodes, w = _amplitude_nodes(amplitude)
    # P(|μ + Z| > α) with μ = x/τ
    p_nz = np.sum(w * (_Phi_neg(alpha - nodes / tau) + _Phi_neg(alpha + nodes / tau)))
    p = (1 - eps) * 2 * _Phi_neg(alpha) + eps * p_nz
    return float(alpha * tau * (1 - p / delta))
