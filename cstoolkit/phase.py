r"""Phase-transition experiments: exact ℓ1 references, success indicators and 50% crossings.

The building blocks of a Donoho–Tanner diagram, as SparseLab computed them:

* :func:`bp_homotopy` and :func:`bp_linprog` — two exact basis-pursuit solvers
  (min ‖x‖₁ s.t. Ax = y) used as the ℓ1 reference: the Lasso homotopy (LARS with the lasso
  modification) followed to λ = 0, and the linear program solved by HiGHS;
* :func:`phase_success` — the per-signal success indicator (Maleki–Donoho's
  ‖x − x̂‖² < 10⁻⁴‖x‖² or exact support recovery);
* :func:`logistic_fit` / :func:`logistic_crossing` — the success probability as a logistic
  function of ρ (or of any sweep variable) fitted by maximum likelihood on the binomial
  counts, and the value where it crosses a level (50% for a phase transition);
* :func:`crossings_by_group` — one crossing per δ (per solver) from a table of cells;
* :func:`phase_recoverer` — a registered solver configured for noiseless k-sparse recovery
  (its declared :class:`~cstoolkit.studies.StudySettings`);
* :func:`phase_trial` — one cell of a diagram: draw A and k-sparse signals from the cell's
  seed, recover them in one batched call, count the successes. The compute function of
  ``experiments/phase_transition.py`` and a ready-made cell function for
  :func:`~cstoolkit.experiment.run_grid` on a cluster (:mod:`cstoolkit.distributed`).

The theoretical curve ρ(δ) is :func:`cstoolkit.theory.rho_l1`.

References
----------
Donoho & Tanner, "Observed universality of phase transitions in high-dimensional geometry",
Phil. Trans. R. Soc. A 367 (2009) — logistic regression on success indicators per δ.
Maleki & Donoho, "Optimally tuned iterative reconstruction algorithms for compressed
sensing", IEEE J. Sel. Topics Signal Process. 4 (2010).
Efron, Hastie, Johnstone & Tibshirani, "Least angle regression", Ann. Statist. 32 (2004).
"""

from __future__ import annotations

import logging
import time
from typing import Iterable, Mapping, Sequence

import numpy as np

from .metrics import MALEKI_DONOHO_TOL, relative_error, support_recovered

__all__ = [
    "bp_homotopy",
    "bp_linprog",
    "phase_success",
    "logistic_fit",
    "logistic_crossing",
    "crossings_by_group",
    "phase_recoverer",
    "phase_trial",
]

logger = logging.getLogger(__name__)


def _as_2d(A, Y):
    A = np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D array (m, n), got shape {A.shape}.")
    Y = np.asarray(Y, dtype=float)
    single = Y.ndim == 1
    Y2 = Y[:, None] if single else Y
    if Y2.ndim != 2 or Y2.shape[0] != A.shape[0]:
        raise ValueError(f"y has shape {Y.shape} but A has {A.shape[0]} rows; expected ({A.shape[0]},) or ({A.shape[0]}, B).")
    return A, Y2, single


def bp_homotopy(A, Y):
    r"""Exact basis pursuit by the Lasso homotopy followed to λ = 0.

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad A x = y

    Follows the piecewise-linear path of ½‖Ax − y‖² + λ‖x‖₁ from λ_max down to 0 (LARS with
    the lasso modification, :func:`cstoolkit.solvers.l1.homotopy.homotopy_batch`); the end point
    is the ℓ1-minimal interpolant. A k-sparse solution is reached in about k breakpoints, so
    this is much faster than a linear program below the phase transition. The Gram matrix
    ``AᵀA`` is computed once for the whole batch. ``make_recoverer("bp-homotopy")`` for arrays.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    Y : ndarray, shape (m,) or (m, B)

    Returns
    -------
    X : ndarray, shape (n,) or (n, B)

    Notes
    -----
    Paths differ between signals; with numba installed they run in parallel in a compiled
    kernel, otherwise one after the other. Agreement with :func:`bp_linprog` is tested.

    References
    ----------
    Osborne, Presnell & Turlach, "A new approach to variable selection in least squares
    problems", IMA J. Numer. Anal. 20 (2000). Donoho & Tsaig, IEEE Trans. Inf. Theory 54 (2008).
    """
    from .solvers.l1.homotopy import BasisPursuitHomotopy

    A, Y, single = _as_2d(A, Y)
    X = BasisPursuitHomotopy().recover(A, Y).x
    return X[:, 0] if single else X


def bp_linprog(A, Y, *, method: str = "highs-ds", return_status: bool = False):
    r"""Exact basis pursuit as a linear program solved by HiGHS (:func:`scipy.optimize.linprog`).

    .. math:: \min_{u, v \ge 0} \mathbf 1^\top (u + v) \quad\text{s.t.}\quad A(u - v) = y,
              \qquad x = u - v

    Parameters
    ----------
    A : ndarray, shape (m, n)
    Y : ndarray, shape (m,) or (m, B)
    method : str, default="highs-ds"
        scipy ``linprog`` method ("highs", "highs-ds" dual simplex, "highs-ipm").

    Returns
    -------
    X : ndarray, shape (n,) or (n, B)
        NaN columns where the solver did not report success (a warning is logged).
    status : ndarray of int, shape (B,) or int
        Only with ``return_status=True``: ``linprog`` status per signal (0 optimal; see
        :func:`cstoolkit.solvers.bp.lp.basis_pursuit_lp`, which this function calls).

    References
    ----------
    Chen, Donoho & Saunders, "Atomic decomposition by basis pursuit", SIAM J. Sci. Comput. 20
    (1998). Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog.
    Comput. 10 (2018).
    """
    from .solvers.bp.lp import basis_pursuit_lp

    A, Y, single = _as_2d(A, Y)
    X, status = basis_pursuit_lp(A, Y, formulation="primal", method=method)
    for b in np.flatnonzero(status != 0):
        logger.warning("bp_linprog: signal %d: linprog status %d", b, status[b])
    if single:
        return (X[:, 0], int(status[0])) if return_status else X[:, 0]
    return (X, status) if return_status else X


def phase_success(x_true, x_hat, *, criterion: str = "relative", tol: float = MALEKI_DONOHO_TOL):
    """Per-signal success indicators for phase diagrams.

    Parameters
    ----------
    x_true, x_hat : ndarray, shape (n,) or (n, B)
    criterion : {"relative", "support"}, default="relative"
        "relative": Maleki–Donoho's ‖x − x̂‖² < tol·‖x‖²; "support": the k largest |x̂| are the
        support of x (Tropp & Gilbert). NaN estimates count as failures.
    tol : float, default=1e-4
        Squared relative error threshold of the "relative" criterion.

    Returns
    -------
    success : bool or ndarray of bool, shape (B,)
    """
    if criterion == "relative":
        err = relative_error(x_true, x_hat)
        with np.errstate(invalid="ignore"):
            return np.asarray(err) ** 2 < tol if np.ndim(err) else bool(err ** 2 < tol)
    if criterion == "support":
        xh = np.nan_to_num(np.asarray(x_hat, dtype=float), nan=0.0)
        return support_recovered(x_true, xh)
    raise ValueError(f"criterion must be 'relative' or 'support', got {criterion!r}.")


def logistic_fit(x, successes, trials, *, ridge: float = 1e-6, max_iter: int = 100):
    r"""Maximum-likelihood logistic regression of binomial success counts on one variable.

    .. math:: P(\text{success} \mid x) = \frac{1}{1 + e^{-(a + b x)}},\qquad
              \max_{a, b} \sum_i s_i \log p_i + (t_i - s_i) \log(1 - p_i) - \tfrac{r}{2} b^2

    fitted by Newton's method (iteratively reweighted least squares) on the standardised
    variable. The tiny ridge ``r`` keeps the estimate finite under perfect separation (all
    successes below some x, all failures above), where the crossing then sits between the
    last all-success and the first all-failure point.

    Parameters
    ----------
    x : array_like, shape (p,)
        Sweep variable (ρ, m, K, ...).
    successes : array_like, shape (p,)
        Successes at each point.
    trials : array_like, shape (p,)
        Trials at each point (> 0).
    ridge : float, default=1e-6
        Penalty on the standardised slope.
    max_iter : int, default=100

    Returns
    -------
    a, b : float
        Intercept and slope in the original units of ``x``.

    References
    ----------
    Donoho & Tanner, Phil. Trans. R. Soc. A 367 (2009), Sec. 3 (SparseLab's procedure).
    """
    x = np.asarray(x, dtype=float)
    s = np.asarray(successes, dtype=float)
    t = np.asarray(trials, dtype=float)
    if not (x.shape == s.shape == t.shape and x.ndim == 1):
        raise ValueError(f"x, successes and trials must be 1-D of equal length, got {x.shape}, {s.shape}, {t.shape}.")
    if np.any(t <= 0) or np.any(s < 0) or np.any(s > t):
        raise ValueError("need trials > 0 and 0 <= successes <= trials at every point.")
    if np.unique(x).size < 2:
        raise ValueError("logistic_fit needs at least two distinct x values.")
    mu, sd = x.mean(), x.std()
    z = (x - mu) / sd
    F = np.column_stack([np.ones_like(z), z])
    beta = np.zeros(2)
    P = np.diag([0.0, ridge])
    for _ in range(max_iter):
        eta = np.clip(F @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = t * p * (1 - p)
        grad = F.T @ (s - t * p) - P @ beta
        H = F.T @ (F * w[:, None]) + P + 1e-12 * np.eye(2)
        step = np.linalg.solve(H, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(beta))):
            break
    a0, b0 = beta
    return float(a0 - b0 * mu / sd), float(b0 / sd)


def logistic_crossing(x, successes, trials, *, level: float = 0.5, **kwargs) -> float:
    """The value of ``x`` where the fitted success probability equals ``level``.

    Parameters
    ----------
    x, successes, trials : array_like, shape (p,)
        As in :func:`logistic_fit`.
    level : float, default=0.5
        Probability level in (0, 1): 0.5 for a phase transition, 0.95 for Tropp & Gilbert's
        Fig. 3.
    **kwargs : passed to :func:`logistic_fit`.

    Returns
    -------
    x_level : float
        NaN when the fit is flat (slope 0: no transition in the data).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}.")
    a, b = logistic_fit(x, successes, trials, **kwargs)
    if b == 0 or not np.isfinite(b):
        return float("nan")
    return float((np.log(level / (1 - level)) - a) / b)


def crossings_by_group(rows: Iterable[Mapping], *, group: Sequence[str], x: str = "rho",
                       successes: str = "successes", trials: str = "trials", level: float = 0.5) -> list[dict]:
    """One logistic crossing per group of cells (e.g. per solver and δ).

    Parameters
    ----------
    rows : iterable of mapping
        One row per cell with the ``group`` keys, ``x``, ``successes`` and ``trials``.
    group : sequence of str
        Keys that define a group, e.g. ``("solver", "delta")``.
    x, successes, trials : str
        Column names.
    level : float, default=0.5

    Returns
    -------
    crossings : list of dict
        ``{**group values, x + "_cross": value, "n_points": p, "all_success": bool,
        "all_fail": bool}``; the crossing is NaN when every point succeeded or every point
        failed, or when the fit puts it more than one grid step outside the sampled range (the
        transition was not observed).
    """
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(r[g] for g in group), []).append(r)
    out = []
    for key, rs in groups.items():
        xs = np.array([float(r[x]) for r in rs])
        s = np.array([float(r[successes]) for r in rs])
        t = np.array([float(r[trials]) for r in rs])
        all_s, all_f = bool(np.all(s == t)), bool(np.all(s == 0))
        val = float("nan")
        if not (all_s or all_f) and np.unique(xs).size >= 2:
            val = logistic_crossing(xs, s, t, level=level)
            # a crossing more than one grid step outside the sampled range is an extrapolation
            # of a transition that was not observed: report NaN rather than a made-up value
            ux = np.unique(xs)
            step = float(np.median(np.diff(ux)))
            if not ux[0] - step <= val <= ux[-1] + step:
                val = float("nan")
        out.append({**dict(zip(group, key)), f"{x}_cross": val, "n_points": len(rs),
                    "all_success": all_s, "all_fail": all_f})
    return out


def phase_recoverer(name: str, k: int, overrides: Mapping | None = None):
    """A registered recoverer configured for noiseless recovery of k-sparse signals.

    Takes the solver's declared phase-diagram settings (``study_settings.phase`` of
    :class:`~cstoolkit.studies.StudySettings`: its budget and tolerance, a small λ for
    ℓ1-penalised solvers, the sparsity ``k`` for greedy ones) and applies ``overrides``.
    Never the conformance suite's hints: loosening a test does not move a published crossing.
    Parameters the solver does not accept are dropped with a log line.

    Parameters
    ----------
    name : str
        Registry name (see :func:`cstoolkit.available_recoverers`).
    k : int
        Sparsity of the signals.
    overrides : mapping, optional
        Parameter values taking precedence.

    Returns
    -------
    recoverer : Recoverer
    """
    from .registry import RECOVERERS
    from .studies import settings_of

    cls = RECOVERERS.get(name)
    params = settings_of(cls).params("phase", int(k))
    params.update(overrides or {})
    valid = set(cls._param_names())
    dropped = sorted(set(params) - valid)
    if dropped:
        logger.info("phase_recoverer(%s): ignoring parameters %s", name, dropped)
    return cls(**{p: v for p, v in params.items() if p in valid})


def phase_trial(cell: Mapping) -> dict:
    r"""One phase-diagram cell: recover ``trials`` k-sparse signals from m Gaussian measurements.

    Draws ``A`` (m, n) with :func:`cstoolkit.ensembles.gaussian` (N(0, 1/m) entries) and then
    ``X`` (n, trials) with :func:`cstoolkit.signals.sparse_signals` (uniform support, ``amplitude``
    non-zeros) from one generator seeded by ``cell["seed"]``, so the numbers depend only on the
    cell; recovers ``Y = A X`` in one batched call with :func:`phase_recoverer` (plus the cell's
    ``params``) and scores each signal with :func:`phase_success`.

    Parameters
    ----------
    cell : mapping
        ``solver`` (registry name), ``n``, ``m``, ``k``, ``seed`` (int); optional ``trials``
        (default 1), ``amplitude`` (default "gaussian", see
        :func:`~cstoolkit.signals.sparse_signals`) and ``params`` (parameters on top of the
        solver's phase-diagram settings, default none).

    Returns
    -------
    result : dict
        ``delta`` = m/n, ``rho`` = k/m, ``successes``, ``success_rate``, ``rel_error`` (list, one
        per trial), ``capped`` (trials whose run reached ``max_iter``), ``max_iter`` (None
        when the solver has no such budget), ``n_iter`` (largest) and ``seconds``.

    Raises
    ------
    KeyError
        When a required key is missing.

    References
    ----------
    Donoho & Tanner, Phil. Trans. R. Soc. A 367 (2009) 4273–4293.
    """
    from .ensembles import gaussian
    from .metrics import relative_error
    from .signals import sparse_signals

    missing = {"solver", "n", "m", "k", "seed"} - set(cell)
    if missing:
        raise KeyError(f"phase_trial needs keys {sorted(missing)}; got {sorted(cell)}.")
    n, m, k, B = int(cell["n"]), int(cell["m"]), int(cell["k"]), int(cell.get("trials", 1))
    rng = np.random.default_rng(int(cell["seed"]))
    A = gaussian(m, n, random_state=rng)
    X = sparse_signals(n, k, B, amplitude=cell.get("amplitude", "gaussian"), random_state=rng)
    rec = phase_recoverer(cell["solver"], k, cell.get("params"))
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):  # a diverging solver is a failure, reported as such
        res = rec.recover(A, A @ X)
    seconds = time.perf_counter() - t0
    it = np.broadcast_to(np.asarray(res.n_iter), (B,))
    cap = rec.get_params().get("max_iter")
    ok = phase_success(X, res.x)
    return dict(delta=m / n, rho=k / m, successes=int(ok.sum()), success_rate=float(np.mean(ok)),
                rel_error=np.atleast_1d(relative_error(X, res.x)).tolist(),
                capped=int(np.count_nonzero(it >= cap)) if cap is not None else 0, max_iter=cap,
                n_iter=int(np.max(it)), seconds=seconds)
