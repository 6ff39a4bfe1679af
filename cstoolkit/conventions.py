"""Explicit conversions between our objective scaling and scikit-learn's.

Ours (every solver, every docstring, every history):

    F(x) = ½‖A x − y‖₂² + λ‖x‖₁

scikit-learn ``Lasso(alpha)`` / ``sparse_encode(alpha=...)`` with ``m = n_samples`` rows:

    F_sk(w) = (1 / (2m))‖y − X w‖₂² + α‖w‖₁ = F(w) / m   with λ = m·α

so both have the same minimiser and ``F = m·F_sk``. ``MiniBatchDictionaryLearning`` uses
½‖X − UV‖²_F + α‖U‖₁,₁, i.e. λ = α with no division.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "lam_from_sklearn_alpha",
    "sklearn_alpha_from_lam",
    "objective_from_sklearn",
    "sklearn_objective_from_ours",
    "lam_max",
    "lam_max_of_correlations",
]


def _check(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite real number >= 0, got {value!r}.")


def _check_m(m):
    if not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"n_samples (the number of rows m of A) must be a positive int, got {m!r}.")


def lam_from_sklearn_alpha(alpha: float, n_samples: int) -> float:
    """λ (ours) equivalent to scikit-learn's Lasso ``alpha`` for ``A`` with ``n_samples`` rows: λ = m·α."""
    _check(alpha, "alpha")
    _check_m(n_samples)
    return float(alpha) * n_samples


def sklearn_alpha_from_lam(lam: float, n_samples: int) -> float:
    """scikit-learn's Lasso ``alpha`` equivalent to our λ: α = λ / m."""
    _check(lam, "lam")
    _check_m(n_samples)
    return float(lam) / n_samples


def objective_from_sklearn(value: float, n_samples: int) -> float:
    """Our objective value from scikit-learn's: F = m·F_sk."""
    _check_m(n_samples)
    return float(value) * n_samples


def sklearn_objective_from_ours(value: float, n_samples: int) -> float:
    """scikit-learn's objective value from ours: F_sk = F / m."""
    _check_m(n_samples)
    return float(value) / n_samples


def lam_max_of_correlations(C, *, group_size: int = 1) -> np.ndarray:
    r"""λ_max from the correlations ``C = Aᴴy`` (n, B): ``‖c‖∞`` per column, or
    ``max_g ‖c_g‖₂`` over contiguous groups of ``group_size`` rows (the group Lasso).

    The one formula behind :func:`lam_max` and every solver's ``lam_scale="relative"``.

    Parameters
    ----------
    C : ndarray, shape (n, B)
    group_size : int, default=1
        Must divide n.

    Returns
    -------
    ndarray, shape (B,)
    """
    if group_size == 1:
        return np.max(np.abs(C), axis=0)
    from .prox import group_norms

    return np.max(group_norms(C, group_size), axis=0)


def lam_max(A, y, *, group_size: int = 1) -> np.ndarray:
    r"""Smallest λ whose Lasso solution is 0: ‖Aᴴy‖∞ (per column of ``y``).

    For the group Lasso (``group_size > 1``, contiguous groups): ``max_g ‖A_gᴴy‖₂``.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator, shape (m, n)
    y : array_like, shape (m,) or (m, B)
    group_size : int, default=1

    Returns
    -------
    float or ndarray of shape (B,)
    """
    from .operators import as_operator
    from ._validation import check_signals

    op = as_operator(A)
    Y, single = check_signals(y, op.shape[0], allow_complex=True)
    v = lam_max_of_correlations(np.asarray(op.rmatmat(Y)), group_size=group_size)
    return float(v[0]) if single else v
