"""Certificates: what a result must satisfy, recomputed from the returned x, before it says "solved".

One home for the checks every recoverer's result goes through (:meth:`Recoverer.recover`):

* ``"greedy"`` and ``"bp"`` solvers (an exact or a k-sparse fit of ``Ax = y``): the relative
  residual ``‖Ax − y‖ / ‖y‖``;
* ``"bpdn"`` (``‖Ax − y‖ ≤ ε``): the relative excess ``max(‖Ax − y‖ − ε, 0) / ‖y‖``;
* ``"lasso"`` (½‖Ax − y‖² + λ‖x‖₁): the relative duality gap ``(gap − δ)₊ / F(x)``
  with the dual point θ = −s·r, ``s = min(1, λ/‖Aᴴr‖∞)`` (so ``‖Aᴴθ‖∞ ≤ λ``); ``gap ≥ F(x) − F*``
  and δ the rounding error of a gap computed from ``r = Ax − y`` (:func:`lasso_gap`).

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


def lasso_gap(R, AtR, X, lam, *, rn=None, l1=None, ynorm=None, with_rounding=False, x_dtype=None,
              group_size=1, positive=False):
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
    ynorm : ndarray (B,), optional
        ‖y‖ (needed with ``with_rounding``).
    with_rounding : bool, default=False
        Also return the rounding error of the computed gap.
    x_dtype : dtype, optional
        Precision in which x was computed (default: that of ``R``).
    group_size : int, default=1
        Contiguous groups of this size: the penalty is λΣ_g‖x_g‖₂ (1: the ℓ1 norm).
    positive : bool, default=False
        The constraint x ≥ 0: the dual constraint is one-sided, ``−(Aᴴθ)_g ≤ λ``.

    Returns
    -------
    primal, gap : ndarray (B,), float64
    rounding : ndarray (B,), float64
        Only with ``with_rounding=True``: ``32·eps·√m·(‖y‖(‖R‖ + s(‖y‖ + ‖R‖)) + s‖R‖‖X‖₁)``.

    Notes
    -----
    The dual point θ = −s·R with ``s = min(1, λ/‖AᴴR‖∞)`` is feasible (‖Aᴴθ‖∞ ≤ λ) and
    ``D(θ) = Re⟨θ, y⟩ − ½‖θ‖²``. Substituting ``y = AX − R`` gives
    ``gap = F − D = ½(1 − s)²‖R‖² + λ‖X‖₁ + s·Re⟨AᴴR, X⟩``: no term of size ‖y‖² cancels.
    """
    rn = safe_col_norms(R) if rn is None else rn
    lam = np.asarray(lam, dtype=np.float64)
    g = int(group_size)
    if g == 1:
        l1 = np.sum(np.abs(X), axis=0, dtype=np.float64) if l1 is None else l1
        G = np.maximum(-np.real(AtR), 0) if positive else np.abs(AtR)
        cmax = np.max(G, axis=0).astype(np.float64) if AtR.shape[0] else np.zeros(R.shape[1])
    else:  # group norms: penalty Σ_g ‖x_g‖, dual norm max_g ‖(Aᴴr)_g‖
        def _gn(V):
            V = np.asarray(V, dtype=np.complex128 if np.iscomplexobj(V) else np.float64)
            return np.sqrt(np.sum(np.abs(V.reshape(V.shape[0] // g, g, -1)) ** 2, axis=1))
        l1 = np.sum(_gn(X), axis=0)
        cmax = np.max(_gn(np.maximum(-np.real(AtR), 0) if positive else AtR), axis=0)
    s = np.where(cmax > lam, lam / np.where(cmax > 0, cmax, 1.0), 1.0)
    wide = np.complex128 if np.iscomplexobj(AtR) or np.iscomplexobj(X) else np.float64
    inner = np.real(np.sum(np.conj(AtR.astype(wide)) * X.astype(wide), axis=0))
    primal = 0.5 * rn**2 + lam * l1
    gap = np.maximum(0.5 * (1 - s) ** 2 * rn**2 + lam * l1 + s * inner, 0.0)
    if not with_rounding:
        return primal, gap
    # r = Ax − y is known to δr ≈ eps·√m·‖y‖ (unit-scale columns, as the base class normalises
    # them); it enters the gap through ½(1−s)²‖r‖² (≈ ‖r‖·δr) and s⟨Aᴴr, x⟩ = s⟨r, Ax⟩
    # (≈ s·‖Ax‖·δr, plus the rounding of Aᴴr itself, s·eps·√m·‖r‖·‖x‖₁). It dominates when
    # F(x) is itself at rounding level (a vanishing λ and an exact fit, as AMP's noiseless
    # fixed point); 32 is the safety factor measured on such fixed points.
    # An x stored in single precision is itself rounded: δx ≈ eps_x·‖x‖ moves the dual point
    # by A·δx, a first-order change of the gap of about eps_x·√m·‖y‖·‖x‖ (the optimum rounded
    # to float32 has that gap).
    eps = np.finfo(R.dtype).eps
    eps_x = np.finfo(x_dtype).eps if x_dtype is not None else eps
    yn = np.asarray(ynorm, dtype=np.float64)
    sq = np.sqrt(R.shape[0])
    rounding = 32 * eps * sq * (yn * (rn + s * (yn + rn)) + s * rn * l1)
    rounding = rounding + 8 * eps_x * sq * yn * np.linalg.norm(np.asarray(X, dtype=wide), axis=0)
    return primal, gap, rounding


def _widened(A, coef, Y):
    """Single-precision problems with an explicit matrix are certified in double precision:
    the certificate then judges the returned x on the data as given, not float32 rounding."""
    from .operators import MatrixOperator, explicit_matrix

    mat = explicit_matrix(A)
    if mat is None or mat.dtype not in (np.float32, np.complex64):
        return A, coef, Y
    wide = np.complex128 if mat.dtype.kind == "c" or np.iscomplexobj(Y) else np.float64
    return MatrixOperator(mat.astype(wide)), np.asarray(coef, dtype=wide), np.asarray(Y, dtype=wide)


def certificate(kind: str, A, coef: np.ndarray, Y: np.ndarray, *, lam=None, epsilon: float = 0.0,
                structure=(1, False)):
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
    structure : (int, bool), default=(1, False)
        Group size and nonnegativity of the ℓ1-type penalty (``"lasso"`` only).

    Returns
    -------
    cert : ndarray (B,)
        The certificate (0 is perfect); see the module docstring.
    residual_norm, objective, l1_norm : ndarray (B,)
        ‖Ax − y‖, the documented objective (λ = 0 unless ``"lasso"``) and ‖x‖₁, float64.
    """
    x_dtype = np.asarray(coef).dtype
    A, coef, Y = _widened(A, coef, Y)
    R = np.asarray(A.matmat(coef)) - Y
    rn = safe_col_norms(R)
    yn = safe_col_norms(Y)
    l1 = np.sum(np.abs(coef), axis=0, dtype=np.float64)
    denom = np.where(yn > 0, yn, 1.0)
    if kind == "lasso":
        lam = np.zeros(Y.shape[1]) if lam is None else np.asarray(lam, dtype=np.float64)
        g, positive = structure
        obj, gap, rounding = lasso_gap(R, np.asarray(A.rmatmat(R)), coef, lam, rn=rn, l1=None if g > 1 else l1,
                                       ynorm=yn, with_rounding=True, x_dtype=x_dtype, group_size=g,
                                       positive=positive)
        cert = np.maximum(gap - rounding, 0.0) / np.maximum(obj, np.finfo(float).tiny)
        return cert, rn, obj, l1
    if kind == "bpdn":
        cert = np.maximum(rn - float(epsilon), 0.0) / denom
    else:
        cert = rn / denom
    return cert, rn, 0.5 * rn**2, l1
