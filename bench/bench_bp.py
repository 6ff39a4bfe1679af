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
grid in [0.05, 0.95], n = 200, 40 trials per cell (10,240 basis-pursuit solves), each trial an
independent instance (a fresh Gaussian A and a k-sparse x with Gaussian amplitudes), joblib over
cells on 2 workers, one BLAS/numba thread each. Ours: exact basis pursuit by homotopy to λ = 0
(``bp-homotopy``). Success = ‖x − x̂‖² < 1e-4‖x‖² (Maleki–Donoho). The exact LP (``bp-lp``)
re-solves the same instances of a seeded sample of cells (half of them where the success rate
is mixed) and cvxpy with its default solver a few of those: we report label agreement, the
largest relative gap in ‖x̂‖₁, and each peer's time over ours on the same cells (the grid-wide
peer time is our wall time times that ratio), and the empirical 50% crossing per δ next to
the theoretical ρ(δ) (Donoho–Maleki–Montanari closed form).

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
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs

SEED = 0


# --------------------------------------------------------------------------------------------
def make_problem(m, n, k, B, seed):
    """Gaussian A (N(0, 1/m) entries) and B exactly k-sparse signals with N(0, 1) amplitudes."""
    rng = np.random.default_rng(seed)
    A = cs.ensembles.gaussian(m, n, random_state=rng)
    X = cs.signals.sparse_signals(n, k, B, random_state=rng)
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
        "ours bp-homotopy (exact, compiled)": lambda: cs.BasisPursuitHomotopy().recover(A, Y).x,
    }
    cs.BasisPursuitHomotopy().recover(A, Y[:, :1])  # load the compiled kernel outside the clock
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


def _instances(i, j, delta, rho, n, trials, seed):
    """The cell's independent problem instances: a fresh Gaussian A and k-sparse x per trial."""
    m = max(int(round(delta * n)), 1)
    k = max(int(round(rho * m)), 1)
    rng = np.random.default_rng([seed, i, j])
    for _ in range(trials):
        A = cs.ensembles.gaussian(m, n, random_state=rng)
        x = cs.signals.sparse_signals(n, k, 1, random_state=rng)
        yield A, x, A @ x


_SOLVERS = {
    "homotopy": lambda: cs.BasisPursuitHomotopy(),
    "lp": lambda: cs.BasisPursuitLP(),
    "cvxpy": lambda: cs.BasisPursuit(),  # cvxpy's default solver (Clarabel)
}


def _cell(i, j, delta, rho, n, trials, solver, seed):
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)  # parallelism is over cells (joblib workers)
    rec = _SOLVERS[solver]()
    ok, ms, dt = [], [], 0.0
    with threadpool_limits(1):
        for A, x, y in _instances(i, j, delta, rho, n, trials, seed):
            t0 = time.perf_counter()
            xh = rec.recover(A, y).x
            dt += time.perf_counter() - t0
            ok.append(bool(cs.metrics.success(x, xh)[0]))
            ms.append(float(np.sum(np.abs(xh))))
    return i, j, np.array(ok), dt, np.array(ms)


def part2(G, n, trials, n_check, n_cvxpy, n_jobs):
    from joblib import Parallel, delayed

    grid = np.linspace(0.05, 0.95, G)
    cells = [(i, j) for i in range(G) for j in range(G)]
    _cell(0, 0, 0.5, 0.2, 40, 1, "homotopy", SEED)  # compile (or load) the kernel outside the clock
    t0 = time.perf_counter()
    out = Parallel(n_jobs=n_jobs)(delayed(_cell)(i, j, grid[i], grid[j], n, trials, "homotopy", SEED)
                                  for i, j in cells)
    wall = time.perf_counter() - t0
    labels = np.zeros((G, G, trials), dtype=bool)
    ours_t = {}
    ours_l1 = {}
    for i, j, s, dt, l1 in out:
        labels[i, j] = s
        ours_t[i, j] = dt
        ours_l1[i, j] = l1
    frac = labels.mean(axis=2)
    # exact-LP check on a seeded sample of cells, half of them where the success rate is mixed;
    # cvxpy (default solver) on the first n_cvxpy of them — the peer, timed on the same instances
    rng = np.random.default_rng(SEED)
    mixed = [c for c in cells if 0 < frac[c] < 1]
    chosen = [mixed[p] for p in rng.permutation(len(mixed))[: n_check // 2]]
    rest = [c for c in cells if c not in chosen]
    chosen += [rest[p] for p in rng.permutation(len(rest))[: n_check - len(chosen)]]
    t1 = time.perf_counter()
    chk = Parallel(n_jobs=n_jobs)(delayed(_cell)(i, j, grid[i], grid[j], n, trials, "lp", SEED) for i, j in chosen)
    lp_wall = time.perf_counter() - t1
    cvx = Parallel(n_jobs=n_jobs)(delayed(_cell)(i, j, grid[i], grid[j], n, trials, "cvxpy", SEED)
                                  for i, j in chosen[:n_cvxpy])
    agree = sum(int(np.sum(labels[i, j] == s)) for i, j, s, *_ in chk)
    cvx_agree = sum(int(np.sum(labels[i, j] == s)) for i, j, s, *_ in cvx)
    l1_gap = max(float(np.max(np.abs(ours_l1[i, j] - l1) / l1)) for i, j, _, _, l1 in chk)
    ours_on = lambda rows: sum(ours_t[i, j] for i, j, *_ in rows)  # noqa: E731
    lp_ratio = sum(c[3] for c in chk) / ours_on(chk)
    cvx_ratio = sum(c[3] for c in cvx) / ours_on(cvx) if cvx else float("nan")
    solver_total = float(sum(ours_t.values()))
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
        solver_s_total=solver_total, lp_check_cells=[list(map(int, c)) for c in chosen], lp_check_wall_s=lp_wall,
        lp_labels_agree=agree, lp_labels_total=len(chk) * trials, max_rel_l1_gap_to_lp=l1_gap,
        lp_time_ratio_same_cells=lp_ratio, lp_estimated_grid_s=wall * lp_ratio,
        cvxpy_cells=[list(map(int, c)) for c in chosen[:n_cvxpy]], cvxpy_labels_agree=cvx_agree,
        cvxpy_labels_total=len(cvx) * trials, cvxpy_time_ratio_same_cells=cvx_ratio,
        cvxpy_estimated_grid_s=wall * cvx_ratio,
        crossing=cross, success_fraction=frac.round(4).tolist(),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    B, repeats, G, n_check, n_cvxpy = (10, 1, 6, 4, 2) if args.quick else (50, args.repeats, 16, 12, 4)
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
    print(f"\nPart 2: Donoho–Tanner grid {G}x{G}, n=200, 40 trials, {args.jobs} jobs", flush=True)
    p2 = part2(G, 200, 40, n_check, n_cvxpy, args.jobs)
    l2 = ["", f"## Donoho–Tanner grid {G}×{G}, n = 200, 40 trials per cell ({p2['solves']} solves, a fresh Gaussian A per trial), "
              f"joblib {args.jobs} workers", "",
          f"* ours, exact basis pursuit by homotopy (`bp-homotopy`): wall time **{p2['wall_s']:.1f} s** "
          f"(solver time summed over cells {p2['solver_s_total']:.1f} s)",
          f"* exact LP (`bp-lp`, HiGHS dual simplex) on {len(p2['lp_check_cells'])} sampled cells ({p2['lp_labels_total']} solves, same instances): "
          f"labels agree **{p2['lp_labels_agree']}/{p2['lp_labels_total']}**, max relative ‖x̂‖₁ gap {p2['max_rel_l1_gap_to_lp']:.1e}; "
          f"LP/ours time on those cells {p2['lp_time_ratio_same_cells']:.0f}× → whole grid ≈ {p2['lp_estimated_grid_s']:.0f} s",
          f"* cvxpy default solver (Clarabel) on {len(p2['cvxpy_cells'])} of those cells ({p2['cvxpy_labels_total']} solves): "
          f"labels agree {p2['cvxpy_labels_agree']}/{p2['cvxpy_labels_total']}; cvxpy/ours time on those cells "
          f"{p2['cvxpy_time_ratio_same_cells']:.0f}× → whole grid ≈ {p2['cvxpy_estimated_grid_s']:.0f} s",
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
