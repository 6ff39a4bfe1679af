"""Certificates: what a result must satisfy, recomputed from the returned x, before it says "solved".

One home for the checks every recoverer's result goes through (:meth:`Recoverer.recover`):

* ``"greedy"`` and ``"bp"`` solvers (an exact or a k-sparse fit of ``Ax = y``): the relative
  residual ``‖Ax − y‖ / ‖y‖``;
* ``"bpdn"`` (``‖Ax − y‖ ≤ ε``): the relative excess ``max(‖Ax − y‖ − ε, 0) / ‖y‖``;
* ``"lasso"`` (½‖Ax − y‖² + λ‖x‖₁): the relative duality gap ``(gap − δ)₊ / F(x)``
  with the dual point θ = −s·r, ``s = min(1, λ/‖Aᴴr‖∞)`` (so ``‖Aᴴθ‖∞ ≤ λ``); ``gap ≥ F(x) − F*``
  and δ = :func:`gap_rounding` is the rounding error of a gap computed from ``r = Ax − y``.

Also the overflow-safe column norms and the power-of-two scale factors the base class uses to
normalise every problem (scaling by a power of two is exact in binary floating point).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CERTIFICATES", "safe_col_norms", "pow2", "lasso_gap", "certificate"]

#: certificate name per ``objective_kind`` (the value recorded in ``RecoveryResult.certificate``)
CERTIFICATES = {
    "greedy": "relative residual ‖Ax − y‖/‖y‖",
    "bp": "relative residual ‖Ax − y‖/‖y‖",
    "bpdn": "relative excess max(‖Ax − y‖ − ε, 0)/‖y‖",
    "lasso": "relative duality gap (F(x) − D(θ))/F(x)",
}


def safe_col_norms(V: np.ndarray) -> np.ndarray:
    """ℓ2 norm of every column of ``V`` (m, B) as float64, without overflow or underflow.

    ``np.linalg.norm`` squares the entries first: in float32, ‖y‖ for |y| ≈ 1e20 overflows
    although y does not. Dividing each column by its largest modulus first avoids both.
    """
    V = np.asarray(V)
    if V.ndim == 1:
        V = V[:, None]
    if V.shape[0] == 0:
        return np.zeros(V.shape[1])
    amax = np.max(np.abs(V), axis=0).astype(np.float64)
    s = np.where(amax > 0, amax, 1.0)
    return np.linalg.norm(V.astype(np.complex128 if np.iscomplexobj(V) else np.float64) / s, axis=0) * amax


def pow2(value: float) -> float:
    """The power of two nearest to ``value`` (1.0 for 0, NaN or Inf): an exact scale factor."""
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        return 1.0
    return float(2.0 ** np.round(np.log2(value)))


def lasso_gap(R, AtR, X, lam, *, rn=None, l1=None):
    """Lasso objective and duality gap per column, without cancellation.

    Parameters
    ----------
    R : ndarray (m, B)
        Residual ``AX − Y``.
    AtR : ndarray (n, B)
        ``Aᴴ R``.
    X : ndarray (n, B)
    lam : ndarray (B,)
    rn, l1 : ndarray (B,), optional
        ‖R‖ and ‖X‖₁ when already known.

    Returns
    -------
    primal, gap : ndarray (B,), float64

    Notes
    -----
    The dual point θ = −s·R with ``s = min(1, λ/‖AᴴR‖∞)`` is feasible (‖Aᴴθ‖∞ ≤ λ) and
    ``D(θ) = Re⟨θ, y⟩ − ½‖θ‖²``. Substituting ``y = AX − R`` gives
    ``gap = F − D = ½(1 − s)²‖R‖² + λ‖X‖₁ + s·Re⟨AᴴR, X⟩``: no term of size ‖y‖² cancels.
    """
    rn = safe_col_norms(R) if rn is None else rn
    l1 = np.sum(np.abs(X), axis=0, dtype=np.float64) if l1 is None else l1
    lam = np.asarray(lam, dtype=np.float64)
    cmax = np.max(np.abs(AtR), axis=0).astype(np.float64) if AtR.shape[0] else np.zeros(R.shape[1])
    s = np.where(cmax > lam, lam / np.where(cmax > 0, cmax, 1.0), 1.0)
    wide = np.complex128 if np.iscomplexobj(AtR) or np.iscomplexobj(X) else np.float64
    inner = np.real(np.sum(np.conj(AtR.astype(wide)) * X.astype(wide), axis=0))
    primal = 0.5 * rn**2 + lam * l1
    gap = np.maximum(0.5 * (1 - s) ** 2 * rn**2 + lam * l1 + s * inner, 0.0)
    return primal, gap


def gap_rounding(ynorm, l1, m: int, dtype) -> np.ndarray:
    """Rounding error of a Lasso gap computed from ``r = Ax − y`` in ``dtype``.

    ``r`` is known to about ``eps·√m·‖y‖``; that error enters the gap through ½‖r‖², ⟨r, y⟩
    and ⟨Aᴴr, x⟩ (columns of unit scale, as the base class normalises them), hence the bound
    ``8·eps·√m·‖y‖·(‖y‖ + ‖x‖₁)``. It dominates when F(x) is itself at rounding level (a
    vanishing λ and an exact fit, as AMP's noiseless fixed point).
    """
    eps = np.finfo(np.dtype(dtype)).eps
    yn = np.asarray(ynorm, dtype=np.float64)
    return 8 * eps * np.sqrt(m) * yn * (yn + np.asarray(l1, dtype=np.float64))


def certificate(kind: str, A, coef: np.ndarray, Y: np.ndarray, *, lam=None, epsilon: float = 0.0):
    """Certificate value per signal, plus the residual norm, ½‖r‖² + λ‖x‖₁ and ‖x‖₁.

    Parameters
    ----------
    kind : {"greedy", "bp", "bpdn", "lasso"}
    A : LinearOperator, shape (m, n)
    coef : ndarray, shape (n, B)
    Y : ndarray, shape (m, B)
    lam : ndarray (B,), optional
        λ per signal (``"lasso"`` only).
    epsilon : float, default=0.0
        Noise level ε (``"bpdn"`` only).

    Returns
    -------
    cert : ndarray (B,)
        The certificate (0 is perfect); see the module docstring.
    residual_norm, objective, l1_norm : ndarray (B,)
        ‖Ax − y‖, the documented objective (λ = 0 unless ``"lasso"``) and ‖x‖₁, float64.
    """
    R = np.asarray(A.matmat(coef)) - Y
    rn = safe_col_norms(R)
    yn = safe_col_norms(Y)
    l1 = np.sum(np.abs(coef), axis=0, dtype=np.float64)
    denom = np.where(yn > 0, yn, 1.0)
    if kind == "lasso":
        lam = np.zeros(Y.shape[1]) if lam is None else np.asarray(lam, dtype=np.float64)
        obj, gap = lasso_gap(R, np.asarray(A.rmatmat(R)), coef, lam, rn=rn, l1=l1)
        rounding = gap_rounding(yn, l1, Y.shape[0], Y.dtype)
        cert = np.maximum(gap - rounding, 0.0) / np.maximum(obj, np.finfo(float).tiny)
        return cert, rn, obj, l1
    if kind == "bpdn":
        cert = np.maximum(rn - float(epsilon), 0.0) / denom
    else:
        cert = rn / denom
    return cert, rn, 0.5 * rn**2, l1
