"""Donoho–Tanner phase diagram: a dense ℓ1 map against the theoretical curve ρ(δ), and every solver's 50 % crossing.

Gaussian A (m×n, N(0, 1/m)), k-sparse x with N(0, 1) non-zeros on a uniform support,
δ = m/n, ρ = k/m. Success: ‖x − x̂‖² < 1e-4‖x‖² (Maleki–Donoho). Two computations:

* **the ℓ1 map** — a dense δ×ρ grid (``grid`` × ``grid`` cells, nominal δ = i/grid, ρ = (j − ½)/grid,
  k = max(1, round(ρm)), ``trials`` per cell) solved by exact basis pursuit (the compiled
  ``bp-homotopy`` solver, checked against HiGHS in tests/test_phase.py), with ρ(δ) of
  :func:`cstoolkit.theory.rho_l1` overlaid;
* **per-solver crossings** at the δ of ``deltas`` — coarse to fine: a first pass of ρ cells
  ``coarse_step`` apart, then ``fine`` cells around the logistic 50 % crossing of the first pass
  (SparseLab's logistic regression on the success indicators, :func:`cstoolkit.phase.crossings_by_group`).
  Every solver runs with the noiseless settings it declares in its class
  (``study_settings.phase``, :class:`cstoolkit.studies.StudySettings`: its own tolerance and
  iteration budget) — not a shared small cap, and never the conformance suite's hints. Which
  solvers run by default is declared there too (``studies``). A crossing is *budget-limited*
  when a cell with at least half its trials recovered still stopped at the solver's
  ``max_iter``, or when the solver declares ``budget_limited`` (the Maleki–Donoho presets,
  whose fixed budgets are part of the algorithm, and FISTA's affordable cap); those are drawn
  apart in panel (c). Solvers declaring ``family="beyond-l1"`` get a coarse ρ grid that
  extends further.

    python -m experiments.phase_transition [--quick] [--solvers l1,omp,amp] [--n-jobs 2]

References: Donoho & Tanner, Phil. Trans. R. Soc. A 367 (2009); Maleki & Donoho, IEEE JSTSP 4
(2010); Donoho, Maleki & Montanari, PNAS 106 (2009).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit import phase
from cstoolkit.experiment import cell_seed, read_csv, write_csv, write_json
from cstoolkit.studies import settings_of, solvers_in
from cstoolkit.theory import rho_l1
from experiments import _common, _plotting

logger = logging.getLogger(__name__)

NAME = "phase_transition"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "Exact ℓ1 lands on the Donoho–Tanner curve at all 9 δ (50 % crossings within 0.020 of ρ(δ), n = 200);"
    " SL0 and reweighted ℓ1 recover beyond it, SP and StOMP sit on it for δ ≤ 0.6 and fall below for "
    "larger δ, CoSaMP, OMP, NIHT and IHT below."
)
L1 = "l1"  # the exact ℓ1 reference: basis pursuit by the compiled homotopy (registry name below)
L1_SOLVER = "bp-homotopy"
SEED = 20090101

# ~8 min on 2 busy cores (the ℓ1 map: about 1 min).
FULL = dict(n=200, trials=40, grid=24, deltas=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
            coarse_lo=0.05, coarse_step=0.1, coarse_above=0.2, beyond_above=0.4, fine=(-0.05, -0.02, 0.02, 0.05),
            amplitude="gaussian")
# CI: ℓ1 at the two δ of the reproduction test, and a coarse 8×8 map
QUICK = dict(FULL, grid=8, deltas=[0.25, 0.5])


def _ks(m, rhos):
    return sorted({int(round(r * m)) for r in rhos if 1 <= round(r * m) <= m})


def default_solvers(quick: bool = False) -> list[str]:
    """The ℓ1 reference, plus (full size) every registered solver that declares the phase study."""
    return [L1] if quick else [L1] + solvers_in("phase")


def _beyond_l1(solver) -> bool:
    return solver != L1 and settings_of(solver).family == "beyond-l1"


def _budget_limited(solver) -> bool:
    return solver != L1 and settings_of(solver).budget_limited


def _cell(solver, n, m, k, cfg, stage, **extra):
    base = dict(n=n, m=m, k=k, trials=cfg["trials"], amplitude=cfg["amplitude"], **extra)
    # the seed ignores the solver: every solver sees the same problems
    return dict(solver=solver, stage=stage, seed=cell_seed(base, SEED), **base)


def map_cells(cfg):
    """The dense ℓ1 map: nominal δ = i/grid (i = 1..grid), ρ = (j − ½)/grid (j = 1..grid)."""
    g, n = cfg["grid"], cfg["n"]
    cells = []
    for i in range(1, g + 1):
        m = int(round(i / g * n))
        for j in range(1, g + 1):
            k = max(1, int(round((j - 0.5) / g * m)))
            cells.append(_cell(L1, n, m, k, cfg, "map", cell_i=i, cell_j=j))
    return cells


def coarse_cells(cfg, solvers):
    cells = []
    for d in cfg["deltas"]:
        m = int(round(d * cfg["n"]))
        r0 = float(rho_l1(d))
        for s in solvers:
            above = cfg["beyond_above"] if _beyond_l1(s) else cfg["coarse_above"]
            rhos = np.arange(cfg["coarse_lo"], min(r0 + above, 0.95) + 1e-9, cfg["coarse_step"])
            cells += [_cell(s, cfg["n"], m, k, cfg, "crossing") for k in _ks(m, rhos)]
    return cells


def fine_cells(cfg, rows):
    """Cells around each (solver, δ) crossing of ``rows`` not already in them."""
    have = {(r["solver"], int(r["m"]), int(r["k"])) for r in rows}
    cells = []
    for c in crossings(rows):
        if not np.isfinite(c["rho_cross"]):
            continue
        m = int(round(c["delta"] * cfg["n"]))
        for k in _ks(m, [c["rho_cross"] + f for f in cfg["fine"]]):
            if (c["solver"], m, k) not in have:
                have.add((c["solver"], m, k))
                cells.append(_cell(c["solver"], cfg["n"], m, k, cfg, "crossing"))
    return cells


def compute(cell):
    """Success count of one solver on one (δ, ρ) cell: :func:`cstoolkit.phase.phase_trial`.

    The ℓ1 reference runs as ``bp-homotopy``; ``capped`` counts the trials whose run reached
    the solver's ``max_iter``.
    """
    return phase.phase_trial({**cell, "solver": L1_SOLVER} if cell["solver"] == L1 else cell)


def crossings(rows):
    """50 % crossing per (solver, δ) of the ``crossing``-stage cells, with ρ(δ) and the budget flag."""
    rows = [r for r in rows if r.get("stage", "crossing") == "crossing"]
    cr = phase.crossings_by_group(rows, group=("solver", "delta"), x="rho")
    for c in cr:
        c["rho_theory"] = float(rho_l1(c["delta"]))
        cells = [r for r in rows if r["solver"] == c["solver"] and r["delta"] == c["delta"]]
        # budget-limited: a mostly successful cell still ran into max_iter (more iterations could
        # have recovered more), or the budget is part of the algorithm
        c["budget_limited"] = bool(_budget_limited(c["solver"]) or any(
            float(r.get("capped") or 0) > 0 and r["successes"] >= 0.5 * r["trials"] for r in cells))
        c["max_iter"] = next((r.get("max_iter") for r in cells if r.get("max_iter") not in (None, "")), None)
    return sorted(cr, key=lambda c: (c["solver"], c["delta"]))


def _label(s, cr):
    if s == L1:
        return "ℓ1 (exact BP)"
    cap = next((c["max_iter"] for c in cr if c["max_iter"] is not None), None)
    return f"{s} (≤ {int(float(cap))} it.)" if cap is not None and any(c["budget_limited"] for c in cr) else s


def draw(rows, cross, out):
    """Three panels from cached numbers only.

    (a) ℓ1 success fraction on the dense δ×ρ map with ρ(δ) and the ℓ1 crossings; (b) 50 %
    crossings of the solvers that ran to their own stopping rule; (c) budget-limited runs.
    """
    plt = _plotting.setup()
    rows = _plotting.sorted_rows(rows, ("stage", "solver", "m", "k"))
    cross = _plotting.sorted_rows(cross, ("solver", "delta"))
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.6))
    dgrid = np.linspace(0.005, 1.0, 400)
    th = rho_l1(dgrid)
    ax1 = axes[0]
    mp = [r for r in rows if r.get("stage") == "map"]
    if mp:
        g = int(max(r["cell_i"] for r in mp))
        F = np.full((g, g), np.nan)
        for r in mp:
            F[int(r["cell_j"]) - 1, int(r["cell_i"]) - 1] = r["successes"] / r["trials"]
        edges = np.arange(g + 1) / g
        im = ax1.pcolormesh(edges + 0.5 / g, edges, F, cmap="gray", vmin=0, vmax=1, shading="flat")
        fig.colorbar(im, ax=ax1, label="fraction recovered (ℓ1)", pad=0.01)
        r0 = mp[0]
        ax1.set_title(f"(a) ℓ1 (exact BP), {g}×{g} cells, n = {int(r0['n'])}, {int(r0['trials'])} trials/cell",
                      fontsize=10)
    ax1.plot(dgrid, th, color="#D55E00", lw=2, label="theory ρ(δ) (Donoho–Tanner)")
    c1 = [c for c in cross if c["solver"] == L1 and np.isfinite(c["rho_cross"])]
    ax1.plot([c["delta"] for c in c1], [c["rho_cross"] for c in c1], "o", color="#56B4E9", mec="k", ms=7,
             label="ℓ1 50 % crossing (logistic fit)")
    ax1.set(xlabel="δ = m/n", ylabel="ρ = k/m", xlim=(0, 1), ylim=(0, 1))
    ax1.legend(loc="upper left", fontsize=8)
    groups = {False: [], True: []}
    for s in sorted({c["solver"] for c in cross}, key=lambda s: (s != L1, s)):
        cr = [c for c in cross if c["solver"] == s]
        groups[s != L1 and any(c["budget_limited"] for c in cr)].append(s)
    titles = {False: "(b) 50 % crossings, each solver to its own stopping rule",
              True: "(c) budget-limited runs (iteration cap reached or fixed by design)"}
    for ax, limited in ((axes[1], False), (axes[2], True)):
        ax.plot(dgrid, th, "k-", lw=2.2, alpha=0.5, label="ℓ1 theory ρ(δ)")
        for i, s in enumerate(groups[limited]):
            cr = [c for c in cross if c["solver"] == s]
            ok = [c for c in cr if np.isfinite(c["rho_cross"])]
            st = dict(color="k", ls="-", marker="o") if s == L1 else _plotting.style(i)
            mfc = "white" if limited else st["color"]
            ax.plot([c["delta"] for c in ok], [c["rho_cross"] for c in ok], color=st["color"], ls=st["ls"],
                    marker=st["marker"], mfc=mfc, ms=5, lw=1.2, label=_label(s, cr))
            # δ where the transition was not observed inside the sampled ρ range: marked, not dropped
            for c in cr:
                if not np.isfinite(c["rho_cross"]):
                    y, mk = (0.0, "v") if c["all_fail"] else (1.0, "^")
                    ax.plot([c["delta"]], [y], mk, color=st["color"], mfc="white", ms=6, clip_on=False)
        ax.set(xlabel="δ = m/n", ylabel="ρ at 50 % success", xlim=(0, 1), ylim=(0, 1))
        ax.set_title(titles[limited], fontsize=10)
        ax.legend(fontsize=7, ncol=2, loc="upper left")
    for a in axes:
        a.grid(alpha=0.3)
    fig.text(0.5, 0.005, "▼/▲ at the edge: every sampled ρ failed / succeeded at that δ (no crossing observed)",
             ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _common.save_figure(fig, out, NAME)


CSV_COLUMNS = ["solver", "stage", "n", "m", "k", "delta", "rho", "trials", "successes", "capped", "max_iter", "seconds",
               "seed", "cell_i", "cell_j"]


def redraw(src, out):
    """Draw the committed figure again from ``src/NAME.csv`` and ``.json``."""
    rows = read_csv(Path(src) / f"{NAME}.csv")
    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    draw(rows, meta["crossings"], out)


def main(argv=None):
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--solvers", default=None,
                   help=f"comma-separated registry names plus '{L1}' (default: quick → l1; full → "
                        f"l1 and every registered solver that declares the phase study; 'all' → every one)")
    args = p.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.solvers is None:
        solvers = default_solvers(args.quick)
        if not args.quick:
            for s in cs.available_recoverers():
                if s not in solvers:
                    logger.info("not in the default set: %s (%s; select it with --solvers)", s,
                                settings_of(s).note or "declared without the phase study")
    elif args.solvers == "all":
        solvers = [L1] + cs.available_recoverers()
    else:
        solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
        for s in solvers:
            if s != L1:
                cs.get_recoverer_class(s)  # unknown names fail here with suggestions
    rows, sec_map = _common.run_cells(args, NAME + "-map", map_cells(cfg), compute)
    coarse, sec_coarse = _common.run_cells(args, NAME, coarse_cells(cfg, solvers), compute)
    fine, sec_fine = _common.run_cells(args, NAME, fine_cells(cfg, coarse), compute)
    rows = rows + coarse + fine
    cross = crossings(rows)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", _plotting.sorted_rows(rows, ("stage", "solver", "m", "k")), CSV_COLUMNS)
    per_solver = {s: float(sum(r["seconds"] for r in rows if r["solver"] == s)) for s in solvers}
    l1 = [c for c in cross if c["solver"] == L1 and np.isfinite(c["rho_cross"])]
    write_json(out / f"{NAME}.json", dict(
        config={**cfg, "quick": args.quick, "solvers": solvers, "seed": SEED,
                "settings": {s: settings_of(L1_SOLVER if s == L1 else s).record("phase") for s in solvers},
                "excluded": [s for s in cs.available_recoverers() if s not in solvers]},
        crossings=cross, wall_seconds=sec_map + sec_coarse + sec_fine,
        wall_seconds_map=sec_map, wall_seconds_crossings=sec_coarse + sec_fine, solver_seconds=per_solver,
        l1_max_abs_deviation=max((abs(c["rho_cross"] - c["rho_theory"]) for c in l1), default=None),
        **_common.run_record(args)))
    draw(rows, cross, out)
    return dict(rows=rows, crossings=cross, wall_seconds=sec_map + sec_coarse + sec_fine)


if __name__ == "__main__":
    _common.setup_logging()
    from experiments import phase_transition as _mod  # workers unpickle compute() by reference

    res = _mod.main()
    for c in res["crossings"]:
        print(f"{c['solver']:>14s} δ={c['delta']:.2f}  ρ50={c['rho_cross']:.3f}  theory={c['rho_theory']:.3f}"
              + ("  (budget-limited)" if c["budget_limited"] else ""))
    print(f"wall time {res['wall_seconds']:.1f} s")
