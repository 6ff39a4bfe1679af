"""Donoho–Tanner phase diagram: ℓ1 against the theoretical curve ρ(δ), and every registered solver.

Gaussian A (m×n, N(0, 1/m)), k-sparse x with N(0, 1) non-zeros on a uniform support,
δ = m/n, ρ = k/m. Success: ‖x − x̂‖² < 1e-4‖x‖² (Maleki–Donoho). Per solver and δ the 50%
crossing is the logistic-regression fit of the success indicators against ρ (SparseLab).
The ℓ1 reference is exact basis pursuit by the Lasso homotopy (:func:`cstoolkit.phase.bp_homotopy`,
checked against HiGHS in tests/test_phase.py). Each cell is one ``recover`` call with all
trials as columns (one A per cell; cells are independent draws).

    python -m experiments.phase_transition [--quick] [--solvers l1,omp,amp] [--n-jobs 2]

References: Donoho & Tanner, Phil. Trans. R. Soc. A 367 (2009); Maleki & Donoho, IEEE JSTSP 4
(2010); Donoho, Maleki & Montanari, PNAS 106 (2009).
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np

import cstoolkit as cs
from cstoolkit import phase
from cstoolkit.experiment import cell_seed, write_csv, write_json
from cstoolkit.theory import rho_l1
from experiments import _common

NAME = "phase_transition"
L1 = "l1"  # the exact ℓ1 reference (homotopy basis pursuit)
# Excluded from the default solver list (select them with --solvers): the cvxpy programs solve
# the same ℓ1 problem as the reference at ~100 ms per signal (HiGHS "bp-lp": ~150 ms); ADMM needs thousands of
# iterations per cell and ISTA tens of thousands — each would take longer than the whole
# diagram.
# "bp-homotopy" is the ℓ1 reference itself.
EXCLUDE = ("bp", "bpdn", "bp-lp", "bp-homotopy", "admm-bp", "admm-bpdn", "admm-lasso", "ista")
# Iteration caps for iterative solvers (Maleki–Donoho style fixed budgets), over each solver's
# own noiseless settings (Recoverer._conformance_params).
OVERRIDES = {
    "fista": dict(max_iter=500, tol=1e-9, check_every=50),
    "amp": dict(max_iter=300, tol=1e-10),
    "iht": dict(max_iter=300),
    "niht": dict(max_iter=300),
    "mp": dict(max_iter=1000, tol=1e-6),
    "lasso": dict(max_iter=500, tol=1e-10),
}
SEED = 20090101
# Solvers that recover beyond the ℓ1 curve: their ρ grid extends further (``beyond_above``), so
# that their own 50% crossing is inside it.
BEYOND_L1 = ("irls", "reweighted-l1", "sl0")

# Sized to finish in ~10 min on 2 busy cores: four δ columns, ρ only where transitions are.
FULL = dict(n=200, trials=40, deltas=[0.1, 0.25, 0.5, 0.75],
            # ℓ1: a band of ±0.12 around ρ(δ); other solvers: from 0.05 up to ρ(δ)+0.05
            l1_band=0.12, l1_step=0.04, other_lo=0.05, other_step=0.05, other_above=0.05,
            beyond_above=0.35, amplitude="gaussian")
# CI: the two δ columns of the reproduction test, a ρ grid near the curve, ℓ1 only
QUICK = dict(n=200, trials=40, deltas=[0.25, 0.5], l1_band=0.08, l1_step=0.04,
             other_lo=0.1, other_step=0.06, other_above=0.04, beyond_above=0.2, amplitude="gaussian")


def _ks(m, rhos):
    return sorted({int(round(r * m)) for r in rhos if 1 <= round(r * m) <= m})


def make_cells(cfg, solvers):
    cells = []
    for d in cfg["deltas"]:
        m = int(round(d * cfg["n"]))
        r0 = float(rho_l1(d))
        for s in solvers:
            if s == L1:
                rhos = np.arange(r0 - cfg["l1_band"], r0 + cfg["l1_band"] + 1e-9, cfg["l1_step"])
            else:
                above = cfg["beyond_above"] if s in BEYOND_L1 else cfg["other_above"]
                rhos = np.arange(cfg["other_lo"], min(r0 + above, 0.95) + 1e-9, cfg["other_step"])
            for k in _ks(m, rhos):
                base = dict(n=cfg["n"], m=m, k=k, trials=cfg["trials"], amplitude=cfg["amplitude"])
                # the seed ignores the solver: every solver sees the same problems
                cells.append(dict(solver=s, seed=cell_seed(base, SEED), **base))
    return cells


def compute(cell):
    """Success count of one solver on one (δ, ρ) cell: one recover call, trials as columns."""
    rng = np.random.default_rng(cell["seed"])
    n, m, k, B = cell["n"], cell["m"], cell["k"], cell["trials"]
    A = cs.ensembles.gaussian(m, n, random_state=rng)
    X = cs.signals.sparse_signals(n, k, B, amplitude=cell["amplitude"], random_state=rng)
    Y = A @ X
    t0 = time.perf_counter()
    if cell["solver"] == L1:
        Xh = phase.bp_homotopy(A, Y)
    else:
        Xh = phase.phase_recoverer(cell["solver"], k, OVERRIDES.get(cell["solver"])).recover(A, Y).x
    sec = time.perf_counter() - t0
    ok = phase.phase_success(X, Xh)
    return dict(delta=m / n, rho=k / m, successes=int(ok.sum()), seconds=sec)


def crossings(rows):
    cr = phase.crossings_by_group(rows, group=("solver", "delta"), x="rho")
    for c in cr:
        c["rho_theory"] = float(rho_l1(c["delta"]))
    return sorted(cr, key=lambda c: (c["solver"], c["delta"]))


def draw(rows, cross, out, title_extra=""):
    """Two panels from cached numbers only: ℓ1 success map with ρ(δ); 50% crossings per solver."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    dgrid = np.linspace(0.02, 0.98, 200)
    l1 = [r for r in rows if r["solver"] == L1]
    if l1:
        sc = ax1.scatter([r["delta"] for r in l1], [r["rho"] for r in l1],
                         c=[r["successes"] / r["trials"] for r in l1], cmap="RdYlGn", vmin=0, vmax=1,
                         marker="s", s=60, edgecolors="none")
        fig.colorbar(sc, ax=ax1, label="fraction recovered (ℓ1)")
    ax1.plot(dgrid, rho_l1(dgrid), "k-", lw=1.5, label="theory ρ(δ) (Donoho–Tanner)")
    c1 = [c for c in cross if c["solver"] == L1]
    ax1.plot([c["delta"] for c in c1], [c["rho_cross"] for c in c1], "bo", mfc="none", ms=8,
             label="ℓ1 50% crossing (logistic fit)")
    ax1.set(xlabel="δ = m/n", ylabel="ρ = k/m", xlim=(0, 1), ylim=(0, 1),
            title=f"ℓ1 (exact BP) success, n = {rows[0]['n']}, {rows[0]['trials']} trials/cell")
    ax1.legend(loc="upper left", fontsize=8)
    ax2.plot(dgrid, rho_l1(dgrid), "k-", lw=2, label="ℓ1 theory")
    solvers = sorted({c["solver"] for c in cross}, key=lambda s: (s != L1, s))
    cmap = plt.get_cmap("tab20")
    for i, s in enumerate(solvers):
        cs_ = [c for c in cross if c["solver"] == s and np.isfinite(c["rho_cross"])]
        if cs_:
            cap = OVERRIDES.get(s, {}).get("max_iter")
            ax2.plot([c["delta"] for c in cs_], [c["rho_cross"] for c in cs_], "o-" if s == L1 else ".-",
                     color="k" if s == L1 else cmap(i % 20), lw=1.2, ms=6,
                     label="ℓ1 (exact BP)" if s == L1 else (f"{s} (≤{cap} it.)" if cap else s))
    ax2.set(xlabel="δ = m/n", ylabel="ρ at 50% success", xlim=(0, 1), ylim=(0, 1),
            title="50% crossings per solver" + title_extra)
    ax2.legend(fontsize=7, ncol=2, loc="upper left")
    for a in (ax1, ax2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def main(argv=None):
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--solvers", default=None,
                   help=f"comma-separated registry names plus '{L1}' (default: quick → l1; full → "
                        f"l1 and every registered solver except {', '.join(EXCLUDE)}; 'all' → every one)")
    args = p.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.solvers is None:
        solvers = [L1] if args.quick else [L1] + [s for s in cs.available_recoverers() if s not in EXCLUDE]
    elif args.solvers == "all":
        solvers = [L1] + cs.available_recoverers()
    else:
        solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
        for s in solvers:
            if s != L1:
                cs.get_recoverer_class(s)  # unknown names fail here with suggestions
    cells = make_cells(cfg, solvers)
    rows, seconds = _common.run_cells(args, NAME, cells, compute)
    cross = crossings(rows)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", rows, ["solver", "n", "m", "k", "delta", "rho", "trials", "successes", "seconds", "seed"])
    per_solver = {s: float(sum(r["seconds"] for r in rows if r["solver"] == s)) for s in solvers}
    write_json(out / f"{NAME}.json", dict(config={**cfg, "quick": args.quick, "solvers": solvers,
                                                  "overrides": OVERRIDES, "seed": SEED},
                                          crossings=cross, wall_seconds=seconds,
                                          solver_seconds=per_solver, **_common.run_record(args)))
    draw(rows, cross, out)
    return dict(rows=rows, crossings=cross, wall_seconds=seconds)


if __name__ == "__main__":
    _common.setup_logging()
    res = main()
    for c in res["crossings"]:
        print(f"{c['solver']:>8s} δ={c['delta']:.2f}  ρ50={c['rho_cross']:.3f}  theory={c['rho_theory']:.3f}")
    print(f"wall time {res['wall_seconds']:.1f} s")
