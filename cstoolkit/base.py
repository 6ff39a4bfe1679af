"""The one contract every solver honours: :class:`Recoverer` and :class:`RecoveryResult`.

Objective convention (used in every docstring, in code and in ``history``)::

    F(s) = ½‖A Ψ s − y‖₂² + λ·R(s)

with ``Ψ`` the sparsity basis (identity by default), ``R = ‖·‖₁`` for ℓ1 solvers and
``R = 0`` for greedy ones (whose sparsity is a constraint, not a penalty). Conversions to
scikit-learn's ``1/(2 n_samples)`` scaling live in :mod:`cstoolkit.conventions`.

Shapes: ``A`` is ``(m, n)``; ``y`` is ``(m,)`` or ``(m, B)`` (B signals, one per column);
the estimate ``x`` comes back ``(n,)`` or ``(n, B)``. Dictionary learners use scikit-learn's
row convention instead (samples are rows); see :mod:`cstoolkit.learners`.

Why one file (over 400 lines): it is the contract and its run loop — the result type, the
abstract :class:`Recoverer` with its input checks, and the loop its two kinds (iterative,
direct) share; split apart, each part would need the others' private helpers.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import ClassVar, Mapping

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ._params import ParamsMixin
from ._threads import blas_single_thread, gram_is_small
from ._validation import check_signals
from .callbacks import IterationInfo, as_callbacks
from .linalg import working_dtype
from .operators import as_operator, compose
from .studies import DEFAULT as _DEFAULT_STUDY_SETTINGS, StudySettings

from ._certificates import CERTIFICATES, certificate, pow2, safe_col_norms

__all__ = ["Recoverer", "IterativeRecoverer", "DirectRecoverer", "DirectSolution", "RecoveryResult",
           "HISTORY_KEYS", "STATUSES"]

logger = logging.getLogger(__name__)

HISTORY_KEYS = ("objective", "residual_norm")

#: per-signal statuses, best first; the batch-level ``stop_reason`` is the worst one present
STATUSES = ("solved", "sparsity", "stalled", "max_iter", "infeasible", "failed", "callback", "diverged")
#: raw stop reasons a solver may report that are *not* claims of success
_NOT_CLAIMS = frozenset({"max_iter", "infeasible", "failed", "callback", "diverged"})


@dataclass(frozen=True, repr=False)
class RecoveryResult:
    """What every recoverer returns. This docstring is the contract: every field means the same
    for every solver.

    Attributes
    ----------
    x : ndarray, shape (n,) or (n, B)
        Signal estimate ``Ψ s`` (equal to ``coef`` when no basis is given).
    coef : ndarray, shape (n_coef,) or (n_coef, B)
        Sparse coefficients ``s``.
    n_iter : int or ndarray of int, shape (B,)
        Iterations run *per signal* (an int for a 1-D ``y``): steps of an iterative solver,
        atoms of a greedy pursuit, breakpoints of a homotopy path, epochs of coordinate descent,
        simplex/interior-point iterations of an LP when the backend reports them (else 1).
        Signals of a batch stop independently; a signal with ``y = 0`` (or ``A = 0``) has 0.
    status : str or ndarray of str, shape (B,)
        Per signal, one of :data:`STATUSES`:

        ``"solved"``
            the certificate recomputed from the returned x is within ``tol`` (the only status
            that counts as success);
        ``"sparsity"``
            a k-sparse solver (OMP's k atoms, an IHT/HTP/CoSaMP fixed point) stopped by its own
            rule but does not fit y to ``tol`` (noisy y, k too small, or a failed recovery) — a
            k-sparse fit, not a claim of success;
        ``"stalled"``
            the solver's own stopping test fired (small step, residual no longer decreasing,
            repeated support, collinear atom) but the certificate is not met;
        ``"max_iter"``
            the iteration budget ran out (never "solved", even if the certificate holds);
        ``"infeasible"``
            no x fits the constraint (e.g. ``A = 0`` with ``y ≠ 0`` for an exact solver);
        ``"failed"``
            an external backend (LP, cvxpy) reported an error status;
        ``"callback"``
            a callback stopped the run;
        ``"diverged"``
            the residual norm exceeded ``1e4·max‖y‖`` or became non-finite; those columns of
            ``x`` and ``coef`` are NaN and a warning was logged.
    certificate : float or ndarray, shape (B,)
        The certificate value per signal (0 is perfect), computed by the base class from the
        returned x — :data:`cstoolkit._certificates.CERTIFICATES` names it per
        ``objective_kind``: relative residual (greedy, basis pursuit), relative excess over ε
        (BPDN), relative duality gap (Lasso). Scale-invariant.
    tol : float or ndarray, shape (B,)
        The tolerance the certificate was compared with: the solver's own tolerance where it
        has one of the same meaning, never below √eps of the working dtype.
    lam : None or float or ndarray, shape (B,)
        λ per signal of ℓ1-penalised solvers (after ``lam_scale="relative"`` or AMP's
        threshold calibration), in the units of the input; None for the others.
    history : mapping of str to ndarray
        ``"objective"`` — ½‖AΨs − y‖² + λR(s) (λR = 0 for greedy and basis-pursuit solvers),
        ``"residual_norm"`` — ‖AΨs − y‖, and for basis pursuit/BPDN also ``"l1_norm"`` — ‖s‖₁;
        each of shape (T,) or (T, B): T = ``max(n_iter)`` rows for iterative solvers (a signal
        that stopped earlier keeps its last value), the solver's own trace for direct ones
        (per atom for OMP) or a single final row.
    solver : str
        Registry name of the solver.
    time : float
        Wall-clock seconds spent in ``recover``.

    Notes
    -----
    ``converged`` and ``stop_reason`` are derived from ``status``: ``converged`` is True when
    every signal is ``"solved"``; ``stop_reason`` is the common status, else the worst present
    (in the order of :data:`STATUSES`).
    """

    x: np.ndarray
    coef: np.ndarray
    n_iter: object
    status: object
    certificate: object
    tol: object
    history: Mapping[str, np.ndarray]
    lam: object = None
    solver: str = ""
    time: float = 0.0

    @property
    def converged(self) -> bool:
        """True when every signal's certificate is met (``status == "solved"``)."""
        return bool(np.all(np.asarray(self.status) == "solved"))

    @property
    def stop_reason(self) -> str:
        """The status shared by every signal, else the worst one present."""
        present = set(np.atleast_1d(self.status).tolist())
        return max(present, key=STATUSES.index) if present else "solved"

    @property
    def objective(self):
        """Final objective value(s)."""
        h = self.history["objective"]
        return h[-1] if len(h) else np.nan

    @property
    def residual_norm(self):
        """Final residual norm(s)."""
        h = self.history["residual_norm"]
        return h[-1] if len(h) else np.nan

    def __repr__(self) -> str:
        batch = "" if self.x.ndim == 1 else f", B={self.x.shape[1]}"
        res = np.atleast_1d(self.residual_norm)
        nnz = np.count_nonzero(self.coef, axis=0)
        nnz_s = f"{int(nnz)}" if np.ndim(nnz) == 0 else f"{np.median(nnz):g} (median)"
        it = np.atleast_1d(self.n_iter)
        it_s = f"{int(it[0])}" if it.size == 1 else f"{int(it.max())} (max)"
        return (
            f"RecoveryResult(solver={self.solver!r}, n={self.x.shape[0]}{batch}, n_iter={it_s}, "
            f"converged={self.converged}, stop_reason={self.stop_reason!r}, nnz={nnz_s}, "
            f"residual_norm={float(np.max(res)):.3g}{' (max)' if res.size > 1 else ''}, "
            f"certificate={float(np.max(np.atleast_1d(self.certificate))):.3g}, time={self.time:.3g}s)"
        )

    def plot_history(self, key: str = "objective", *, ax=None, logy: bool = True):
        """Plot one history curve against iterations (matplotlib, imported lazily).

        Parameters
        ----------
        key : str, default="objective"
            A key of ``history``.
        ax : matplotlib Axes, optional
        logy : bool, default=True

        Returns
        -------
        ax : matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if key not in self.history:
            raise KeyError(f"no history key {key!r}; available: {', '.join(self.history)}")
        if ax is None:
            _, ax = plt.subplots()
        vals = np.asarray(self.history[key])
        it = np.arange(1, vals.shape[0] + 1)
        ax.plot(it, vals, lw=1)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel(key)
        ax.set_title(f"{self.solver}: {key}")
        return ax


@dataclass
class DirectSolution:
    """What :meth:`DirectRecoverer._solve` returns for a batch of B signals.

    Attributes
    ----------
    coef : ndarray (n, B)
    n_iter : ndarray of int (B,)
        The solver's own iteration count per signal (see ``RecoveryResult.n_iter``).
    status : sequence of str (B,)
        Raw status per signal: a claim ("solved", "sparsity", ...) that the base class then
        certifies, or one of "max_iter", "infeasible", "failed".
    history : dict of str to ndarray (T, B), optional
        The solver's own trace (``"objective"``, ``"residual_norm"``); None for one final row.
    lam : ndarray (B,), optional
        λ per signal for ℓ1-penalised solvers.
    sparse : scipy.sparse matrix (n, B), optional
        The same coefficients in sparse form, when the solver has them (the certificate then
        costs m·nnz instead of a scan of the dense array).
    """

    coef: np.ndarray
    n_iter: np.ndarray
    status: object
    history: dict | None = None
    lam: np.ndarray | None = None
    sparse: object = None


def _column_scale(op: LinearOperator) -> float:
    """Root-mean-square column norm ‖A‖_F/√n (overflow-safe; 0 for A = 0).

    Explicit matrices: exact (BLAS nrm2, no copy). Matrix-free operators: the unbiased
    estimate E‖Ag‖² = ‖A‖_F² from 4 seeded Gaussian vectors (only its power of two is used).
    """
    from scipy.linalg import norm as blas_norm
    import scipy.sparse as sp

    from .operators import explicit_matrix

    n = op.shape[1]
    mat = explicit_matrix(op)
    if mat is not None:
        data = mat.data if sp.issparse(mat) else mat
        if data.size == 0:
            return 0.0
        amax = float(np.max(np.abs(data)))
        if amax == 0:
            return 0.0
        if data.dtype.kind in "fc" and data.flags.c_contiguous | data.flags.f_contiguous:
            return float(blas_norm(data, check_finite=False)) / np.sqrt(n)
        return float(np.linalg.norm(np.ravel(data) / amax)) * amax / np.sqrt(n)
    dt = np.result_type(op.dtype, np.float32) if op.dtype is not None else np.float64
    G = np.random.default_rng(0).standard_normal((n, 4)).astype(dt)
    return float(np.sqrt(np.mean(safe_col_norms(np.asarray(op.matmat(G))) ** 2) / n))


class Recoverer(ParamsMixin, abc.ABC):
    """Base class of every sparse recovery solver: validation, normalisation, certificates.

    Subclasses take hyperparameters as keyword-only ``__init__`` arguments, store them
    unchanged under the same names, declare ``_parameter_constraints`` and call
    ``self._validate_params()`` — ``get_params``, ``set_params``, ``repr`` and the error
    messages then come for free. Two kinds share this base and one result type:

    * :class:`IterativeRecoverer` — the base class owns the loop (step hooks ``_setup``,
      ``_step``, ``_monitor``, ``_coef``);
    * :class:`DirectRecoverer` — one ``_solve`` (a compiled path, an LP, cvxpy, a whole
      pursuit) returning coefficients with per-signal iteration counts and statuses.

    What ``recover`` does for both: validates the inputs; hands the solver the problem
    normalised by powers of two (``A/a``, ``Y/s_y`` with ``a`` the RMS column norm of A and
    ``s_y`` the largest ‖y_b‖ — exact in floating point), with the parameters that carry units
    converted by ``_param_units``; answers ``y_b = 0`` (x = 0) and ``A = 0`` itself; then
    computes the certificate of every returned x (:mod:`cstoolkit._certificates`) and derives
    the per-signal statuses. ``recover`` never changes the solver object.

    Class attributes: ``objective_kind`` ("lasso", "bp", "bpdn" or "greedy": which certificate
    and reference apply), ``supports_complex``, ``supports_x0``, ``_param_units``, and
    ``study_settings`` (:class:`~cstoolkit.studies.StudySettings`: how the studies run it).
    """

    name: ClassVar[str] = ""
    #: which certificate and reference apply: "lasso" (½‖Ax−y‖²+λ‖x‖₁), "bp" (min ‖x‖₁ s.t.
    #: Ax=y), "bpdn" (min ‖x‖₁ s.t. ‖Ax−y‖ ≤ ε) or "greedy" (a sparse fit of Ax = y)
    objective_kind: ClassVar[str] = "greedy"
    #: how the studies (phase diagram, embedding study) run this solver: budget, family, which
    #: studies, slow or not — never the conformance suite's hints (see :mod:`cstoolkit.studies`)
    study_settings: ClassVar[StudySettings] = _DEFAULT_STUDY_SETTINGS
    supports_complex: ClassVar[bool] = False
    #: whether ``x0`` (a warm start) is used; solvers that cannot use it reject it
    supports_x0: ClassVar[bool] = True
    #: parameters with units, converted for the normalised problem: "y" (a norm of y, e.g. an
    #: absolute residual target or a noise level ε), "lam" (an absolute λ; left alone when
    #: ``lam_scale="relative"``) or "step" (a step in units of 1/‖A‖², as IHT's μ).
    #: Everything else is dimensionless (relative to the normalised problem).
    _param_units: ClassVar[Mapping[str, str]] = {}
    #: name of the parameter holding a tolerance of the certificate's meaning (relative
    #: residual or relative gap), if any; the certificate tolerance is never below √eps
    _certificate_param: ClassVar[str | None] = None
    #: True for solvers constrained to k non-zeros (``n_nonzero_coefs``): when their own stopping
    #: rule fires without fitting y, the status is "sparsity" (a k-sparse fit), not "stalled"
    _sparsity_budget: ClassVar[bool] = False
    #: normalise A to unit RMS column norm exactly (not to the nearest power of two)
    _unit_columns: ClassVar[bool] = False
    #: relative stopping tolerances that are floored at 10·eps of the working dtype
    _precision_params: ClassVar[tuple] = ()

    # -- the contract -----------------------------------------------------------------
    def recover(self, A, y, *, basis=None, x0=None, callbacks=()) -> RecoveryResult:
        """Recover sparse coefficients ``s`` (and ``x = Ψ s``) from ``y ≈ A x``.

        Parameters
        ----------
        A : ndarray, scipy.sparse matrix or LinearOperator, shape (m, n)
            Measurement matrix or operator (a LinearOperator must provide the adjoint,
            ``rmatvec``/``rmatmat``).
        y : array_like, shape (m,) or (m, B)
            Measurements; a 2-D ``y`` recovers B signals at once (vectorised).
        basis : ndarray, scipy.sparse matrix or LinearOperator, shape (n, p), optional
            Sparsity basis or dictionary Ψ: ``x = Ψ s`` with ``s`` sparse (e.g.
            :class:`~cstoolkit.operators.DCTBasis`, an orthonormal matrix, or a learned
            dictionary's ``components_.T``). Default: identity (``x`` itself is sparse).
        x0 : array_like, shape (p,) or (p, B), optional
            Initial coefficients (warm start). Solvers with ``supports_x0 = False`` (direct
            solvers) raise ``ValueError``.
        callbacks : Callback, callable or sequence of them, default=()
            Iterative solvers call them after every iteration (returning True stops the
            run); direct solvers call them once, after the solve.

        Returns
        -------
        result : RecoveryResult
        """
        t0 = time.perf_counter()
        op = as_operator(A)
        Y, single = check_signals(y, op.shape[0], allow_complex=self.supports_complex)
        if op.dtype is not None and np.dtype(op.dtype).kind == "c" and not self.supports_complex:
            raise TypeError(f"A is complex but {type(self).__name__} supports real data only.")
        psi = None
        eff = op
        if basis is not None:
            psi = as_operator(basis, name="basis")
            if psi.shape[0] != op.shape[1]:
                raise ValueError(
                    f"basis has {psi.shape[0]} rows but A has {op.shape[1]} columns; "
                    f"expected basis of shape ({op.shape[1]}, p)."
                )
            if psi.dtype is not None and np.dtype(psi.dtype).kind == "c" and not self.supports_complex:
                raise TypeError(f"basis is complex but {type(self).__name__} supports real data only.")
            eff = compose(op, psi)
        dtype = working_dtype(eff.dtype, Y.dtype)
        Y = np.ascontiguousarray(Y, dtype=dtype) if Y.dtype != dtype else Y
        n_coef = eff.shape[1]
        B = Y.shape[1]
        X0 = None
        if x0 is not None:
            if not self.supports_x0:
                raise ValueError(
                    f"{type(self).__name__} cannot use a warm start x0 (it is a direct solver or "
                    "restarts from its own initial point); call recover without x0.")
            X0 = np.asarray(x0)
            expected = (n_coef,) if single else (n_coef, B)
            if X0.shape != expected:
                raise ValueError(f"x0 has shape {X0.shape}; expected {expected}.")
            if not np.all(np.isfinite(X0)):
                raise ValueError("x0 contains NaN or Inf.")
            X0 = (X0[:, None] if single else X0).astype(dtype, copy=True)
        cbs = as_callbacks(callbacks)
        for cb in cbs:
            cb.on_run_begin(self, eff, Y)

        # -- normalise: A/a and Y/s_y by powers of two (exact), x = x'·s_y/a -------------------
        ynorm = safe_col_norms(Y)
        with blas_single_thread():  # small products: threads that spin cost more than they give
            a_raw = _column_scale(eff)
        # a power of two keeps the normalisation exact; solvers whose rules assume unit-norm
        # columns (AMP's threshold and Onsager term) get the exact RMS column norm instead
        a = a_raw if (self._unit_columns and a_raw > 0) else pow2(a_raw)
        nz = np.flatnonzero(ynorm > 0) if a_raw > 0 else np.zeros(0, dtype=np.intp)
        s_y = pow2(float(np.max(ynorm[nz]))) if nz.size else 1.0
        unit = s_y / a  # x = unit·x'
        eff_n = _scaled_operator(eff, 1.0 / a)
        solver = self._normalised_clone(a, s_y, dtype)
        every = nz.size == B
        if not nz.size:
            Yn = Y[:, :0]
        else:
            Yn = Y if every else np.ascontiguousarray(Y[:, nz])
            if s_y != 1.0:
                Yn = Yn * dtype.type(1.0 / s_y)
        X0n = None if X0 is None else (X0 if every else X0[:, nz]) * dtype.type(1.0 / unit)

        run = _Run(self, solver, eff_n, Yn, X0n, nz, B, unit, s_y, psi, cbs)
        if nz.size:
            run.execute()
        coef_n, raw = run.coef, run.raw

        # -- certificates from the returned x, on the normalised problem -----------------------
        full = np.zeros((n_coef, B), dtype=dtype) if not (nz.size == B and coef_n.dtype == dtype) else None
        cert = np.zeros(B)
        tol = np.full(B, solver._certificate_tol(dtype))
        status = np.full(B, "solved", dtype=object)
        n_iter = np.zeros(B, dtype=np.int64)
        lam_full = None
        final = {}
        if nz.size:
            safe = coef_n
            if run.diverged is not None and run.diverged.any():
                safe = np.where(~np.isnan(coef_n).any(axis=0), coef_n, 0)
            with blas_single_thread(gram_is_small(*eff_n.shape, nz.size)):
                c, rn, obj, l1 = certificate(solver.objective_kind, eff_n, safe, Yn, ynorm=ynorm[nz] / s_y,
                                             coef_sparse=run.sparse,
                                             lam=run.lam, epsilon=float(getattr(solver, "epsilon", 0.0) or 0.0),
                                             structure=(int(getattr(solver, "group_size", 1)),
                                                        bool(getattr(solver, "positive", False))))
            cert[nz] = c
            tol[nz] = solver._certificate_tols(dtype, run)
            claims = ~np.isin(raw, list(_NOT_CLAIMS))
            met = cert[nz] <= tol[nz]
            # a k-sparse solver whose own rule fired without fitting y: a k-sparse fit ("sparsity")
            unfit = "sparsity" if solver._sparsity_budget else "stalled"
            st = np.where(claims & met, "solved", np.where(claims, np.where(raw == "sparsity", "sparsity", unfit), raw))
            status[nz] = st
            n_iter[nz] = run.n_iter
            if every and coef_n.dtype == dtype:
                full = coef_n * dtype.type(unit) if unit != 1.0 else coef_n
            else:
                full[:, nz] = coef_n * full.dtype.type(unit)
            if run.lam is not None:
                lam_full = np.zeros(B)
                lam_full[nz] = np.asarray(run.lam, dtype=np.float64) * a * s_y
            final = dict(objective=obj * s_y**2, residual_norm=rn * s_y, l1_norm=l1 * unit)
        zero_rows = np.setdiff1d(np.arange(B), nz)
        zero_final = {}
        if zero_rows.size:
            # y_b = 0: x = 0 is exact; A = 0 with y_b ≠ 0: x = 0 is the only sensible estimate
            c, rn, obj, l1 = certificate(self.objective_kind, eff, np.zeros((n_coef, zero_rows.size), dtype=dtype),
                                         Y[:, zero_rows], lam=np.zeros(zero_rows.size) if self.objective_kind == "lasso" else None,
                                         epsilon=float(getattr(self, "epsilon", 0.0) or 0.0))
            cert[zero_rows] = c
            status[zero_rows] = np.where(c <= tol[zero_rows], "solved", "infeasible")
            zero_final = dict(objective=obj, residual_norm=rn, l1_norm=l1)
            if self.objective_kind == "lasso":
                lam_full = np.zeros(B) if lam_full is None else lam_full
                lam_full[zero_rows] = self._lam_for_zero_matrix()
        history = run.history(final, zero_final, zero_rows, B)
        if run.diverged is not None and run.diverged.any():
            cols = nz[run.diverged]
            full = full.astype(np.result_type(full.dtype, np.float32), copy=False)
            full[:, cols] = np.nan
            status[cols] = "diverged"
        coef = full
        x = coef if psi is None else np.asarray(psi.matmat(coef))
        status = status.astype(str)
        if np.any(status == "max_iter"):
            logger.info("%s: %d of %d signals stopped at their iteration budget without a certificate",
                        type(self).__name__, int(np.sum(status == "max_iter")), B)
        if single:
            coef, x = coef[:, 0], x[:, 0]
            history = {k: v[:, 0] for k, v in history.items()}
            n_out, s_out, c_out, t_out = n_iter[0], status[0], float(cert[0]), float(tol[0])
            lam_out = None if lam_full is None else float(lam_full[0])
        else:
            n_out, s_out, c_out, t_out, lam_out = n_iter, status, cert, tol, lam_full
        result = RecoveryResult(
            x=x, coef=coef, n_iter=n_out, status=s_out, certificate=c_out, tol=t_out, history=history,
            lam=lam_out, solver=self.name, time=time.perf_counter() - t0,
        )
        for cb in cbs:
            cb.on_run_end(result)
        return result

    def recover_gram(self, gram, correlations, *, norms_squared=None, factor=None):
        r"""Code signals given only ``G = DᴴD``, ``Dᴴx`` and ``‖x‖²`` (scikit-learn's ``orthogonal_mp_gram`` form).

        The same problem as ``recover(D, x)`` — ½‖D s − x‖² + λ·R(s), or this solver's
        constraint — for callers that code many signals over one dictionary (learners,
        compression) and form the Gram matrix once. The default builds an equivalent problem
        from an eigendecomposition ``G = RᴴR`` (``R`` of rank(G) ≤ min(m, n) rows, plus, when some
        ``x`` has a part outside the range of D, one row carrying ``√(‖x‖² − ‖R⁻ᴴDᴴx‖²)``, so
        that every residual norm is exactly that of the original problem) and calls ``recover``
        on it: ``O(n³)`` once per call (``O(n·r²)`` with ``factor``), then the solver on at most
        ``min(m, n) + 1`` rows (see :mod:`cstoolkit.gram_coding`). Solvers with a
        native Gram path (:class:`~cstoolkit.OMP`) override it.

        Parameters
        ----------
        gram : ndarray, shape (n, n)
            ``DᴴD`` (Hermitian positive semi-definite).
        correlations : ndarray, shape (n,) or (n, B)
            ``Dᴴx`` per signal.
        norms_squared : float or ndarray of shape (B,), optional
            ``‖x‖²`` per signal. Needed for residual norms, objectives and residual-based
            stopping rules to be those of the original problem; None takes ``x`` to lie in
            the range of ``D`` (exact when D has full row rank).
        factor : ndarray, shape (r, n), optional
            Any ``R`` with ``RᴴR = gram``, e.g. the dictionary ``D`` when the caller has it: the
            default then skips the ``O(n³)`` eigendecomposition. Overrides may ignore it.

        Returns
        -------
        GramCoding
            ``coef`` (n,) or (n, B), and the final ``objective`` and ``residual_norm`` per signal.
        """
        from .gram_coding import recover_gram_default

        return recover_gram_default(self, gram, correlations, norms_squared, factor)

    # -- normalisation -----------------------------------------------------------------
    def _normalised_clone(self, a: float, s_y: float, dtype):
        """A fresh instance with the unit-carrying parameters converted for (A/a, Y/s_y), and
        the relative tolerances of ``_precision_params`` raised to 10·eps of the working dtype
        (a float32 run cannot meet 1e-13; it would only burn its budget)."""
        params = self.get_params()
        units = self._units()
        floor = 10 * float(np.finfo(np.dtype(dtype)).eps)
        for key in self._precision_params:
            v = params.get(key)
            if v is not None and not isinstance(v, bool) and v < floor:
                params[key] = floor
        for key, unit in units.items():
            v = params.get(key)
            if v is None or isinstance(v, bool):
                continue
            if unit == "y":
                params[key] = v / s_y
            elif unit == "step":
                params[key] = v * a**2
            elif unit == "lam" and params.get("lam_scale", "absolute") == "absolute":
                params[key] = v / (a * s_y)
        clone = type(self)(**params)
        return clone

    def _units(self) -> Mapping[str, str]:
        """The parameters with units for this instance (default: ``_param_units``)."""
        return self._param_units

    def _lam_for_zero_matrix(self) -> float:
        return float(getattr(self, "lam", 0.0) or 0.0) if getattr(self, "lam_scale", "absolute") == "absolute" else 0.0

    def _certificate_tol(self, dtype) -> float:
        """Certificate tolerance: the solver's own (``_certificate_param``), at least √eps."""
        floor = float(np.sqrt(np.finfo(np.dtype(dtype)).eps))
        own = getattr(self, self._certificate_param, None) if self._certificate_param else None
        return max(floor, float(own)) if own is not None else floor

    def _certificate_tols(self, dtype, run) -> np.ndarray:
        """Per-signal certificate tolerance for the normalised problem (override for absolute targets)."""
        return np.full(run.Y.shape[1], self._certificate_tol(dtype))

    def _penalty(self, state):
        """λ per signal (B,) of ℓ1-penalised solvers from the state; None for the others."""
        if self.objective_kind != "lasso":
            return None
        return state.get("lam") if isinstance(state, dict) else getattr(state, "lam", None)

    # -- conformance-suite hints ---------------------------------------------------------
    @classmethod
    def _conformance_params(cls, k: int) -> dict:
        """Parameters (a budget, a sparsity k) for the conformance suite's noiseless k-sparse instance.

        Read by the tests only; the studies read ``study_settings`` (tuning a test never moves
        a published number).
        """
        return {}

    #: a run stops with ``stop_reason="diverged"`` once a residual norm exceeds this multiple of
    #: the batch's largest ‖y‖ (x = 0 has residual ‖y‖)
    _divergence_factor: ClassVar[float] = 1e4


def _scaled_operator(op: LinearOperator, c: float) -> LinearOperator:
    """``c·op`` keeping an explicit matrix explicit (c = 1 returns op itself)."""
    if c == 1.0:
        return op
    from .operators import MatrixOperator, explicit_matrix

    mat = explicit_matrix(op)
    if mat is not None:
        return MatrixOperator(mat * mat.dtype.type(c))
    out = op * c
    # an operator with orthonormal rows (AAᴴ = I) keeps that structure up to the scalar: c·A has
    # (c·A)(c·A)ᴴ = c²·I, which solvers that project onto {x : Ax = y} use (e.g. ``tv``)
    if getattr(op, "orthonormal_rows", False):
        out.row_gram_scale = float(c) ** 2 * float(getattr(op, "row_gram_scale", 1.0))
    elif hasattr(op, "row_gram_scale"):
        out.row_gram_scale = float(c) ** 2 * float(op.row_gram_scale)
    return out


class _Run:
    """One solve of the normalised problem: the loop (iterative) or the call (direct)."""

    def __init__(self, owner, solver, A, Y, X0, nz, B, unit, s_y, psi, cbs):
        self.owner, self.solver, self.A, self.Y, self.X0 = owner, solver, A, Y, X0
        self.nz, self.B, self.unit, self.s_y, self.psi, self.cbs = nz, B, unit, s_y, psi, cbs
        b = Y.shape[1]
        self.coef = np.zeros((A.shape[1], b), dtype=Y.dtype)
        self.raw = np.full(b, "max_iter", dtype=object)
        self.n_iter = np.zeros(b, dtype=np.int64)
        self.lam = None
        self.diverged = None
        self.rows: dict[str, list] = {}
        self.own_history = None
        self.sparse = None

    def execute(self):
        self.solver._execute(self)

    def info(self, it, coef_n, obj, res):
        """IterationInfo in the caller's units, for the whole batch (zero signals included)."""
        full = np.zeros((coef_n.shape[0], self.B), dtype=coef_n.dtype)
        full[:, self.nz] = coef_n * coef_n.dtype.type(self.unit)
        o = np.zeros(self.B)
        r = np.zeros(self.B)
        o[self.nz] = np.asarray(obj, dtype=float) * self.s_y**2
        r[self.nz] = np.asarray(res, dtype=float) * self.s_y
        return IterationInfo(it, full, o, r, self.owner, self.psi)

    def history(self, final, zero_final, zero_rows, B):
        """History arrays (T, B) in the caller's units; signals answered by the base class
        (``y_b = 0`` or ``A = 0``) hold their x = 0 values."""
        keys = list(HISTORY_KEYS) + (["l1_norm"] if self.owner.objective_kind in ("bp", "bpdn") else [])
        scale = dict(objective=self.s_y**2, residual_norm=self.s_y, l1_norm=self.unit)
        src = self.own_history if self.own_history is not None else self.rows
        out = {}
        for k in keys:
            rows = src.get(k)
            if len(self.nz) == 0:
                arr = np.zeros((1, 0))
            elif rows is None or len(rows) == 0:
                arr = np.asarray(final[k])[None, :]
            else:
                arr = np.asarray(rows, dtype=float).reshape(len(rows), -1) * scale[k]
            h = np.zeros((arr.shape[0], B))
            h[:, self.nz] = arr
            if zero_rows.size:
                h[:, zero_rows] = zero_final[k]
            out[k] = h
        return out


class IterativeRecoverer(Recoverer):
    """A recoverer whose iterations the base class runs (and callbacks observe one by one).

    A subclass writes four hooks; the base class owns the loop, history, callbacks, the
    divergence guard and the per-signal bookkeeping:

    ``_setup(A, Y, X0) -> state``
        ``A`` is a LinearOperator ``(m, n)`` (already composed with the basis and normalised),
        ``Y`` is ``(m, B)`` in the working dtype, ``X0`` is ``(n, B)`` or None.
    ``_step(state, it) -> str | None``
        One iteration for the whole batch; return a stop reason once every signal is done.
    ``_monitor(state) -> (objective, residual_norm)``
        Arrays of shape ``(B,)`` for the current iterate.
    ``_coef(state) -> ndarray (n, B)``
        The current coefficient estimate.

    The state is the subclass's own: preferably a small dataclass (e.g.
    :class:`cstoolkit.solvers.l1.admm.ADMMState`); a dict is still accepted.

    Optional: ``_active(state)`` (bool (B,): signals still iterating; default the state's
    ``active`` field when it has one — or, for a dict state, ``state["active"]`` or
    ``~state["done"]``), ``_max_iterations(state)``,
    ``_penalty(state)`` (default: the state's ``lam`` for ℓ1-penalised solvers).
    """

    def _execute(self, run: _Run):
        state = self._setup(run.A, run.Y, run.X0)
        b = run.Y.shape[1]
        kind = self.objective_kind
        rows = {k: [] for k in HISTORY_KEYS}
        if kind in ("bp", "bpdn"):
            rows["l1_norm"] = []
        y_scale = float(np.max(safe_col_norms(run.Y), initial=0.0))
        limit = self._divergence_factor * y_scale if y_scale > 0 else np.inf
        diverged = np.zeros(b, dtype=bool)
        labelled = np.zeros(b, dtype=bool)
        raw = np.full(b, "max_iter", dtype=object)
        n_iter = np.zeros(b, dtype=np.int64)
        first_div = 0
        for it in range(1, self._max_iterations(state) + 1):
            before = self._active(state)
            running = np.ones(b, dtype=bool) if before is None else np.asarray(before, dtype=bool).copy()
            running &= ~labelled
            # once a column has diverged, its overflow is expected: keep numpy quiet about it
            with np.errstate(over="ignore", invalid="ignore") if diverged.any() else contextlib.nullcontext():
                reason = self._step(state, it)
                obj, res = self._monitor(state)
            n_iter[running] = it
            res = np.asarray(res, dtype=float)
            obj = 0.5 * res**2 if kind != "lasso" else np.asarray(obj, dtype=float)
            rows["objective"].append(obj)
            rows["residual_norm"].append(res)
            if "l1_norm" in rows:
                rows["l1_norm"].append(np.sum(np.abs(self._coef(state)), axis=0, dtype=np.float64))
            after = self._active(state)
            if after is not None:
                done_now = running & ~np.asarray(after, dtype=bool)
                raw[done_now] = reason if reason is not None else "tol"
                labelled |= done_now
            new = ~(res <= limit) & ~diverged  # also catches NaN
            if new.any():
                first_div = first_div or it
                diverged |= new
                raw[new] = "diverged"
                labelled |= new
                if diverged.all():
                    break
            if run.cbs:
                info = run.info(it, self._coef(state), obj, res)
                if any([bool(cb.on_step_end(info)) for cb in run.cbs]):
                    raw[~labelled] = "callback"
                    labelled[:] = True
                    break
            if reason is not None:
                raw[~labelled] = reason
                labelled[:] = True
                break
        run.coef = np.asarray(self._coef(state))
        run.raw, run.n_iter, run.rows = raw, n_iter, rows
        run.lam = self._penalty(state)
        run.diverged = diverged
        if diverged.any():
            logger.warning(
                "%s: %d of %d signals diverged (first at iteration %d: residual norm > %g·max‖y‖ or "
                "not finite); they are returned as NaN, stop_reason='diverged'. A fixed step or "
                "relaxation too long for this operator is the usual cause.",
                type(self).__name__, int(diverged.sum()), diverged.size, first_div, self._divergence_factor)

    # -- hooks for subclasses ---------------------------------------------------------
    @abc.abstractmethod
    def _setup(self, A: LinearOperator, Y: np.ndarray, X0):
        """Build the iteration state for operator ``A`` (m, n), measurements ``Y`` (m, B), start ``X0``."""

    @abc.abstractmethod
    def _step(self, state, it: int):
        """Advance every signal by one iteration; return a stop reason once all are done, else None."""

    @abc.abstractmethod
    def _monitor(self, state):
        """Objective and residual norm of the current iterate, each of shape (B,)."""

    @abc.abstractmethod
    def _coef(self, state) -> np.ndarray:
        """Current coefficients, shape (n, B)."""

    def _active(self, state):
        """Signals still iterating, bool (B,), or None when the batch stops together."""
        if isinstance(state, dict):
            if "active" in state:
                return state["active"]
            if "done" in state:
                return ~np.asarray(state["done"], dtype=bool)
            return None
        # a dataclass state declares per-signal progress in a field named ``active``; a solver
        # whose state says it otherwise overrides this method (no guessing from other names)
        return getattr(state, "active", None)

    def _max_iterations(self, state) -> int:
        return int(getattr(self, "max_iter", 1000))


class DirectRecoverer(Recoverer):
    """A recoverer that solves the whole batch in one call (compiled path, LP, cvxpy, pursuit).

    A subclass writes one hook, ``_solve(A, Y, X0) -> DirectSolution`` (``A`` normalised and
    composed with the basis, ``Y`` (m, B)), returning coefficients, per-signal iteration counts
    and raw statuses. The base class certifies the result as for iterative solvers. Callbacks
    are called once, after the solve (their return value cannot stop a finished solve).
    """

    supports_x0: ClassVar[bool] = False

    @abc.abstractmethod
    def _solve(self, A: LinearOperator, Y: np.ndarray, X0) -> DirectSolution:
        """Solve every column of ``Y``; see :class:`DirectSolution`."""

    def _execute(self, run: _Run):
        sol = self._solve(run.A, run.Y, run.X0)
        b = run.Y.shape[1]
        run.coef = np.asarray(sol.coef)
        run.n_iter = np.broadcast_to(np.asarray(sol.n_iter, dtype=np.int64), (b,)).copy()
        run.raw = np.asarray(list(np.broadcast_to(np.asarray(sol.status, dtype=object), (b,))), dtype=object)
        run.lam = sol.lam
        run.own_history = sol.history
        run.sparse = sol.sparse
        if run.cbs:
            R = np.asarray(run.A.matmat(run.coef)) - run.Y
            res = safe_col_norms(R)
            obj = 0.5 * res**2
            if sol.lam is not None:
                obj = obj + np.asarray(sol.lam) * np.sum(np.abs(run.coef), axis=0)
            info = run.info(int(run.n_iter.max(initial=0)), run.coef, obj, res)
            for cb in run.cbs:
                cb.on_step_end(info)
