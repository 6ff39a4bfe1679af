"""Shared ℓ1 machinery: soft thresholding, Lasso objective and duality gap, λ scaling.

Objective: F(x) = ½‖Ax − y‖₂² + λ‖x‖₁, per column of a batch.
"""

from __future__ import annotations

import numpy as np

from .._validation import Interval, Options

L1_CONSTRAINTS = {
    "lam": [Interval("real", 0, None, closed="left")],
    "lam_scale": [Options("absolute", "relative")],
}


def soft(X: np.ndarray, t) -> np.ndarray:
    """sign(x)·max(|x| − t, 0) (modulus shrinkage for complex x); ``t`` broadcasts over columns."""
    if np.iscomplexobj(X):
        mag = np.abs(X)
        scale = np.maximum(1 - t / np.maximum(mag, np.finfo(mag.dtype).tiny), 0)
        return X * scale
    return np.sign(X) * np.maximum(np.abs(X) - t, 0)


def lam_vector(lam: float, lam_scale: str, AtY: np.ndarray, dtype) -> np.ndarray:
    """Per-signal λ, shape (B,): ``lam`` itself, or ``lam·‖Aᵀy_b‖∞`` when ``lam_scale="relative"``.

    With ``lam_scale="relative"``, ``lam=1`` is λ_max, the smallest λ whose solution is 0.
    """
    B = AtY.shape[1]
    if lam_scale == "relative":
        return (lam * np.max(np.abs(AtY), axis=0)).astype(np.finfo(dtype).dtype)
    return np.full(B, lam, dtype=np.finfo(dtype).dtype)


def l1_objective(R: np.ndarray, X: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Objective and residual norm per column given the residual ``R = AX − Y``."""
    rn2 = np.sum(np.abs(R) ** 2, axis=0)
    return 0.5 * rn2 + lam * np.sum(np.abs(X), axis=0), np.sqrt(rn2)


def bp_objective(D, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Basis-pursuit history per column: ‖x‖₁ and the residual norm ‖DX − Y‖ (D explicit)."""
    R = D @ X - Y
    return np.sum(np.abs(X), axis=0), np.sqrt(np.sum(np.abs(R) ** 2, axis=0))


def duality_gap(R: np.ndarray, AtR: np.ndarray, X: np.ndarray, Y: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Primal value and duality gap of the Lasso per column.

    Parameters
    ----------
    R : ndarray (m, B)
        Residual ``AX − Y``.
    AtR : ndarray (n, B)
        ``Aᴴ R`` (the gradient of the smooth part).
    X, Y : current iterate (n, B) and measurements (m, B).
    lam : ndarray (B,)

    Notes
    -----
    The dual point θ = −R·min(1, λ/‖AᴴR‖∞) is feasible (‖Aᴴθ‖∞ ≤ λ); the dual value is
    Re⟨θ, y⟩ − ½‖θ‖², so gap = F(x) − D(θ) ≥ 0 bounds the sub-optimality of x.
    """
    primal, _ = l1_objective(R, X, lam)
    cmax = np.max(np.abs(AtR), axis=0)
    scale = np.where(cmax > lam, lam / np.maximum(cmax, np.finfo(float).tiny), 1.0)
    theta = -R * scale
    dual = np.real(np.sum(np.conj(theta) * Y, axis=0)) - 0.5 * np.sum(np.abs(theta) ** 2, axis=0)
    return primal, primal - dual
