r"""Block orthogonal matching pursuit and NNOMP (``positive=True``), lock-step over a batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validation import Interval
from ...base import IterativeRecoverer
from ...linalg import dense_matrix
from ...registry import register
from ...studies import SPARSITY, StudySettings
from ._blocks import check_blocks

__all__ = ["BlockOMP"]


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
        check_blocks(n, g, type(self).__name__)
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

