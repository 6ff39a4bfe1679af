r"""K-SVD and its approximate (power-iteration) variant, and MOD — batch dictionary learners.

All three minimise, over unit-norm atoms ``W`` (rows of ``components_``) and codes ``C``,

.. math::

    \min_{W, C}\ \tfrac12\|X - C W\|_F^2 \quad\text{s.t. the coder's sparsity (e.g.
    } \|c_i\|_0 \le k \text{ for OMP) and } \|w_j\|_2 = 1,

alternating a sparse-coding step (any :class:`~cstoolkit.base.Recoverer`, OMP by default)
with a dictionary update: K-SVD updates one atom at a time together with the coefficients
that use it (a rank-1 fit of the residual restricted to those samples); MOD solves the
least-squares problem for the whole dictionary at once. Rows are samples; see
:mod:`cstoolkit.learners.base` for how this maps onto the recoverers' column convention.
"""

from __future__ import annotations

import logging

import numpy as np

from .._validation import Interval
from ..registry import register_learner
from .base import _common_constraints
from .batch import BatchDictionaryLearner

__all__ = ["KSVD", "ApproximateKSVD", "MOD"]

logger = logging.getLogger(__name__)

_DOC_PARAMS = """
    n_atoms : int or None, default=None
        Number of atoms ``K`` (rows of ``components_``); ``K > n_features`` gives an
        overcomplete dictionary. None: the rows of an ``init`` array, else ``n_features``
        (a complete dictionary, as scikit-learn's ``n_components=None``).
    coder : Recoverer or None, default=None
        The sparse-coding solver *object*, called as ``coder.recover(components_.T, X.T)``
        (any registered recoverer: OMP, Lasso, FISTA, ...). None means
        ``cstoolkit.OMP()`` (10% of the atoms per sample). An :class:`~cstoolkit.OMP`
        instance takes a fast path (Batch-OMP with the Gram matrix of the atoms computed once
        per iteration); other recoverers go through ``recover`` unchanged.
    max_iter : int, default=20
        Iterations (coding step + dictionary update).
    tol : float, default=0.0
        Stop early once the relative Frobenius error decreases by less than ``tol`` times
        its previous value in one iteration; 0 runs ``max_iter`` iterations.
    init : {"data", "random"} or ndarray of shape (n_atoms, n_features), default="data"
        ``"data"``: distinct non-zero training samples chosen at random (normalised);
        ``"random"``: Gaussian atoms; an array: that dictionary (rows normalised).
    dup_threshold : float in (0, 1] or None, default=0.99
        After every dictionary update an atom whose absolute inner product with an earlier
        atom exceeds this is a duplicate and is replaced; None disables the check.
    min_usage : int, default=1
        Atoms used by fewer than ``min_usage`` samples in the coding step are replaced (1:
        only unused atoms; Aharon et al.'s code uses 4). Every replaced atom (duplicate or
        rarely used) becomes the worst-represented training sample (largest residual norm
        after the dictionary update), normalised, each sample used at most once (a random
        unit vector when none is left); its stale coefficients are dropped.
    random_state : int, numpy Generator or None, default=None
        Seed for the initialisation, the order of the atom updates and replacements.
    sparse_output : bool or "auto", default="auto"
        Whether ``transform`` returns a ``scipy.sparse.csr_array``; ``"auto"``: CSR when the dense
        codes would exceed 128 MiB (see :meth:`~cstoolkit.learners.base.DictionaryLearner.transform`).
    callback : Callback, callable, sequence of them or None, default=None
        The solvers' callbacks (:mod:`cstoolkit.callbacks`), after every iteration, with an
        :class:`~cstoolkit.callbacks.IterationInfo` (``info.recoverer`` is the learner, whose
        ``components_`` is the current dictionary); a function of two positional parameters
        is called as ``callback(learner, iteration)``. Returning True stops. Their run time is
        not counted in ``history_["time"]``.
"""

_DOC_ATTRS = """
    Hyperparameters are validated when ``fit`` is called (``__init__`` only stores them, as
    scikit-learn requires). Fitting ``c·X`` gives the same atoms as ``X`` and ``c`` times the
    codes (exactly for a power of two ``c``) with an OMP coder of fixed sparsity, over the whole
    floating-point range: the learner works on ``X`` divided by a power of two near ``max|X|``.

    Attributes
    ----------
    components_ : ndarray, shape (n_atoms, n_features)
        Unit-norm atoms as rows (``as_basis()`` gives them as columns).
    n_iter_ : int
        Iterations run.
    history_ : dict of ndarray, each of shape (n_iter_,)
        ``"objective"`` (the coder's objective averaged over samples, after the coding step),
        after the dictionary update ``"residual_norm"`` (root mean square of ‖x_i − Wᵀc_i‖)
        and ``"relative_residual"`` (‖X − C W‖_F / ‖X‖_F), ``"mean_nnz"`` (non-zeros per
        sample) and ``"time"`` (cumulative seconds).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
"""


def _top_singular_pair(E):
    """Leading right singular vector ``w`` of ``E`` (b, m) and ``g = E w`` (= σ u), exactly.

    Through the eigen-decomposition of the smaller Gram matrix (``EᵀE`` or ``EEᵀ``), which is
    cheaper than an SVD for the thin blocks K-SVD meets.
    """
    b, m = E.shape
    dtype = E.dtype
    E = E.astype(np.float64, copy=False)  # the Gram squares the condition number: work in double
    if b >= m:
        _, V = np.linalg.eigh(E.T @ E)
        w = V[:, -1]
    else:
        _, U = np.linalg.eigh(E @ E.T)
        w = E.T @ U[:, -1]
        w /= np.linalg.norm(w)
    return w.astype(dtype), (E @ w).astype(dtype)


@register_learner("ksvd")
class KSVD(BatchDictionaryLearner):
    __doc__ = r"""K-SVD dictionary learning (Aharon, Elad & Bruckstein 2006).

    After coding every sample, the atoms are updated one at a time (in a random order). For
    atom ``j`` used by the samples ``I`` with coefficients ``g``, the residual without the atom
    is :math:`E_I = X_I - C_I W + g\,w_j^\top` and the pair :math:`(w_j, g)` becomes its best
    rank-1 approximation,

    .. math::

        (w_j, g) = \arg\min_{\|w\|=1,\ g} \|E_I - g\,w^\top\|_F^2 ,

    the leading singular pair of :math:`E_I` (``approximate=False``) or one step of the power
    iteration from the current ``g`` (``approximate=True``, the "approximate K-SVD" of
    Rubinstein et al. 2008): :math:`w = E_I^\top g/\|E_I^\top g\|,\ g = E_I w`. The support of
    the codes is kept, only its values change, so the objective never increases in the
    update step.

    Parameters
    ----------""" + _DOC_PARAMS + """    approximate : bool, default=False
        Use the single power-iteration update instead of the exact SVD.
""" + _DOC_ATTRS + """
    References
    ----------
    M. Aharon, M. Elad and A. Bruckstein, "K-SVD: An algorithm for designing overcomplete
    dictionaries for sparse representation", IEEE Trans. Signal Process. 54(11), 2006.
    R. Rubinstein, M. Zibulevsky and M. Elad, "Efficient implementation of the K-SVD algorithm
    using batch orthogonal matching pursuit", Technion CS-2008-08, 2008.

    Examples
    --------
    >>> import cstoolkit as cs
    >>> learner = cs.make_learner("ksvd", n_atoms=50, coder=cs.OMP(n_nonzero_coefs=3),
    ...                           max_iter=10, random_state=0)      # doctest: +SKIP
    >>> codes = learner.fit(X).transform(X)                          # doctest: +SKIP
    """

    _parameter_constraints = {
        **_common_constraints(),
        "max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
        "approximate": [bool],
    }
    update_decreases_objective = True  # exact and one-power-step rank-1 updates are both monotone

    def __init__(self, *, n_atoms=None, coder=None, max_iter=20, tol=0.0, init="data", dup_threshold=0.99,
                 min_usage=1, random_state=None, sparse_output="auto", callback=None, approximate=False):
        self.n_atoms = n_atoms
        self.coder = coder
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.dup_threshold = dup_threshold
        self.min_usage = min_usage
        self.random_state = random_state
        self.sparse_output = sparse_output
        self.callback = callback
        self.approximate = approximate

    def _update_dictionary(self, X, W, codes, rng):
        N, s = codes.idx.shape
        positions = codes.atom_positions()
        val_flat = codes.val.reshape(-1)
        unused = []
        for j in rng.permutation(W.shape[0]):
            pos = positions[j]
            if pos.size == 0:
                unused.append(j)
                continue
            rows = pos // s
            g = val_flat[pos]
            # residual of these samples without atom j (current atoms and code values)
            E = X[rows] - codes.reconstruct(W, rows)
            E += np.outer(g, W[j])
            if self.approximate:
                w = E.T @ g
                nw = np.linalg.norm(w)
                if not nw > 0:
                    unused.append(j)
                    continue
                w /= nw
                g_new = E @ w
            else:
                w, g_new = _top_singular_pair(E)
            W[j] = w
            val_flat[pos] = g_new
        return unused


@register_learner("aksvd")
class ApproximateKSVD(KSVD):
    __doc__ = r"""Approximate K-SVD: :class:`KSVD` with ``approximate=True`` by default.

    The atom update is one power-iteration step (Rubinstein, Zibulevsky & Elad 2008)
    instead of an SVD, which makes an iteration cost about as much as MOD's; see
    :class:`KSVD` for the objective. The step never increases it either: with
    :math:`a = g^\top E_I w_j \le \|E_I^\top g\|`, the new error
    :math:`\|E_I\|^2 - \|E_I w\|^2 \le \|E_I\|^2 - \|E_I^\top g\|^2/\|g\|^2` is at most the old
    :math:`\|E_I\|^2 - 2a + \|g\|^2` because :math:`a^2/\|g\|^2 \ge 2a - \|g\|^2`.

    .. math::

        w_j \leftarrow \frac{E_I^\top g}{\|E_I^\top g\|}, \qquad g \leftarrow E_I\,w_j .

    Parameters
    ----------""" + _DOC_PARAMS + """    approximate : bool, default=True
""" + _DOC_ATTRS + """
    References
    ----------
    R. Rubinstein, M. Zibulevsky and M. Elad, "Efficient implementation of the K-SVD algorithm
    using batch orthogonal matching pursuit", Technion CS-2008-08, 2008.
    """

    def __init__(self, *, n_atoms=None, coder=None, max_iter=20, tol=0.0, init="data", dup_threshold=0.99,
                 min_usage=1, random_state=None, sparse_output="auto", callback=None, approximate=True):
        super().__init__(n_atoms=n_atoms, coder=coder, max_iter=max_iter, tol=tol, init=init,
                         dup_threshold=dup_threshold, min_usage=min_usage, random_state=random_state,
                         sparse_output=sparse_output, callback=callback, approximate=approximate)


@register_learner("mod")
class MOD(BatchDictionaryLearner):
    __doc__ = r"""Method of optimal directions (Engan, Aase & Husøy 1999).

    After coding every sample (codes ``C``, shape (n_samples, n_atoms)), the whole dictionary
    is the least-squares solution

    .. math::

        W = \arg\min_W \tfrac12\|X - C W\|_F^2 = (C^\top C)^{-1} C^\top X ,

    (solved by Cholesky with a ridge of ``1e-10·mean(diag CᵀC)`` for numerical safety), then
    every atom is normalised (its coefficients rescaled so the product ``C W`` is unchanged).

    Parameters
    ----------""" + _DOC_PARAMS + _DOC_ATTRS + """
    References
    ----------
    K. Engan, S. O. Aase and J. H. Husøy, "Method of optimal directions for frame design",
    Proc. ICASSP 1999, vol. 5, pp. 2443-2446.
    """

    _parameter_constraints = {
        **_common_constraints(),
        "max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
    }
    update_decreases_objective = True  # least squares given the codes

    def __init__(self, *, n_atoms=None, coder=None, max_iter=20, tol=0.0, init="data", dup_threshold=0.99,
                 min_usage=1, random_state=None, sparse_output="auto", callback=None):
        self.n_atoms = n_atoms
        self.coder = coder
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.dup_threshold = dup_threshold
        self.min_usage = min_usage
        self.random_state = random_state
        self.sparse_output = sparse_output
        self.callback = callback

    def _update_dictionary(self, X, W, codes, rng):
        import scipy.linalg as sla

        CtC, CtX = codes.gram_stats(X)
        CtC64 = CtC.astype(np.float64)
        diag = np.diag(CtC64)
        used = diag > 0
        ridge = 1e-10 * (diag[used].mean() if used.any() else 1.0)
        Wn = np.zeros_like(W, dtype=np.float64)
        if used.any():
            sub = np.ix_(used, used)
            Wn[used] = sla.solve(CtC64[sub] + ridge * np.eye(int(used.sum())), CtX[used].astype(np.float64),
                                 assume_a="pos")
        norms = np.linalg.norm(Wn, axis=1)
        ok = norms > 0
        W[ok] = (Wn[ok] / norms[ok, None]).astype(W.dtype)
        # keep C W unchanged: coefficients of atom j scale by its norm
        scale = np.where(ok, norms, 0.0)
        codes.val *= scale[codes.idx].astype(codes.val.dtype)
        return np.flatnonzero(~ok)
