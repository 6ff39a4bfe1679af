"""Low rank: the best rank-``r`` approximation (Eckart–Young) by :func:`svd_truncate`, held as
:class:`LowRankFactors`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .._validation import check_int as _check_int
from .._validation import check_matrix_2d as _check_2d

__all__ = ["LowRankFactors", "svd_truncate"]

logger = logging.getLogger(__name__)


_SVD_METHODS = ("auto", "full", "randomized")


@dataclass(frozen=True, eq=False)
class LowRankFactors:
    r"""A rank-:math:`r` factorisation of an :math:`m \times n` matrix,

    .. math::

        X_r = U \operatorname{diag}(s)\, V^\top = (U_r S_r)\, V_r^\top .

    Parameters
    ----------
    U : ndarray of shape (m, r)
        Left singular vectors (orthonormal columns).
    s : ndarray of shape (r,)
        Singular values, non-increasing.
    Vt : ndarray of shape (r, n)
        Right singular vectors (orthonormal rows).

    Notes
    -----
    Iterating is deliberately not supported; use :meth:`as_pair` for the two-factor form
    :math:`(U_r S_r,\ V_r^\top)` in which the factorisation is normally stored (this is also
    the form :func:`storage_bytes` counts).
    """

    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray

    @property
    def rank(self) -> int:
        """Number of retained singular triplets :math:`r`."""
        return int(self.s.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(m, n)`` of the approximated matrix."""
        return (int(self.U.shape[0]), int(self.Vt.shape[1]))

    @property
    def left(self) -> np.ndarray:
        r"""Left factor :math:`U_r S_r`, shape (m, r)."""
        return self.U * self.s

    @property
    def right(self) -> np.ndarray:
        r"""Right factor :math:`V_r^\top`, shape (r, n)."""
        return self.Vt

    def as_pair(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Return ``(U_r S_r, V_r^T)`` of shapes (m, r) and (r, n)."""
        return self.left, self.right

    def reconstruct(self) -> np.ndarray:
        r"""Dense :math:`X_r = (U_r S_r) V_r^\top`, shape (m, n)."""
        return self.left @ self.Vt

    def truncate(self, rank: int) -> "LowRankFactors":
        r"""The leading ``rank`` triplets: one SVD truncated at several ranks (Eckart–Young
        holds for every prefix of an exact SVD), shape (m, n) kept.

        Raises
        ------
        ValueError
            If ``rank`` is not in ``1 … self.rank``.
        """
        if not 1 <= int(rank) <= self.rank:
            raise ValueError(f"rank must be in 1..{self.rank} (the factorisation's rank); got {rank}")
        r = int(rank)
        return LowRankFactors(self.U[:, :r], self.s[:r], self.Vt[:r])


def svd_truncate(
    X,
    rank,
    *,
    method="auto",
    random_state=0,
    n_oversamples=10,
    n_iter="auto",
):
    r"""Best rank-``rank`` approximation by truncated SVD (Eckart–Young–Mirsky).

    .. math::

        X_r = \sum_{i=1}^{r} \sigma_i u_i v_i^\top
            = \arg\min_{\operatorname{rank}(Y) \le r} \|X - Y\|_F,
        \qquad
        \|X - X_r\|_F = \Bigl(\sum_{i > r} \sigma_i^2\Bigr)^{1/2}.

    Parameters
    ----------
    X : array_like of shape (m, n), or scipy.sparse matrix/array of shape (m, n)
    rank : int
        Target rank, ``1 <= rank <= min(m, n)``.
    method : {"auto", "full", "randomized"}, default="auto"
        ``"full"``: ``np.linalg.svd(full_matrices=False)`` (exact; sparse input is densified).
        ``"randomized"``: ``sklearn.utils.extmath.randomized_svd`` (Halko et al.), seeded with
        ``random_state``; accurate when the spectrum decays beyond ``rank``, and it works on
        sparse input without densifying. ``"auto"`` follows scikit-learn's PCA rule:
        ``"full"`` if ``max(m, n) <= 500`` or ``rank >= 0.8 * min(m, n)``, else
        ``"randomized"``.
    random_state : int, numpy Generator/RandomState or None, default=0
        Seed for ``"randomized"`` (fixed by default so results reproduce).
    n_oversamples : int, default=10
        Extra random vectors for ``"randomized"``.
    n_iter : int or "auto", default="auto"
        Power iterations for ``"randomized"`` (scikit-learn's ``"auto"``: 7 if
        ``rank < 0.1 * min(m, n)`` else 4).

    Returns
    -------
    LowRankFactors
        ``U`` (m, r), ``s`` (r,), ``Vt`` (r, n); ``.as_pair()`` gives ``(U_r S_r, V_r^T)`` and
        ``.reconstruct()`` the dense ``(m, n)`` approximation.

    Raises
    ------
    ValueError
        If X is not 2-D, ``rank`` is outside ``[1, min(m, n)]`` or ``method`` is unknown.

    References
    ----------
    .. [1] C. Eckart and G. Young, "The approximation of one matrix by another of lower rank",
       Psychometrika 1(3), 1936.
    .. [2] N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure with randomness",
       SIAM Review 53(2), 2011.
    """
    X, is_sparse = _check_2d(X)
    m, n = X.shape
    rank = _check_int(rank, "rank", 1, min(m, n), hint=f" (min(X.shape) = {min(m, n)})")
    if method not in _SVD_METHODS:
        raise ValueError(f"method must be one of {_SVD_METHODS}; got {method!r}")
    if method == "auto":
        method = "full" if (max(m, n) <= 500 or rank >= 0.8 * min(m, n)) else "randomized"
    logger.debug("svd_truncate: %s SVD of a %dx%d matrix to rank %d", method, m, n, rank)

    if method == "full":
        if is_sparse:
            logger.debug("svd_truncate: densifying a sparse %dx%d matrix for full SVD", m, n)
            X = X.toarray()
        dense = X if X.dtype.kind in "fc" else X.astype(np.float64)
        U, s, Vt = np.linalg.svd(dense, full_matrices=False)
        U, s, Vt = U[:, :rank], s[:rank], Vt[:rank]
    else:
        from sklearn.utils.extmath import randomized_svd  # heavy import kept lazy

        M = X if X.dtype.kind in "fc" else X.astype(np.float64)
        U, s, Vt = randomized_svd(
            M,
            n_components=rank,
            n_oversamples=n_oversamples,
            n_iter=n_iter,
            random_state=random_state,
        )
    return LowRankFactors(U=np.ascontiguousarray(U), s=s, Vt=np.ascontiguousarray(Vt))
