r"""Coding from the Gram matrix: the public hook :meth:`Recoverer.recover_gram` and its default.

Many signals coded over one dictionary ``D`` (m, n) — the coding step of a dictionary learner,
the "dictionary" compression method — need ``D`` only through

* the Gram matrix :math:`G = D^H D` (n, n), computed once,
* the correlations :math:`c_b = D^H x_b` (n,) of each signal (one BLAS-3 product per block),
* and, for a stopping rule on the residual, :math:`\|x_b\|^2`,

since :math:`\|x - D s\|^2 = \|x\|^2 - 2\,\mathrm{Re}\, s^H c + s^H G s`. This is the form
scikit-learn calls ``orthogonal_mp_gram``. A recoverer with a fast Gram path (OMP's Batch-OMP
kernels) overrides :meth:`~cstoolkit.base.Recoverer.recover_gram`; every other recoverer gets
the default of this module, which builds a small *equivalent* problem and calls its own
``recover``:

.. math::

    G = V \Lambda V^H,\quad R = \Lambda_r^{1/2} V_r^H\ (r \times n),\quad
    y' = \Lambda_r^{-1/2} V_r^H c,\quad
    \tilde A = \begin{bmatrix} R \\ 0 \end{bmatrix},\quad
    \tilde y = \begin{bmatrix} y' \\ \sqrt{\|x\|^2 - \|y'\|^2} \end{bmatrix}

(``r`` eigenvalues above ``n·eps·λ_max`` of the working precision kept: ``r = rank D ≤ min(m, n)``;
the last row only when some ``x`` has a part outside the range of ``D`` larger than rounding —
so for a dictionary of full row rank the problem has exactly the shape of the original one,
which solvers tuned by the aspect ratio ``m/n`` need).
Then :math:`\tilde A^H \tilde A = G`, :math:`\tilde A^H \tilde y = c` and
:math:`\|\tilde y\|^2 = \|x\|^2`, so :math:`\|\tilde A s - \tilde y\|^2 = \|D s - x\|^2` for
*every* ``s``: objectives, residual norms, duality gaps, a residual tolerance or a noise level
ε all have the same values as on the original problem, and the solution set is the same.
Without ``norms_squared`` the last row is 0: ``x`` is taken to lie in the range of ``D`` (true
when ``D`` has full row rank), and residual norms miss the part of ``x`` outside that range.

Cost: one eigendecomposition of ``G`` (``O(n³)``, in double precision) per call — or, when the
caller passes a factor ``R`` with ``RᴴR = G`` (the dictionary ``D`` itself), one least-squares
solve of ``O(n·r²)`` instead — then the recoverer on an ``(r + 1) × n`` matrix — at most ``min(m, n) + 1`` rows, so never more than the
original problem. An algorithm whose behaviour (not whose solution) depends on the matrix's
distribution, such as AMP's Onsager correction, sees a different matrix; the problem it
solves is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._certificates import certificate
from .operators import as_operator

__all__ = ["GramCoding", "check_gram_inputs", "gram_factor", "gram_lasso_solution", "recover_gram_default"]


@dataclass(frozen=True)
class GramCoding:
    """What :meth:`~cstoolkit.base.Recoverer.recover_gram` returns.

    Attributes
    ----------
    coef : ndarray, shape (n,) or (n, B)
        Coefficients ``s`` per signal, in the working dtype (float32 kept).
    objective : float or ndarray, shape (B,)
        Final ½‖D s − x‖² + λ·R(s) per signal (λR = 0 for greedy and basis-pursuit solvers).
    residual_norm : float or ndarray, shape (B,)
        Final ‖D s − x‖ per signal (with ``norms_squared=None``: of the part of ``x`` in the
        range of ``D``).
    """

    coef: np.ndarray
    objective: object
    residual_norm: object


def check_gram_inputs(gram, correlations, norms_squared=None):
    """Validate the Gram-form inputs; return ``(G, C (n, B), norms (B,) or None, single)``.

    ``G`` (n, n) and ``C`` share one floating dtype (float32 only when both are).
    """
    G = np.asarray(gram)
    C = np.asarray(correlations)
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"gram must be a square (n, n) matrix DᴴD; got shape {G.shape}.")
    n = G.shape[0]
    single = C.ndim == 1
    if single:
        C = C[:, None]
    if C.ndim != 2 or C.shape[0] != n:
        raise ValueError(f"correlations have shape {np.shape(correlations)} but gram is {n}x{n}; "
                         f"expected Dᴴx of shape ({n},) or ({n}, B).")
    for name, arr in (("gram", G), ("correlations", C)):
        if arr.dtype.kind not in "biufc":
            raise ValueError(f"{name} must be numeric; got dtype {arr.dtype}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or Inf.")
    dt = np.result_type(G.dtype, C.dtype, np.float32)
    if dt.kind == "c":
        dt = np.dtype(np.complex64 if dt == np.complex64 else np.complex128)
    elif dt != np.float32:
        dt = np.dtype(np.float64)
    G, C = G.astype(dt, copy=False), C.astype(dt, copy=False)
    nrm = None
    if norms_squared is not None:
        nrm = np.broadcast_to(np.asarray(norms_squared, dtype=np.float64), (C.shape[1],)) \
            if np.ndim(norms_squared) == 0 else np.asarray(norms_squared, dtype=np.float64)
        if nrm.shape != (C.shape[1],):
            raise ValueError(f"norms_squared has shape {nrm.shape}; expected ({C.shape[1]},), one ‖x‖² per signal.")
        if not np.all(np.isfinite(nrm)) or np.any(nrm < 0):
            raise ValueError("norms_squared must be finite and non-negative (‖x‖² of each signal).")
    return G, C, nrm, single


def gram_factor(G: np.ndarray):
    r"""``(R (r, n), W (r, n))`` with ``RᴴR = G`` and ``W = Λ_r^{-1/2} V_rᴴ`` (so ``W Dᴴx = R⁻ᴴDᴴx``).

    Eigendecomposition in double precision; eigenvalues at or below ``n·eps·λ_max`` (``eps``
    of ``G``'s dtype: below it they are rounding noise of the Gram product) are cut.
    """
    hi = np.complex128 if G.dtype.kind == "c" else np.float64
    H = G.astype(hi)
    H = 0.5 * (H + H.conj().T)  # a Gram matrix computed in floating point is symmetric only to rounding
    w, V = np.linalg.eigh(H)
    wmax = float(w[-1]) if w.size else 0.0
    keep = w > max(wmax, 0.0) * G.shape[0] * float(np.finfo(G.dtype).eps)
    root = np.sqrt(w[keep])
    Vh = V[:, keep].conj().T
    return root[:, None] * Vh, Vh / root[:, None]


def recover_gram_default(recoverer, gram, correlations, norms_squared=None, factor=None) -> GramCoding:
    """The default :meth:`~cstoolkit.base.Recoverer.recover_gram`: ``recover`` on the equivalent
    ``(r + 1) × n`` problem of the module docstring.

    ``factor``: any ``R`` (r, n) with ``RᴴR = G`` — the dictionary itself when the caller has
    it — replaces the eigendecomposition: ``y'`` is then the least-squares solution of
    ``Rᴴ y' = Dᴴx`` (``O(n r²)``; for ``R = D`` it is the projection of ``x`` onto the range of D).
    """
    G, C, nrm, single = check_gram_inputs(gram, correlations, norms_squared)
    dt = G.dtype
    if factor is None:
        R, W = gram_factor(G)
        Yp = W @ C.astype(W.dtype)
    else:
        R = np.asarray(factor)
        if R.ndim != 2 or R.shape[1] != G.shape[0]:
            raise ValueError(f"factor has shape {R.shape}; expected (r, {G.shape[0]}) with RᴴR = gram.")
        hi = np.complex128 if np.result_type(R, C).kind == "c" else np.float64
        R = R.astype(hi)
        Yp = np.linalg.lstsq(R.conj().T, C.astype(hi), rcond=None)[0]
    A, Y = R, Yp
    if nrm is not None:
        p2 = np.einsum("ij,ij->j", Yp.real, Yp.real) + (np.einsum("ij,ij->j", Yp.imag, Yp.imag) if Yp.dtype.kind == "c" else 0)
        # ‖x‖² − ‖Px‖² at the rounding level of the two sums is x in range(D): 0, not √rounding
        # (which would make an exact-fit constraint such as basis pursuit infeasible)
        out2 = nrm - p2
        out2[out2 <= 100 * G.shape[0] * float(np.finfo(dt).eps) * nrm] = 0.0
        if np.any(out2 > 0):  # the extra row only when some x has a part outside range(D): else
            A = np.vstack([R, np.zeros((1, R.shape[1]), dtype=R.dtype)])  # the problem keeps its shape
            Y = np.vstack([Yp, np.sqrt(out2)[None, :].astype(Yp.dtype)])
    A, Y = A.astype(dt), Y.astype(dt)
    res = recoverer.recover(A, Y[:, 0] if single else Y)
    S = res.coef[:, None] if single else res.coef
    # the objective of the returned coefficients on the small equivalent problem (the same values
    # as on the original one; no cancellation as in ‖x‖² − 2 Re sᴴc + sᴴGs), by the one
    # function that computes objectives for every solver
    lam = None if res.lam is None else np.atleast_1d(res.lam)
    _, rn, obj, _ = certificate(recoverer.objective_kind, as_operator(A), S, Y, lam=lam,
                                epsilon=float(getattr(recoverer, "epsilon", 0.0) or 0.0),
                                structure=(int(getattr(recoverer, "group_size", 1)),
                                           bool(getattr(recoverer, "positive", False))))
    if single:
        return GramCoding(coef=res.coef, objective=float(obj[0]), residual_norm=float(rn[0]))
    return GramCoding(coef=res.coef, objective=obj, residual_norm=rn)


def gram_lasso_solution(G, C, yy, X, lam, single: bool) -> GramCoding:
    r"""A :class:`GramCoding` from coefficients found on the Gram form of ½‖Ds − x‖² + λ‖s‖₁.

    For the overrides that solve on ``(G, C, ‖x‖²)`` directly (coordinate descent, homotopy):
    ``‖x − Ds‖² = ‖x‖² − 2 sᵀc + sᵀG s`` in double precision (accurate to about
    ``√eps·‖x‖`` in the residual norm: a cancellation, unlike the default's exact residual).

    Parameters
    ----------
    G : ndarray (n, n); C : ndarray (n, B); yy : ndarray (B,); X : ndarray (n, B); lam : ndarray (B,)
    single : bool
        Return one signal's values (``coef`` of shape (n,), floats).
    """
    X64 = np.asarray(X, dtype=np.float64)
    G64, C64 = np.asarray(G, dtype=np.float64), np.asarray(C, dtype=np.float64)
    r2 = yy - 2.0 * np.sum(X64 * C64, axis=0) + np.sum(X64 * (G64 @ X64), axis=0)
    rn = np.sqrt(np.maximum(r2, 0.0))
    obj = 0.5 * rn * rn + np.asarray(lam, dtype=np.float64) * np.sum(np.abs(X64), axis=0)
    if single:
        return GramCoding(coef=X[:, 0], objective=float(obj[0]), residual_norm=float(rn[0]))
    return GramCoding(coef=X, objective=obj, residual_norm=rn)
