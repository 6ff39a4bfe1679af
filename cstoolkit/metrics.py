"""Recovery metrics (columns are signals)."""

from __future__ import annotations

import numpy as np

__all__ = ["relative_error", "support_recovered", "support_f1", "success", "MALEKI_DONOHO_TOL"]

#: Maleki & Donoho's success criterion: ‖x − x̂‖² < 1e-4·‖x‖²
MALEKI_DONOHO_TOL = 1e-4


def _pair(x_true, x_hat):
    a, b = np.asarray(x_true), np.asarray(x_hat)
    if a.shape != b.shape:
        raise ValueError(f"x_true has shape {a.shape} but x_hat has shape {b.shape}.")
    return a, b


def relative_error(x_true, x_hat, axis=0):
    """‖x̂ − x‖₂ / ‖x‖₂ per signal (column); inf where x = 0 and x̂ ≠ 0, 0 where both are 0."""
    a, b = _pair(x_true, x_hat)
    num = np.linalg.norm(b - a, axis=axis)
    den = np.linalg.norm(a, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1), np.where(num > 0, np.inf, 0.0))
    return out[()] if np.ndim(out) == 0 else out


def success(x_true, x_hat, tol: float = MALEKI_DONOHO_TOL, axis=0):
    """Maleki–Donoho success: ‖x − x̂‖² < tol·‖x‖² (default tol = 1e-4), per signal."""
    return relative_error(x_true, x_hat, axis=axis) ** 2 < tol


def support_recovered(x_true, x_hat, *, tol: float = 0.0, axis=0):
    """True where the support of the ``k`` largest |x̂| entries equals supp(x), k = |supp(x)|.

    Entries of x with |x| > tol form the support. Comparing the top-k of x̂ (rather than
    x̂ ≠ 0) makes the test meaningful for ℓ1 solvers that leave tiny non-zeros.
    """
    a, b = _pair(x_true, x_hat)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    elif axis == 1:
        a, b = a.T, b.T
    supp = np.abs(a) > tol
    k = supp.sum(axis=0)
    order = np.argsort(-np.abs(b), axis=0, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(b.shape[0])[:, None].repeat(b.shape[1], 1), axis=0)
    top = rank < k[None, :]
    out = np.all(top == supp, axis=0)
    return bool(out[0]) if np.asarray(x_true).ndim == 1 else out


def support_f1(x_true, x_hat, *, tol: float = 0.0, axis=0):
    """F1 score between supp(x) and supp(x̂) (entries with |·| > tol), per signal."""
    a, b = _pair(x_true, x_hat)
    st, sh = np.abs(a) > tol, np.abs(b) > tol
    tp = np.sum(st & sh, axis=axis)
    denom = np.sum(st, axis=axis) + np.sum(sh, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 1.0)
