"""Figure 1: recovery error versus number of measurements on real embedding vectors.

A seeded sample of token vectors x ∈ R^n (rows of the all-MiniLM-L6-v2 word-embedding matrix,
n = 384; ``--matrix smollm2`` for SmolLM2-135M, n = 576) is measured as y = Φx with a Gaussian
Φ (m×n, N(0, 1/m) entries, one draw per m shared by every solver and basis) for m/n from 0.1 to
1, and recovered through a sparsity basis Ψ (x = Ψs, s sparse) by every registered recoverer,
all sampled vectors of a cell as the columns of one batched ``recover`` call. Plotted: the median
relative error ‖x̂ − x‖/‖x‖ over the sample with its interquartile band, one curve per solver,
one panel per basis:

(a) identity after thresholding — the measured signal *and the target* is x_K, the vector
    hard-thresholded to its K largest entries (an exactly K-sparse vector with the real
    amplitudes); the error is relative to x_K, which is itself ‖x − x_K‖/‖x‖ away from x;
(b) PCA — the right singular vectors of held-out rows (uncentred: the mean is the first axis);
(c) DCT — :class:`cstoolkit.DCTBasis`;
(d) a learned dictionary — a :mod:`cstoolkit.learners` dictionary (online learning with an OMP
    coder) fitted on held-out rows (the rows of (b) and (d) never include the test vectors).

Real embedding vectors are not sparse in any of these bases, so the reference line of (b)–(d)
is the best K-term approximation error of x in that basis (for the overcomplete dictionary: a
K-atom OMP fit of x itself, with no compression). K-sparse solvers (greedy) cannot go below
it; ℓ1 solvers are not limited to K terms and can.

Solver parameters (in ``SOLVER_RULES``/``OVERRIDES`` below): greedy methods get the sparsity
budget k = min(K, ⌊m/2⌋) (OMP on more than m/2 atoms mostly fits noise); ℓ1-penalised ones
λ = ``lam_rel``·‖(ΦΨ)ᵀy‖∞ per signal; BPDN ε = ``eps_rel``·‖y‖; basis pursuit fits y exactly.
Slow solvers (cvxpy and the other one-program-per-signal ones) run on a small subsample.

    python -m experiments.embedding_recovery [--quick] [--matrix smollm2] [--solvers omp,lasso]

References: Candès, Romberg & Tao, CPAM 59 (2006); Donoho, IEEE Trans. Inf. Theory 52 (2006);
Cohen, Dahmen & DeVore, "Compressed sensing and best k-term approximation", JAMS 22 (2009).
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.experiment import cell_key, cell_seed, write_csv, write_json
from experiments import _common

logger = logging.getLogger(__name__)

NAME = "embedding_recovery"
SEED = 20240604
BASES = ("identity", "pca", "dct", "learned")
BASIS_TITLES = {
    "identity": "(a) identity, x hard-thresholded to K terms\n(error relative to the K-sparse target x_K)",
    "pca": "(b) PCA basis of held-out rows",
    "dct": "(c) DCT basis",
    "learned": "(d) learned dictionary (held-out rows)",
}

# Default sizes: ~5 min on 2 idle cores. n_signals vectors per cell for fast solvers;
# the solvers in SLOW run on n_signals_slow vectors at slow_ratios only.
FULL = dict(
    matrix="minilm", n_signals=96, n_signals_slow=4, n_heldout=4000,
    ratios=[0.1, 0.175, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0], slow_ratios=[0.25, 0.5, 1.0],
    k=32, greedy_max_rho=0.5, lam_rel=0.05, eps_rel=0.05,
    dict_learner="online", dict_atoms=768, dict_params=dict(batch_size=256, max_iter=2), skip=[],
)
# CI: three m values, a small sample, a small dictionary; slow solvers only at m = n.
QUICK = dict(
    FULL, n_signals=24, n_heldout=800, ratios=[0.25, 0.5, 1.0],
    n_signals_slow=2, slow_ratios=[1.0], dict_atoms=128, dict_params=dict(batch_size=128, max_iter=1),
    # the cvxpy references cost ~2 s per cell in compile overhead alone; bp-lp/admm-* solve the same problems
    skip=["bp", "bpdn"],
)
# Hidden ``--matrix synthetic``: a small compressible matrix so tests exercise the code
# without the model packages (n = 64, K = 8).
SYNTHETIC = dict(n_rows=1500, n=64, decay=1.0)
SYNTHETIC_OVERRIDES = dict(k=8, dict_atoms=96)

# One convex program (or LP) per signal, thousands of iterations, or a long homotopy path on
# these non-sparse vectors (2–10 s per cell of 8 vectors at n = 384): subsampled. bp, bp-lp and
# admm-bp solve the same problem (as do bpdn/admm-bpdn, and every lasso-kind solver).
# IRLS and reweighted ℓ1 solve a weighted least-squares / ℓ1 problem per signal per outer
# iteration (IRLS: up to 160 s per cell of 96 vectors at n = 384).
# block-omp: 20 s on the quick configuration's 12 cells.
# bp-homotopy (compiled) is fast on sparse signals, but these vectors are not sparse: its path has
# ~m breakpoints per vector (≈6 s per cell of 96 vectors at m = 288).
SLOW = ("bp", "bpdn", "bp-lp", "bp-homotopy", "admm-bp", "admm-bpdn", "admm-lasso", "homotopy", "irls",
        "reweighted-l1", "block-omp")
# Not run by default (select with --solvers). Empty: every registered solver is tried.
SKIP: tuple = ()
# Per-solver settings on top of SOLVER_RULES (iteration caps sized for the time budget).
OVERRIDES = {
    "omp": dict(),
    "mp": dict(max_iter=2000, tol=1e-8),
    "ista": dict(max_iter=500, tol=1e-6),
    "fista": dict(max_iter=500, tol=1e-7),
    "lasso": dict(max_iter=2000, tol=1e-8),
    "amp": dict(max_iter=300, tol=1e-7),
    "iht": dict(max_iter=300),
    "niht": dict(max_iter=300),
    "htp": dict(max_iter=100),
    "cosamp": dict(max_iter=100),
    "sp": dict(max_iter=100),
    "admm-lasso": dict(max_iter=2000),
    "admm-bp": dict(max_iter=2000),
    "admm-bpdn": dict(max_iter=2000),
    "irls": dict(max_iter=100),
    "group-lasso": dict(max_iter=1000),
}


def solver_params(name: str, k: int, cfg: dict) -> dict:
    """Parameters of solver ``name`` for one cell, by its ``objective_kind`` (see module doc).

    Greedy: ``n_nonzero_coefs = k`` when accepted; ℓ1-penalised: ``lam = lam_rel`` relative to
    λ_max; BPDN: ``epsilon_rel`` (converted to ε = eps_rel·median‖y‖ in :func:`compute`);
    then ``OVERRIDES[name]``. Parameters the solver does not take are dropped.
    """
    cls = cs.get_recoverer_class(name)
    valid = set(cls._param_names())
    kind = cls.objective_kind
    p: dict = {}
    if kind == "greedy":
        p["n_nonzero_coefs"] = int(k)
    elif kind == "lasso":
        p.update(lam=cfg["lam_rel"], lam_scale="relative")
    elif kind == "bpdn":
        p["epsilon_rel"] = cfg["eps_rel"]
    p.update(OVERRIDES.get(name, {}))
    return {q: v for q, v in p.items() if q in valid or q == "epsilon_rel"}


def greedy_k(m: int, cfg: dict) -> int:
    """Sparsity budget of greedy solvers: min(K, ⌊ρ_max·m⌋), at least 1."""
    return max(1, min(int(cfg["k"]), int(cfg["greedy_max_rho"] * m)))


# --------------------------------------------------------------------------------------------
# data and bases (computed once per configuration, stored next to the cell cache)
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def load_matrix(name: str):
    """Rows of the embedding matrix ``(N, n)`` as float64, and a mask of usable rows.

    Special tokens (``[PAD]``, ``[unused17]``, ...) are excluded from sampling: they are
    untrained or reserved rows, not token vectors. ``"synthetic"`` is a seeded matrix whose
    rows are compressible in a random orthonormal basis Q (coefficient j ~ N(0, j^(-2·decay))).
    """
    if name == "synthetic":
        rng = np.random.default_rng(SEED)
        N, n, decay = SYNTHETIC["n_rows"], SYNTHETIC["n"], SYNTHETIC["decay"]
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        # Gaussian coefficients with power-law standard deviations: compressible rows and a
        # decaying spectrum, as in embedding matrices but with a known basis Q
        C = rng.standard_normal((N, n)) * np.arange(1, n + 1, dtype=float) ** -decay
        return C @ Q.T, np.ones(N, dtype=bool)
    emb = cs.load_embeddings(name)
    X = np.asarray(emb, dtype=np.float64)
    usable = np.ones(X.shape[0], dtype=bool)
    if emb.tokens is not None:
        usable = np.array([not (t.startswith("[") and t.endswith("]")) and not (t.startswith("<") and t.endswith(">"))
                           for t in emb.tokens])
    usable &= np.linalg.norm(X, axis=1) > 0
    return X, usable


def effective_config(cfg: dict) -> dict:
    """The configuration with the synthetic-matrix overrides applied when it is selected."""
    return {**cfg, **SYNTHETIC_OVERRIDES} if cfg["matrix"] == "synthetic" else dict(cfg)


def _setup_spec(cfg: dict) -> dict:
    keys = ("matrix", "n_signals", "n_heldout", "k", "dict_learner", "dict_atoms", "dict_params")
    return {"seed": SEED, **{k: cfg[k] for k in keys}}


def _fit_dictionary(H: np.ndarray, cfg: dict):
    """Learn ``dict_atoms`` unit-norm atoms on the held-out rows ``H``; returns (D (n, p), label)."""
    if cfg["dict_learner"] in cs.available_learners():
        learner = cs.make_learner(cfg["dict_learner"], n_atoms=cfg["dict_atoms"],
                                  coder=cs.OMP(n_nonzero_coefs=cfg["k"]), random_state=SEED, **cfg["dict_params"])
        learner.fit(H)
        return np.asarray(learner.as_basis(), dtype=np.float64), f"cstoolkit {cfg['dict_learner']} + OMP(k={cfg['k']})"
    # Fallback when cstoolkit has no learner of that name: scikit-learn's online learner.
    from sklearn.decomposition import MiniBatchDictionaryLearning

    logger.warning("no cstoolkit learner %r: falling back to sklearn MiniBatchDictionaryLearning", cfg["dict_learner"])
    mb = MiniBatchDictionaryLearning(n_components=cfg["dict_atoms"], batch_size=256, max_iter=2,
                                     transform_algorithm="omp", random_state=SEED).fit(H)
    D = mb.components_.T
    return D / np.linalg.norm(D, axis=0), "sklearn MiniBatchDictionaryLearning"


def kterm_floor(T: np.ndarray, basis: str, k: int, Psi) -> np.ndarray:
    """Per-signal best k-term relative error of the columns of ``T`` (n, B) in ``basis``.

    Orthonormal bases: exact, from the k largest analysis coefficients (the tail energy).
    Overcomplete dictionary: a k-atom OMP fit of x itself (the best k-term error is NP-hard;
    OMP is the standard upper estimate).
    """
    if basis == "learned":
        S = cs.OMP(n_nonzero_coefs=k).recover(Psi, T).coef
        return cs.metrics.relative_error(T, Psi @ S)
    C = T if basis == "identity" else (Psi.T @ T if basis == "pca" else cs.DCTBasis(T.shape[0]).rmatmat(T))
    Ck = cs.sparsify.keep_largest(C.T, k, axis=1).toarray().T
    return cs.metrics.relative_error(C, Ck)


def prepare(cfg: dict, cache: Path) -> Path:
    """Sample test rows, fit the held-out bases and the floors once; cached as an ``.npz``."""
    spec = _setup_spec(cfg)
    path = Path(cache) / f"setup-{cell_key(spec)}.npz"
    if path.exists():
        return path
    X, usable = load_matrix(cfg["matrix"])
    rng = np.random.default_rng(SEED)
    rows = rng.permutation(np.flatnonzero(usable))
    need = cfg["n_signals"] + cfg["n_heldout"]
    if rows.size < need:
        raise ValueError(f"{cfg['matrix']} has {rows.size} usable rows; need n_signals + n_heldout = {need}.")
    test_idx, held_idx = rows[: cfg["n_signals"]], rows[cfg["n_signals"]: need]
    H = X[held_idx]
    t0 = time.perf_counter()
    pca = np.linalg.svd(H, full_matrices=False)[2].T  # (n, n) orthonormal, uncentred
    D, dict_label = _fit_dictionary(H, cfg)
    fit_seconds = time.perf_counter() - t0
    T = X[test_idx].T
    floors = {b: kterm_floor(T, b, cfg["k"], {"pca": pca, "learned": D}.get(b)) for b in BASES}
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, test_idx=test_idx, pca=pca, learned=D, dict_label=dict_label, fit_seconds=fit_seconds,
             **{f"floor_{b}": v for b, v in floors.items()})
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=4)
def _load_setup(path: str) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# --------------------------------------------------------------------------------------------
# one cell: one solver, one basis, one m
# --------------------------------------------------------------------------------------------
def make_cells(cfg: dict, solvers, bases=BASES) -> list[dict]:
    n = load_matrix(cfg["matrix"])[0].shape[1]
    cells = []
    for ratio in sorted(set(cfg["ratios"]) | set(cfg["slow_ratios"])):
        m = int(round(ratio * n))
        # the seed ignores solver and basis: every solver sees the same Φ at a given m
        phi_seed = cell_seed(dict(matrix=cfg["matrix"], n=n, m=m), SEED)
        for basis in bases:
            for s in solvers:
                if ratio not in (cfg["slow_ratios"] if s in SLOW else cfg["ratios"]):
                    continue
                ns = cfg["n_signals_slow"] if s in SLOW else cfg["n_signals"]
                cells.append(dict(matrix=cfg["matrix"], n=n, m=m, basis=basis, solver=s, k=cfg["k"],
                                  n_signals=min(ns, cfg["n_signals"]), phi_seed=phi_seed,
                                  params=solver_params(s, greedy_k(m, cfg), cfg), setup=cell_key(_setup_spec(cfg))))
    return cells


def _quartiles(v) -> dict:
    v = np.asarray(v, dtype=float)
    if not v.size:
        return dict(q25=np.nan, median=np.nan, q75=np.nan)
    if np.isinf(v).any():
        # diverged signals count as infinitely wrong: quartiles are order statistics then (no
        # interpolation with ∞), finite while fewer than a quarter/half/three quarters diverged
        q25, q50, q75 = np.quantile(v, [0.25, 0.5, 0.75], method="inverted_cdf")
    else:
        q25, q50, q75 = np.nanpercentile(v, [25, 50, 75])
    return dict(q25=q25, median=q50, q75=q75)


def compute(cell: dict, setup_path: str) -> dict:
    """Measure the cell's sample with its Φ, recover in its basis with one batched call."""
    setup = _load_setup(str(setup_path))
    X, _ = load_matrix(cell["matrix"])
    n, m, k, B = cell["n"], cell["m"], cell["k"], cell["n_signals"]
    T = X[setup["test_idx"][:B]].T  # (n, B) real vectors
    basis = cell["basis"]
    target = cs.sparsify.keep_largest(T.T, k, axis=1).toarray().T if basis == "identity" else T
    Psi = {"identity": None, "pca": setup["pca"], "dct": cs.DCTBasis(n), "learned": setup["learned"]}[basis]
    Phi = cs.ensembles.gaussian(m, n, random_state=cell["phi_seed"])
    Y = Phi @ target
    params = dict(cell["params"])
    if "epsilon_rel" in params:
        params["epsilon"] = params.pop("epsilon_rel") * float(np.median(np.linalg.norm(Y, axis=0)))
    floor = setup[f"floor_{basis}"][:B]
    fq = _quartiles(floor)
    common = dict(ratio=m / n, floor_q25=fq["q25"], floor_median=fq["median"], floor_q75=fq["q75"])
    t0 = time.perf_counter()
    try:
        # solvers that assume an incoherent Gaussian matrix may diverge on ΦΨ: that is a result
        with np.errstate(all="ignore"):
            res = cs.make_recoverer(cell["solver"], **params).recover(Phi, Y, basis=Psi)
    except Exception as exc:  # one failing solver must not sink the figure; recorded and logged
        logger.warning("%s failed on %s m=%d: %s", cell["solver"], basis, m, exc)
        return dict(ok=False, error_msg=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0,
                    **{f"err_{q}": np.nan for q in ("q25", "median", "q75")}, errors=[], err_x_median=np.nan,
                    nnz_median=np.nan, n_iter=0, stop_reason="error", **common)
    sec = time.perf_counter() - t0
    xh = np.asarray(res.x).real
    with np.errstate(all="ignore"):
        err = cs.metrics.relative_error(target, xh)
        err_x = cs.metrics.relative_error(T, xh)
    # a diverged signal comes back as NaN (Recoverer divergence guard): it is a failure, not a
    # missing value
    err, err_x = np.where(np.isnan(err), np.inf, err), np.where(np.isnan(err_x), np.inf, err_x)
    n_div = int(np.count_nonzero(np.isnan(xh).any(axis=0)))
    coef = np.asarray(res.coef)
    nnz = np.count_nonzero(np.abs(coef) > 1e-10 * np.abs(coef).max(axis=0, initial=0), axis=0)
    return dict(
        ok=True, error_msg="", seconds=sec, n_iter=int(np.max(res.n_iter)), stop_reason=res.stop_reason, n_diverged=n_div,
        **{f"err_{q}": v for q, v in _quartiles(err).items()},
        err_x_median=float(np.median(err_x)), nnz_median=float(np.median(nnz)),
        errors=err.tolist(), **common,
    )


# --------------------------------------------------------------------------------------------
# drawing (cached numbers only)
# --------------------------------------------------------------------------------------------
def _style(solver: str):
    cls = cs.get_recoverer_class(solver) if solver in cs.available_recoverers() else None
    kind = getattr(cls, "objective_kind", "greedy")
    return {"greedy": "-", "lasso": "--", "bp": ":", "bpdn": "-."}.get(kind, "-")


def draw(rows: list[dict], out: Path, meta: dict | None = None) -> None:
    """Four panels (one per basis): median error with IQR band per solver, and the K-term floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    meta = meta or {}
    rows = [r for r in rows if r.get("ok", True) in (True, 1.0, "True")]
    solvers = sorted({r["solver"] for r in rows})
    cmap = plt.get_cmap("tab20")
    colors = {s: cmap(i % 20) for i, s in enumerate(solvers)}
    bases = [b for b in BASES if any(r["basis"] == b for r in rows)]
    diverged = {s: sum(r["solver"] == s and r.get("stop_reason") == "diverged" for r in rows) for s in solvers}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5), sharex=True)
    ylo = 1e-3
    for ax, b in zip(axes.ravel(), bases):
        br = [r for r in rows if r["basis"] == b]
        for s in solvers:
            sr = sorted((r for r in br if r["solver"] == s), key=lambda r: r["m"])
            # diverged signals count as infinite errors: a point whose median is infinite (half
            # the signals or more diverged) is left out of the curve; the label counts the cells
            sr = [r for r in sr if np.isfinite(r["err_median"])]
            n_div = diverged[s]
            if not sr:
                continue
            x = np.array([r["m"] / r["n"] for r in sr])
            bottom = ylo if b == "identity" else 0.2
            med = np.clip([r["err_median"] for r in sr], bottom, None)
            lo = np.clip([r["err_q25"] for r in sr], bottom, None)
            hi = np.clip([r["err_q75"] for r in sr], bottom, None)
            label = s + (f" (B={int(sr[0]['n_signals'])})" if s in SLOW else "") + (f" [diverged: {n_div} cells]" if n_div else "")
            ax.plot(x, med, _style(s), color=colors[s], lw=1.4, marker=".", ms=5, label=label)
            ax.fill_between(x, lo, hi, color=colors[s], alpha=0.08, lw=0)
        fl = [r for r in br if np.isfinite(r.get("floor_median", np.nan))]
        if fl:
            # the floor of the full sample (the cells of fast solvers)
            big = max(fl, key=lambda r: r["n_signals"])
            if b == "identity":
                ax.text(0.98, 0.97, f"x_K is {big['floor_median']:.2f} (median) from x:\n"
                        f"‖x − x_K‖/‖x‖, K = {int(big['k'])}", transform=ax.transAxes, ha="right", va="top",
                        fontsize=8, bbox=dict(fc="white", ec="0.7"))
            else:
                ax.axhline(big["floor_median"], color="k", lw=2.2, ls=(0, (6, 3)), zorder=5,
                           label=f"best K-term error (K = {int(big['k'])})")
                ax.axhspan(big["floor_q25"], big["floor_q75"], color="k", alpha=0.08, lw=0)
                ax.text(0.02, big["floor_median"] * 1.06, f"K-term floor {big['floor_median']:.2f}",
                        fontsize=8, transform=ax.get_yaxis_transform())
        ax.set_yscale("log")
        # (a) spans exact recovery; (b)–(d) live between ~0.3 and ~1.5, so zoom there
        ax.set_ylim((ylo * 0.9, 3) if b == "identity" else (0.2, 3))
        if b != "identity":
            ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_title(BASIS_TITLES[b], fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.set_ylabel("relative error (median, IQR band)")
    for ax in axes[-1]:
        ax.set_xlabel("m / n (measurements per dimension)")
    handles = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles.keys()), loc="center right", fontsize=8, frameon=False,
               title="solver", title_fontsize=9)
    r0 = rows[0]
    fig.suptitle(f"Compressive measurement of {r0['matrix']} token vectors (n = {int(r0['n'])}, Gaussian Φ, "
                 f"B = {meta.get('n_signals', int(max(r['n_signals'] for r in rows)))} vectors per point); "
                 f"values outside the axes drawn at the edges\n"
                 f"solid: greedy (k = min(K, m/2)); dashed: Lasso-type (λ = {meta.get('lam_rel', 0.05):g}·λ_max); "
                 f"dotted: basis pursuit; dash-dot: BPDN", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.83, 0.95))
    _common.save_figure(fig, out, NAME)


# --------------------------------------------------------------------------------------------
# script
# --------------------------------------------------------------------------------------------
CSV_COLUMNS = ["matrix", "basis", "solver", "n", "m", "ratio", "k", "n_signals", "err_q25", "err_median", "err_q75",
               "err_x_median", "floor_q25", "floor_median", "floor_q75", "nnz_median", "n_iter", "stop_reason", "n_diverged",
               "seconds", "ok", "error_msg", "phi_seed"]


def environment() -> dict:
    """Versions and machine facts recorded next to the numbers."""
    import scipy
    import sklearn

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_common.ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except Exception:  # pragma: no cover - git missing
        commit = ""
    return dict(python=sys.version.split()[0], numpy=np.__version__, scipy=scipy.__version__,
                sklearn=sklearn.__version__, cstoolkit=cs.__version__, platform=platform.platform(),
                cpu_count=os.cpu_count(), git_commit=commit)


def summary(rows: list[dict], ratios=(0.25, 0.5, 1.0)) -> list[dict]:
    """Median error per (basis, solver) at the given m/n, with the floor (for the report)."""
    out = []
    for r in rows:
        if any(abs(r["m"] / r["n"] - q) < 0.02 for q in ratios):
            out.append({k: r[k] for k in ("basis", "solver", "m", "err_median", "floor_median", "seconds")})
    return out


def main(argv=None):
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--matrix", default="minilm", help="built-in embedding matrix: minilm (default) or smollm2")
    p.add_argument("--solvers", default=None, help="comma-separated registry names (default: every registered one)")
    p.add_argument("--bases", default=",".join(BASES), help=f"comma-separated subset of {', '.join(BASES)}")
    args = p.parse_args(argv)
    cfg = effective_config({**(QUICK if args.quick else FULL), "matrix": args.matrix})
    if args.solvers is None:
        skip = set(SKIP) | set(cfg["skip"])
        solvers = [s for s in cs.available_recoverers() if s not in skip]
        for s in sorted(skip):
            logger.info("skipping %s (too slow for this configuration; select it with --solvers)", s)
    else:
        solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
        for s in solvers:
            cs.get_recoverer_class(s)  # unknown names fail here with suggestions
    for s in solvers:
        if s in SLOW:
            logger.info("%s: one program per signal, run on a subsample of %d vectors", s, cfg["n_signals_slow"])
    bases = [b.strip() for b in args.bases.split(",") if b.strip()]
    bad = sorted(set(bases) - set(BASES))
    if bad:
        p.error(f"unknown bases {bad}; choose from {', '.join(BASES)}")
    cache = _common.cache_dir(args, NAME + ("" if args.matrix == "minilm" else "-" + args.matrix), args.quick)
    with _common.Timer() as tm:
        with _common.Timer() as tp:
            setup_path = prepare(cfg, cache)
        cells = make_cells(cfg, solvers, bases)
        rows, grid_seconds = _common.run_cells(args, NAME, cells, functools.partial(compute, setup_path=str(setup_path)),
                                               cache)
    setup = _load_setup(str(setup_path))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", rows, CSV_COLUMNS)
    per_solver = {s: float(sum(r["seconds"] for r in rows if r["solver"] == s)) for s in solvers}
    failed = sorted({(r["solver"], r["error_msg"]) for r in rows if not r["ok"]})
    meta = dict(n_signals=cfg["n_signals"], lam_rel=cfg["lam_rel"])
    write_json(out / f"{NAME}.json", dict(
        config={**cfg, "quick": args.quick, "seed": SEED, "solvers": solvers, "bases": bases, "slow": list(SLOW),
                "overrides": OVERRIDES, "synthetic": SYNTHETIC if cfg["matrix"] == "synthetic" else None},
        dictionary=str(setup["dict_label"]), dictionary_fit_seconds=float(setup["fit_seconds"]),
        # the compute time of the numbers (dictionary fit + the runs that computed the cells), kept on a cached rerun
        wall_seconds=float(setup["fit_seconds"]) + grid_seconds, n_cells=len(cells),
        cell_seconds_total=float(sum(r["seconds"] for r in rows)), setup_seconds=tp.seconds, solver_seconds=per_solver,
        failed=[dict(solver=s, error=e) for s, e in failed], summary=summary(rows), environment=environment(),
        **_common.run_record(args)))
    draw(rows, out, meta)
    return dict(rows=rows, wall_seconds=tm.seconds, cache=cache, setup=setup_path)


if __name__ == "__main__":
    _common.setup_logging()
    # run through the importable module so joblib workers unpickle compute() by reference
    from experiments import embedding_recovery as _mod

    res = _mod.main()
    for s in _mod.summary(res["rows"]):
        e, f = (float("nan") if v is None else v for v in (s["err_median"], s["floor_median"]))
        print(f"{s['basis']:>8s} {s['solver']:>10s} m={s['m']:3d}  median error {e:.3g}"
              f"  (K-term floor {f:.3f})  {s['seconds']:.2f}s")
    print(f"wall time {res['wall_seconds']:.1f} s")
