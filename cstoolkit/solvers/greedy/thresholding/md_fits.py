r"""The Maleki–Donoho empirical fits: the tuned sparsity and the false-alarm rates of the
interference-heuristic thresholds (functions of δ = m/n only).

References
----------
Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed sensing",
IEEE J. Sel. Topics Signal Process. 4 (2010), and the authors' SparseLab scripts.
"""

from __future__ import annotations

import numpy as np

from ....theory import tst_rho

__all__ = ["tuned_sparsity", "iht_false_alarm_rate", "ist_false_alarm_rate"]


def tuned_sparsity(m, n):
    r"""Maleki–Donoho tuned sparsity ``k = ⌊ρ_TST(δ)·m⌋`` with ``δ = m/n`` (at least 1, at most m).

    Parameters
    ----------
    m, n : int
        Shape of ``A``.

    Returns
    -------
    k : int

    References
    ----------
    Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed
    sensing", IEEE J. Sel. Topics Signal Process. 4 (2010).
    """
    delta = min(m / n, 1.0)
    return int(max(1, min(m, n, np.floor(tst_rho(delta) * m))))


def _check_delta(delta):
    delta = float(delta)
    if not 0 < delta <= 1:
        raise ValueError(f"delta must lie in (0, 1], got {delta!r}.")
    return delta


def iht_false_alarm_rate(delta):
    r"""Maleki–Donoho tuned false-alarm rate of IHT's interference-heuristic threshold.

    .. math:: \mathrm{FAR}(\delta) = 0.0465\,\delta^2 + 0.0041\,\delta + 0.0012
              \quad (\delta < 0.85), \qquad 0.04 \quad (\delta \ge 0.85)

    (the authors' empirical fit, from their ``RecommendedIHT`` script). The threshold factor is
    ``λ(δ) = Φ⁻¹(1 − FAR/2)``: λ(0.25) = 2.80, λ(0.5) = 2.44, λ(0.75) = 2.16.

    Parameters
    ----------
    delta : float
        Undersampling ratio m/n in (0, 1].

    Returns
    -------
    far : float

    References
    ----------
    Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed
    sensing", IEEE J. Sel. Topics Signal Process. 4 (2010); tuned values from the authors'
    SparseLab script ``RecommendedIHT.m``.
    """
    delta = _check_delta(delta)
    return 0.0465 * delta**2 + 0.0041 * delta + 0.0012 if delta < 0.85 else 0.04


def ist_false_alarm_rate(delta):
    r"""Maleki–Donoho tuned false-alarm rate of IST's interference-heuristic threshold.

    .. math:: \mathrm{FAR}(\delta) = 0.11\,\delta^2 + 0.37\,\delta - 0.005

    (the authors' empirical fit, from their ``RecommendedIST`` script), clipped below at 1e-4
    (the fit turns negative for δ < 0.0135). The threshold factor is
    ``λ(δ) = Φ⁻¹(1 − FAR/2)``: with Gaussian interference of spread σ̂, a null coordinate passes
    the threshold ``λσ̂`` with probability FAR. λ(0.1) = 2.13, λ(0.5) = 1.26, λ(0.9) = 0.81.

    Parameters
    ----------
    delta : float
        Undersampling ratio m/n in (0, 1].

    Returns
    -------
    far : float
        False-alarm rate in (0, 1).

    References
    ----------
    Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed
    sensing", IEEE J. Sel. Topics Signal Process. 4 (2010); tuned values from the authors'
    SparseLab script ``RecommendedIST.m``.
    """
    delta = _check_delta(delta)
    return max(0.11 * delta**2 + 0.37 * delta - 0.005, 1e-4)
