r"""Group Lasso by batched ADMM (block soft thresholding); the nonnegative group Lasso with
``positive=True``."""

from __future__ import annotations

import numpy as np

from ..._validation import Interval
from ...conventions import lam_max_of_correlations
from ...prox import group_norms, group_soft_threshold
from ...registry import register
from ...studies import StudySettings
from ..l1.admm import ADMMLasso
from ._blocks import check_blocks

__all__ = ["GroupLasso"]


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
        check_blocks(st.n, g, type(self).__name__)
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
