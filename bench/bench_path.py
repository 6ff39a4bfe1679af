"""Benchmark: the whole Lasso path by homotopy against scikit-learn's ``lars_path``, same breakpoints.

Cases: A m×n Gaussian with N(0, 1/m) entries, y = A x + 0.01·noise with x k-sparse N(0, 1),
the full LARS-Lasso path from λ_max down to λ = 0 (``method="lasso"``, ``alpha_min=0``).
Peers, same run and same signals: ``sklearn.linear_model.lars_path`` (from A, y) and
``lars_path_gram`` (from the precomputed Gram matrix, as we do). Ours:
:func:`cstoolkit.solvers.l1.homotopy.lasso_path_homotopy` with the compiled (numba) and the numpy
engine. Exactness: the largest difference to scikit-learn in the breakpoints both paths have (its alphas
are λ/m; relative to λ₀) and in the coefficients there — ``lars_path`` stops once m atoms are
active, a little above λ = 0, where we follow the path to λ = 0 exactly — and, checked the same way
for every method, the largest KKT violation at the breakpoints (:func:`kkt_violation`).
Times: median over ``--repeats`` of the total over all signals; one BLAS thread; the numba kernel
is loaded by a warm-up call outside the clock.

Usage::

    python bench/bench_path.py            # writes bench/results/path.{json,md}
    python bench/bench_path.py --quick    # one small case, no files
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.solvers.l1.homotopy import lasso_path_homotopy

SEED = 0


def make_case(m, n, k, B, seed):
    rng = np.random.default_rng(seed)
    A = cs.ensembles.gaussian(m, n, random_state=rng)
    X = cs.signals.sparse_signals(n, k, B, random_state=rng)
    return A, A @ X + 0.01 * rng.standard_normal((m, B))


def kkt_violation(A, y, lams, path):
    """Largest optimality violation along a path, checked independently of how it was computed.

    At every breakpoint with λ_t > 1e-9·λ_0: ``max(‖Aᵀr‖∞/λ_t − 1, 0)`` and, on the support,
    ``|c_j − λ_t·sign(x_j)|/λ_t`` with ``c = Aᵀ(y − Ax)`` (both 0 on the exact path); entries
    below 1e-12 of the largest count as zero.
    """
    R = y[:, None] - A @ path
    C = A.T @ R
    keep = lams > 1e-9 * lams[0]
    C, X, L = C[:, keep], path[:, keep], lams[keep]
    over = np.max(np.abs(C), axis=0) / L - 1
    # a coefficient at a zero crossing may be left at rounding level (scikit-learn leaves ~1e-17
    # with either sign): entries below 1e-12 of the largest count as zero
    nz = np.abs(X) > 1e-12 * np.max(np.abs(X), axis=0, initial=0.0)
    on = np.where(nz, np.abs(C - L * np.sign(X)) / L, 0.0)
    return float(max(np.max(over, initial=0.0), np.max(on, initial=0.0)))


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run_case(m, n, k, B, repeats):
    from sklearn.linear_model import lars_path, lars_path_gram

    A, Y = make_case(m, n, k, B, SEED)
    cols = range(B)

    def sk():
        return [lars_path(A, Y[:, b], method="lasso", alpha_min=0.0, max_iter=8 * min(m, n))[::2] for b in cols]

    def sk_gram():
        G = A.T @ A
        C = A.T @ Y
        return [lars_path_gram(C[:, b], G, n_samples=m, method="lasso", alpha_min=0.0, max_iter=8 * min(m, n))[::2]
                for b in cols]

    def ours(engine):
        return lambda: [lasso_path_homotopy(A, Y[:, b], engine=engine) for b in cols]

    lasso_path_homotopy(A, Y[:, 0], engine="numba")  # warm-up (compile or load the kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lars_path's degenerate-regressor warnings near λ = 0
        t_sk, ref = timed(sk, repeats)
        t_skg, _ = timed(sk_gram, repeats)
    kkt_sk = max(kkt_violation(A, Y[:, b], a * m, c) for b, (a, c) in zip(cols, ref))
    rows = [dict(method="scikit-learn lars_path", time_s=t_sk, max_kkt_violation=kkt_sk),
            dict(method="scikit-learn lars_path_gram (precomputed Gram)", time_s=t_skg)]
    for engine in ("numba", "numpy"):
        t, out = timed(ours(engine), repeats)
        # lars_path stops once m atoms are active (or just above 0); we follow the path to λ = 0
        # exactly: compare the breakpoints both have, i.e. all but each path's end point
        common = [min(len(l), len(a)) - 1 for (l, _), (a, _) in zip(out, ref)]
        dl = max(float(np.max(np.abs(l[:q] - a[:q] * m) / l[0])) for q, (l, _), (a, _) in zip(common, out, ref))
        dx = max(float(np.max(np.abs(p[:, :q] - c[:, :q]))) for q, (_, p), (_, c) in zip(common, out, ref))
        match = [q == len(a) - 1 for q, (a, _) in zip(common, ref)]
        kkt = max(kkt_violation(A, Y[:, b], lam, p) for b, (lam, p) in zip(cols, out))
        rows.append(dict(method=f"cstoolkit lasso_path_homotopy ({engine})", time_s=t, same_breakpoint_signals=int(sum(match)),
                         max_abs_breakpoint_diff=dl, max_abs_coef_diff=dx, max_kkt_violation=kkt))
    for r in rows:
        r["speedup_vs_lars_path"] = t_sk / r["time_s"]
    steps = [len(a) for a, _ in ref]
    return dict(m=m, n=n, k=k, signals=B, median_breakpoints=float(np.median(steps)), rows=rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    cases = [(50, 120, 8, 10)] if args.quick else [(100, 200, 10, 50), (200, 1000, 20, 20), (400, 2000, 40, 5)]
    repeats = 1 if args.quick else args.repeats
    results, lines = [], []
    with threadpool_limits(1):
        for m, n, k, B in cases:
            res = run_case(m, n, k, B, repeats)
            results.append(res)
            lines += ["", f"## A {m}×{n}, {k}-sparse + 0.01 noise, {B} signals, full path to λ = 0 "
                          f"(median {res['median_breakpoints']:.0f} breakpoints), median of {repeats}", "",
                      "| method | time (s) | speed-up vs lars_path | signals reaching lars_path's last breakpoint | "
                      "max breakpoint diff / λ₀ (common breakpoints) | max coef diff (common) | max KKT violation on the path |",
                      "|---|---|---|---|---|---|---|"]
            for r in res["rows"]:
                same = r.get("same_breakpoint_signals")
                fmt = lambda v: "—" if v is None else f"{v:.1e}"  # noqa: E731
                lines.append(f"| {r['method']} | {r['time_s']:.3f} | {r['speedup_vs_lars_path']:.1f}× | "
                             f"{'—' if same is None else f'{same}/{B}'} | "
                             f"{fmt(r.get('max_abs_breakpoint_diff'))} | {fmt(r.get('max_abs_coef_diff'))} | "
                             f"{fmt(r.get('max_kkt_violation'))} |")
            print("\n".join(lines[-(len(res['rows']) + 4):]), flush=True)
    if not args.quick:
        out = Path(__file__).resolve().parent / "results"
        out.mkdir(exist_ok=True)
        meta = dict(python=platform.python_version(), numpy=np.__version__, cpus=os.cpu_count(),
                    load_avg=os.getloadavg(), blas_threads=1)
        (out / "path.json").write_text(json.dumps(dict(meta=meta, cases=results), indent=1))
        (out / "path.md").write_text("# Lasso path: homotopy vs scikit-learn lars_path\n" + "\n".join(lines) + "\n")
        print(f"\nwrote {out / 'path.json'} and {out / 'path.md'}")


if __name__ == "__main__":
    main()
