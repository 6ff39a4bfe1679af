"""Benchmark: basis pursuit without cvxpy — batched ADMM (certified) and HiGHS LPs vs cvxpy.

Part 1 — speed at equal solutions. 128 × 256 Gaussian A (N(0, 1/m) entries), 50 signals,
each exactly 20-sparse with Gaussian amplitudes, basis pursuit ``min ‖x‖₁ s.t. Ax = y``.
Peers, same problems, same run: cvxpy with its default solver (Clarabel) and with ECOS (the
problem compiled once, ``y`` a parameter — :class:`cstoolkit.BasisPursuit`), and plain
``scipy.optimize.linprog(method="highs")`` on the split LP. Ours: ``admm-bp`` on the whole
batch (one call), and ``bp-lp`` in its formulations (primal/dual) and HiGHS methods.
Reported: median wall time of ``--repeats`` runs per problem, speed-up over Clarabel, and the
max relative difference ‖x − x_Clarabel‖/‖x_Clarabel‖ over recovered instances.

Part 2 — a Donoho–Tanner phase diagram: 16 × 16 cells, δ = m/n and ρ = k/m each on a uniform
grid in [0.05, 0.95], n = 200, 40 trials per cell (10,240 basis-pursuit solves), one Gaussian
A per cell shared by its 40 signals (so each cell is one batched ADMM call), joblib over cells
on 2 workers, one BLAS thread each. ADMM runs at most 300 iterations per cell; a signal counts
as recovered when x̂ meets the criterion, as failed when x̂ projected onto {Ax = y} has a
smaller ℓ1 norm than x (so x is not the ℓ1 minimiser), and is otherwise re-solved by the exact
LP (their number is reported). Success = ‖x − x̂‖² < 1e-4‖x‖² (Maleki–Donoho). An exact
LP (``bp-lp``) re-solves a seeded sample of cells; we report the label agreement, the LP's
time per solve (extrapolated to the whole grid as the peer time), and the empirical 50%
crossing per δ next to the theoretical ρ(δ) (Donoho–Maleki–Montanari closed form).

Usage::

    python bench/bench_bp.py           # full run, writes bench/results/bp.{json,md}
    python bench/bench_bp.py --quick   # 10 problems, 1 repeat, 6×6 grid; no files written
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cstoolkit as cs  # noqa: E402

SEED = 0
ADMM_ITERS = 300  # per cell; undecided signals fall back to the exact LP


# --------------------------------------------------------------------------------------------
def make_problem(m, n, k, B, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    X = np.zeros((n, B))
    for b in range(B):  # problem generation only
        X[rng.choice(n, k, replace=False), b] = rng.standard_normal(k)
    return A, X, A @ X


def plain_linprog(A, Y):
    from scipy.optimize import linprog

    n = A.shape[1]
    out = np.zeros((n, Y.shape[1]))
    Aeq = np.hstack([A, -A])
    for b in range(Y.shape[1]):
        r = linprog(np.ones(2 * n), A_eq=Aeq, b_eq=Y[:, b], bounds=(0, None), method="highs")
        out[:, b] = r.x[:n] - r.x[n:]
    return out


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def part1(B, repeats):
    m, n, k = 128, 256, 20
    A, X, Y = make_problem(m, n, k, B, SEED)
    runs = {
        "cvxpy CLARABEL (default)": lambda: cs.BasisPursuit().recover(A, Y).x,
        "cvxpy ECOS": lambda: cs.BasisPursuit(solver="ECOS").recover(A, Y).x,
        "scipy linprog highs (split primal)": lambda: plain_linprog(A, Y),
        "ours bp-lp primal, dual simplex": lambda: cs.BasisPursuitLP(formulation="primal", method="highs-ds").recover(A, Y).x,
        "ours bp-lp dual, dual simplex": lambda: cs.BasisPursuitLP(formulation="dual", method="highs-ds").recover(A, Y).x,
        "ours admm-bp (batched, certified)": lambda: cs.ADMMBasisPursuit().recover(A, Y).x,
    }
    rows = {}
    for name, fn in runs.items():
        t, x = timed(fn, repeats)
        rows[name] = dict(time_s=t, ms_per_problem=1e3 * t / B, x=x)
        print(f"  {name:38s} {1e3 * t / B:9.2f} ms/problem", flush=True)
    ref = rows["cvxpy CLARABEL (default)"]["x"]
    recovered = cs.metrics.success(X, ref)
    t_ref = rows["cvxpy CLARABEL (default)"]["time_s"]
    table = []
    for name, r in rows.items():
        rel = np.linalg.norm(r["x"] - ref, axis=0) / np.linalg.norm(ref, axis=0)
        table.append(dict(
            solver=name, ms_per_problem=r["ms_per_problem"], speedup_vs_clarabel=t_ref / r["time_s"],
            recovered=int(np.sum(cs.metrics.success(X, r["x"]))),
            max_rel_diff_to_clarabel_on_recovered=float(np.max(rel[recovered])) if recovered.any() else None,
            max_rel_error_to_truth=float(np.max(cs.metrics.relative_error(X, r["x"]))),
        ))
    return dict(m=m, n=n, k=k, problems=B, repeats=repeats, rows=table)


# --------------------------------------------------------------------------------------------
def rho_theory(delta, eps=2.0):
    """Donoho–Maleki–Montanari closed form of the ℓ1 weak threshold (ε = 2 signed, 1 nonnegative)."""
    from scipy.stats import norm

    z = np.linspace(1e-3, 6, 6000)
    g = (1 + z * z) * norm.cdf(-z) - z * norm.pdf(z)
    return float(np.max((1 - (eps / delta) * g) / (1 + z * z - eps * g)))


def _cell(i, j, delta, rho, n, trials, solver, seed):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        m = max(int(round(delta * n)), 1)
        k = max(int(round(rho * m)), 1)
        rng = np.random.default_rng([seed, i, j])
        A = rng.standard_normal((m, n)) / np.sqrt(m)
        X = cs.signals.sparse_signals(n, k, trials, random_state=rng)
        Y = A @ X
        t0 = time.perf_counter()
        n_lp = 0
        if solver == "admm":
            xh = cs.ADMMBasisPursuit(tol=1e-6, max_iter=ADMM_ITERS).recover(A, Y).x
            ok = cs.metrics.success(X, xh)
            # a failure is proven when a feasible point (x̂ projected onto {Ax = y}) has a smaller
            # ℓ1 norm than x: then x is not the ℓ1 minimiser. Signals neither recovered nor proven
            # failed go to the exact LP.
            xp = xh - np.linalg.pinv(A) @ (A @ xh - Y)
            failed = np.sum(np.abs(xp), axis=0) < np.sum(np.abs(X), axis=0) * (1 - 1e-9)
            todo = np.flatnonzero(~ok & ~failed)
            n_lp = int(todo.size)
            if n_lp:
                xh[:, todo] = cs.BasisPursuitLP().recover(A, Y[:, todo]).x
        else:
            xh = cs.BasisPursuitLP().recover(A, Y).x
        dt = time.perf_counter() - t0
        return i, j, cs.metrics.success(X, xh), dt, n_lp


def part2(G, n, trials, n_check, n_jobs):
    from joblib import Parallel, delayed

    grid = np.linspace(0.05, 0.95, G)
    cells = [(i, j) for i in range(G) for j in range(G)]
    t0 = time.perf_counter()
    out = Parallel(n_jobs=n_jobs)(delayed(_cell)(i, j, grid[i], grid[j], n, trials, "admm", SEED) for i, j in cells)
    wall = time.perf_counter() - t0
    labels = np.zeros((G, G, trials), dtype=bool)
    for i, j, s, *_ in out:
        labels[i, j] = s
    frac = labels.mean(axis=2)
    # exact LP check on a seeded sample of cells, half of them where the success rate is mixed
    rng = np.random.default_rng(SEED)
    mixed = [c for c in cells if 0 < frac[c] < 1]
    pick = list(rng.permutation(len(mixed))[: n_check // 2])
    chosen = [mixed[p] for p in pick]
    rest = [c for c in cells if c not in chosen]
    chosen += [rest[p] for p in rng.permutation(len(rest))[: n_check - len(chosen)]]
    t1 = time.perf_counter()
    chk = Parallel(n_jobs=n_jobs)(delayed(_cell)(i, j, grid[i], grid[j], n, trials, "lp", SEED) for i, j in chosen)
    lp_wall = time.perf_counter() - t1
    agree = [int(np.sum(labels[i, j] == s)) for i, j, s, *_ in chk]
    lp_per_solve = sum(c[3] for c in chk) / (len(chk) * trials)
    # empirical 50% crossing in ρ per δ (linear interpolation), against the theory curve
    cross = []
    for i, d in enumerate(grid):
        f = frac[i]
        below = np.flatnonzero((f[:-1] >= 0.5) & (f[1:] < 0.5))
        if below.size:
            a = below[0]
            r = grid[a] + (f[a] - 0.5) / (f[a] - f[a + 1]) * (grid[a + 1] - grid[a])
        else:
            r = float("nan")
        cross.append(dict(delta=float(d), rho_50_empirical=float(r), rho_theory=rho_theory(d)))
    return dict(
        grid=G, n=n, trials=trials, solves=G * G * trials, n_jobs=n_jobs, wall_s=wall,
        admm_solver_s_total=float(sum(c[3] for c in out)),
        lp_fallback_solves=int(sum(c[4] for c in out)),
        lp_check_cells=[list(map(int, c)) for c in chosen], lp_check_wall_s=lp_wall,
        lp_labels_agree=int(sum(agree)), lp_labels_total=len(chk) * trials,
        lp_ms_per_solve=1e3 * lp_per_solve,
        lp_estimated_grid_s=lp_per_solve * G * G * trials / n_jobs,
        crossing=cross, success_fraction=frac.round(4).tolist(),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    B, repeats, G, n_check = (10, 1, 6, 4) if args.quick else (50, args.repeats, 16, 12)
    from threadpoolctl import threadpool_limits

    print(f"Part 1: basis pursuit 128x256, k=20, {B} problems, median of {repeats}")
    with threadpool_limits(1):
        p1 = part1(B, repeats)
    lines = ["## Basis pursuit 128×256 Gaussian, 20-sparse, %d problems (median of %d runs, 1 BLAS thread)" % (B, repeats), "",
             "| solver | ms / problem | speed-up vs Clarabel | recovered | max rel. diff to Clarabel (recovered) | max rel. error to truth |",
             "|---|---|---|---|---|---|"]
    for r in p1["rows"]:
        d = r["max_rel_diff_to_clarabel_on_recovered"]
        lines.append(f"| {r['solver']} | {r['ms_per_problem']:.2f} | {r['speedup_vs_clarabel']:.1f}× | {r['recovered']}/{B} | "
                     f"{'—' if d is None else f'{d:.1e}'} | {r['max_rel_error_to_truth']:.1e} |")
    print("\n".join(lines), flush=True)
    print(f"\nPart 2: Donoho–Tanner grid {G}x{G}, n=200, 40 trials, {args.jobs} jobs")
    p2 = part2(G, 200, 40, n_check, args.jobs)
    l2 = ["", f"## Donoho–Tanner grid {G}×{G}, n = 200, 40 trials per cell ({p2['solves']} solves), joblib {args.jobs} workers", "",
          f"* batched certified ADMM ({ADMM_ITERS} iterations max; {p2['lp_fallback_solves']} undecided signals re-solved by the exact LP), "
          f"wall time: **{p2['wall_s']:.1f} s** (solver time summed over cells {p2['admm_solver_s_total']:.1f} s)",
          f"* exact LP (bp-lp) on {len(p2['lp_check_cells'])} sampled cells ({p2['lp_labels_total']} solves): "
          f"labels agree {p2['lp_labels_agree']}/{p2['lp_labels_total']}; LP {p2['lp_ms_per_solve']:.1f} ms/solve → "
          f"whole grid ≈ {p2['lp_estimated_grid_s']:.0f} s on {args.jobs} workers",
          "", "| δ | empirical ρ at 50% | theory ρ(δ) |", "|---|---|---|"]
    for c in p2["crossing"]:
        l2.append(f"| {c['delta']:.2f} | {c['rho_50_empirical']:.3f} | {c['rho_theory']:.3f} |")
    print("\n".join(l2))
    if not args.quick:
        out = Path(__file__).resolve().parent / "results"
        out.mkdir(exist_ok=True)
        meta = dict(python=platform.python_version(), numpy=np.__version__, machine=platform.machine(),
                    cpus=os.cpu_count(), load_avg=os.getloadavg())
        (out / "bp.json").write_text(json.dumps(dict(meta=meta, part1=p1, part2=p2), indent=1))
        (out / "bp.md").write_text("\n".join(lines + l2) + "\n")
        print(f"\nwrote {out / 'bp.json'} and {out / 'bp.md'}")


if __name__ == "__main__":
    main()
