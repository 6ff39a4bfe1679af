"""Shared ℓ1 machinery: Lasso objective and duality gap, λ scaling (soft thresholding lives in
:mod:`cstoolkit.prox`).

Objective: F(x) = ½‖Ax − y‖₂² + λ‖x‖₁, per column of a batch.
"""

from __future__ import annotations

import numpy as np

from ..._validation import Interval, Options
from ...conventions import lam_max_of_correlations

L1_CONSTRAINTS = {
    "lam": [Interval("real", 0, None, closed="left")],
    "lam_scale": [Options("absolute", "relative")],
}


def lam_vector(lam: float, lam_scale: str, AtY: np.ndarray, dtype) -> np.ndarray:
    """Per-signal λ, shape (B,): ``lam`` itself, or ``lam·‖Aᵀy_b‖∞`` when ``lam_scale="relative"``.

    With ``lam_scale="relative"``, ``lam=1`` is λ_max, the smallest λ whose solution is 0.
    """
    B = AtY.shape[1]
    if lam_scale == "relative":
        return (lam * lam_max_of_correlations(AtY)).astype(np.finfo(dtype).dtype)
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
    """Primal value and duality gap of the Lasso per column (``Y`` unused; kept for callers).

    The same gap as the base class's certificate, :func:`cstoolkit._certificates.lasso_gap`
    (dual point θ = −R·min(1, λ/‖AᴴR‖∞), written without cancellation).
    """
    from ..._certificates import lasso_gap

    return lasso_gap(R, AtR, X, lam)
