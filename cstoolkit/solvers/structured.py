r"""Structured and nonnegative sparsity: group Lasso (batched ADMM) and block-OMP / NNOMP.

Nonnegative basis pursuit and the nonnegative Lasso are the ``positive=True`` options of
:class:`~cstoolkit.BasisPursuitLP`, :class:`~cstoolkit.ADMMBasisPursuit` and
:class:`~cstoolkit.ADMMLasso`; :class:`BlockOMP` with ``positive=True`` is NNOMP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import Interval
from ..base import DirectRecoverer, DirectSolution, IterativeRecoverer
from ..conventions import lam_max_of_correlations
from ..linalg import dense_matrix
from ..prox import group_norms, group_soft_threshold
from ..registry import register
from ..studies import SPARSITY, StudySettings
from .admm import ADMMLasso

__all__ = ["GroupLasso", "BlockOMP"]


def _check_blocks(n, g, owner):
    if n % g:
        raise ValueError(f"{owner}: the {n} coefficients do not split into blocks of {g}; "
                         f"choose a block size that divides {n}.")


@register("group-lasso")
class GroupLasso(ADMMLasso):
    r"""Group Lasso by batched ADMM (block soft thresholding), contiguous groups of equal size.

    .. math:: F(x) = \tfrac12\|A x - y\|_2^2 + \lambda \sum_g \|x_g\|_2

    The ADMM of :class:`~cstoolkit.ADMMLasso` (cached eigendecomposition of AAᴴ, per-signal ρ)
    with the z-step ``z_g = max(1 − (λ/ρ)/‖v_g‖, 0)·v_g``. ``group_size=1`` is the Lasso (and
    then uses the Lasso's certified polish).

    Parameters
    ----------
    lam : float, default=0.1
    lam_scale : {"absolute", "relative"}, default="absolute"
        "relative": a fraction of λ_max = max_g ‖A_gᴴy‖₂.
    group_size : int, default=1
        Size of the contiguous groups (must divide n).
    rho, max_iter, tol, abs_tol, balance, polish, check_every
        As in :class:`~cstoolkit.ADMMLasso`.
    positive : bool, default=False
        Nonnegative group Lasso (x ≥ 0).

    References
    ----------
    Yuan & Lin, "Model selection and estimation in regression with grouped variables", JRSS-B
    68 (2006). Boyd et al., Found. Trends Mach. Learn. 3 (2011), §6.4.2.
    """

    study_settings = StudySettings(
        family="structured", phase=dict(lam=1e-6, lam_scale="relative", tol=1e-10),
        embedding=dict(max_iter=1000, group_size=4), studies={"embedding"},
        note="groups of one in the phase diagram: the Lasso by ADMM (12–16 s per cell)")

    _parameter_constraints = {**ADMMLasso._parameter_constraints, "group_size": [Interval("integral", 1, None)]}

    def __init__(self, *, lam=0.1, lam_scale="absolute", group_size=1, rho=None, max_iter=5000, tol=1e-8,
                 abs_tol=0.0, balance=True, polish=True, check_every=5, positive=False):
        self.lam = lam
        self.lam_scale = lam_scale
        self.group_size = group_size
        self.rho = rho
        self.max_iter = max_iter
        self.tol = tol
        self.abs_tol = abs_tol
        self.balance = balance
        self.polish = polish
        self.check_every = check_every
        self.positive = positive
        self._validate_params()

    def _init_problem(self, st):
        g = self.group_size
        _check_blocks(st.n, g, type(self).__name__)
        rdt = np.finfo(st.dt).dtype
        if self.lam_scale == "relative":
            st.lam = (self.lam * lam_max_of_correlations(st.adj(st.Y), group_size=g)).astype(rdt)
        else:
            st.lam = np.full(st.B, self.lam, dtype=rdt)

    def _zstep(self, st, V, t, sel):
        g = self.group_size
        if g == 1:
            return super()._zstep(st, V, t, sel)
        if self.positive:
            V = np.maximum(V, 0)  # prox of λΣ‖x_g‖ + ι(x ≥ 0): project, then shrink each group
        return group_soft_threshold(V, t, g)

    def _polish(self, st, cols):
        return None if self.group_size > 1 else super()._polish(st, cols)

    def _monitor(self, st):
        X = st.Xout
        g = self.group_size
        R = st.fwd(X) - st.Y
        rn2 = np.sum(np.abs(R) ** 2, axis=0)
        return 0.5 * rn2 + st.lam * np.sum(group_norms(X, g), axis=0), np.sqrt(rn2)


@dataclass
class BlockOMPState:
    """State of block-OMP: dense ``D`` (m, n), ``Y`` (m, B), budget ``k`` (blocks), selected
    blocks ``sel`` (B, t), ``X`` (n, B), residual ``R`` (m, B), ``n``."""

    D: np.ndarray
    Y: np.ndarray
    k: int
    sel: np.ndarray
    X: np.ndarray
    R: np.ndarray
    n: int


@register("block-omp")
class BlockOMP(IterativeRecoverer):
    r"""Block orthogonal matching pursuit (and NNOMP), lock-step over a batch of signals.

    Each step picks the block ``g`` of contiguous atoms maximising ‖A_gᴴ r‖₂ (with
    ``positive=True`` and blocks of one: the largest *positive* correlation), then re-fits all
    selected atoms by least squares (nonnegative least squares when ``positive``). The
    normal equations of all signals are solved together (padded, one batched solve).
    ``history["objective"]`` is ½‖Ax − y‖² (sparsity is the constraint).

    Parameters
    ----------
    n_nonzero_blocks : int or None, default=None
        Blocks selected per signal (``n_nonzero_blocks·block_size ≤ m``); default
        ``max(1, (m // 2) // block_size)``.
    block_size : int, default=1
        Atoms per block (must divide n); 1 is OMP.
    positive : bool, default=False
        NNOMP: positive correlations and nonnegative least squares (``scipy.optimize.nnls``
        per signal — the one non-batched step).

    References
    ----------
    Eldar, Kuppinger & Bölcskei, "Block-sparse signals: uncertainty relations and efficient
    recovery", IEEE Trans. Signal Process. 58 (2010). Bruckstein, Elad & Zibulevsky, "On the
    uniqueness of nonnegative sparse solutions to underdetermined systems of equations", IEEE
    Trans. Inf. Theory 54 (2008) (NNOMP).
    """

    study_settings = StudySettings(
        family="structured", phase=dict(n_nonzero_blocks=SPARSITY), embedding={}, studies={"embedding"}, slow=True,
        note="OMP with blocks of one in the phase diagram; 20 s on the quick embedding configuration")

    supports_x0 = False  # a greedy pursuit from the empty support
    _sparsity_budget = True
    _parameter_constraints = {
        "n_nonzero_blocks": [Interval("integral", 1, None), None],
        "block_size": [Interval("integral", 1, None)],
        "positive": [bool],
    }

    def __init__(self, *, n_nonzero_blocks=None, block_size=1, positive=False):
        self.n_nonzero_blocks = n_nonzero_blocks
        self.block_size = block_size
        self.positive = positive
        self._validate_params()

    def _setup(self, A, Y, X0):
        m, n = A.shape
        g = self.block_size
        _check_blocks(n, g, type(self).__name__)
        k = self.n_nonzero_blocks if self.n_nonzero_blocks is not None else max(1, (m // 2) // g)
        if k * g > m:
            raise ValueError(f"{type(self).__name__}: n_nonzero_blocks·block_size = {k * g} exceeds m = {m}; "
                             f"at most {m // g} blocks fit.")
        D = dense_matrix(A).astype(Y.dtype, copy=False)
        B = Y.shape[1]
        return BlockOMPState(D=D, Y=Y, k=k, sel=np.zeros((B, 0), dtype=int), X=np.zeros((n, B), dtype=Y.dtype),
                             R=Y.copy(), n=n)

    def _max_iterations(self, st):
        return st.k

    def _step(self, st, it):
        D, Y, g, n = st.D, st.Y, self.block_size, st.n
        B = Y.shape[1]
        C = D.conj().T @ st.R  # (n, B)
        if self.positive and g == 1:
            score = C.real.copy()
        else:
            Cp = np.maximum(C.real, 0) if self.positive else C
            score = np.sqrt(np.sum(np.abs(Cp.reshape(n // g, g, B)) ** 2, axis=1))
        blocks = st.sel[:, ::g] // g if st.sel.size else np.zeros((B, 0), dtype=int)
        np.put_along_axis(score, blocks.T, -np.inf, axis=0)
        pick = np.argmax(score, axis=0)  # (B,)
        atoms = pick[:, None] * g + np.arange(g)[None, :]
        sel = np.concatenate([st.sel, atoms], axis=1)  # (B, t·g)
        st.sel = sel
        As = np.moveaxis(D[:, sel], 0, 1)  # (B, m, t·g)
        X = np.zeros_like(st.X)
        if self.positive:
            from scipy.optimize import nnls

            coef = np.stack([nnls(As[b], Y[:, b])[0] for b in range(B)])  # NNLS has no batched form
        else:
            # batched minimum-norm least squares: robust when the selected blocks are rank
            # deficient (more atoms than rows, zero or repeated atoms), where the normal
            # equations are singular
            coef = (np.linalg.pinv(As) @ Y.T[:, :, None])[..., 0]
        np.put_along_axis(X, sel.T, coef.T.astype(X.dtype, copy=False), axis=0)
        st.X = X
        st.R = Y - D @ X
        return "sparsity" if it >= st.k else None

    def _monitor(self, st):
        r2 = np.sum(np.abs(st.R) ** 2, axis=0)
        return 0.5 * r2, np.sqrt(r2)

    def _coef(self, st):
        return st.X

    @classmethod
    def _conformance_params(cls, k):
        return dict(n_nonzero_blocks=k)

