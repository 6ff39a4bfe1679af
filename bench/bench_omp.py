"""Benchmark: batched OMP against scikit-learn and SPAMS on the same problems, in the same run.

Cases (seeded):

* ``256x1024``: unit-norm Gaussian dictionary 256 × 1024, 5000 signals, each exactly 32-sparse
  with Gaussian amplitudes, OMP with 32 atoms;
* ``64x256``: the same with a 64 × 256 dictionary and 8 atoms.

Peers: ``sklearn.linear_model.orthogonal_mp(D, Y, n_nonzero_coefs=k, precompute=True)`` and,
if installed, SPAMS (``spams.omp(Y, D, L=k, numThreads=2)``; optional, ``pip install
spams-bin``; never a dependency of the package). Ours: ``cstoolkit.OMP(n_nonzero_coefs=k,
engine=...)`` through the public ``recover`` (Gram and correlation matmuls included) for the
engines numba and numpy, in float64 and float32.

Reported per row: median wall time of ``--repeats`` runs (the numba engine is warmed up by one
call first; that first call's time, which includes the JIT compile or the cache load, is
reported separately), µs per signal, support-exact rate against the true supports, % of
signals whose support is identical to scikit-learn's, max coefficient difference to
scikit-learn on those signals, speed-up over scikit-learn and time relative to SPAMS, and the
GFLOP/s of our run counted as ``B·n·k²`` (the P / orthogonalisation updates, n·k²/2 multiply-adds
per signal) plus ``2·m·n²`` (Gram) plus ``2·m·n·B`` (correlations), set against the BLAS
dgemm rate of a 2048² matmul measured in the same run.

Usage::

    python bench/bench_omp.py            # full run, writes bench/results/omp.{json,md}
    python bench/bench_omp.py --quick    # 1000 signals, 3 repeats, no files written
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

import cstoolkit
from cstoolkit.solvers._engine import numba_available

CASES = {
    "256x1024": dict(m=256, n=1024, k=32),
    "64x256": dict(m=64, n=256, k=8),
}


def make_problem(m, n, k, n_signals, seed):
    """Unit-norm Gaussian dictionary (the uniform spherical ensemble) and exactly k-sparse signals
    with Gaussian amplitudes; ``supports`` (n_signals, k) sorted per signal."""
    rng = np.random.default_rng(seed)
    D = cstoolkit.ensembles.spherical(m, n, random_state=rng)
    X, mask = cstoolkit.signals.sparse_signals(n, k, n_signals, random_state=rng, return_support=True)
    supports = np.nonzero(mask.T)[1].reshape(n_signals, k)  # row-major: each row's indices, sorted
    return D, X, D @ X, supports


def support_sets(coef, k):
    """Sorted support of every column as an (B, k) int array (-1 padded)."""
    nz = coef != 0
    out = np.full((coef.shape[1], k), -1, dtype=np.int64)
    cnt = nz.sum(axis=0)
    rows, cols = np.nonzero(nz.T)
    pos = np.arange(rows.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    keep = pos < k
    out[rows[keep], pos[keep]] = cols[keep]
    return out, cnt


def timed(fn, repeats):
    ts, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts, out


def dgemm_rate(repeats):
    rng = np.random.default_rng(0)
    N = 2048
    a, b = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    a @ b
    med, _, _ = timed(lambda: a @ b, repeats)
    return 2 * N**3 / med / 1e9


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        return [
            {k: d.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
            for d in threadpool_info()
            if d.get("user_api") == "blas"
        ]
    except Exception:  # pragma: no cover - optional
        return []


def run_case(name, n_signals, repeats, seed, with_spams):
    c = CASES[name]
    m, n, k = c["m"], c["n"], c["k"]
    D, X, Y, true_supp = make_problem(m, n, k, n_signals, seed)
    rows = []

    from sklearn.linear_model import orthogonal_mp

    t_sk, ts, coef_sk = timed(lambda: orthogonal_mp(D, Y, n_nonzero_coefs=k, precompute=True), repeats)
    supp_sk, _ = support_sets(coef_sk, k)
    exact_sk = float(np.mean(np.all(supp_sk == true_supp, axis=1)))
    rows.append(dict(case=name, solver="scikit-learn", dtype="float64", time=t_sk, times=ts, exact=exact_sk,
                     same_as_sklearn=1.0, max_coef_diff=0.0))

    t_sp = None
    if with_spams:
        try:
            import spams
        except ImportError:
            spams = None
        if spams is not None:
            Yf, Df = np.asfortranarray(Y), np.asfortranarray(D)
            spams.omp(Yf[:, :10], Df, L=k, numThreads=2)
            t_sp, ts, A = timed(lambda: spams.omp(Yf, Df, L=k, numThreads=2), repeats)
            coef_sp = A.toarray()
            supp_sp, _ = support_sets(coef_sp, k)
            same = np.all(supp_sp == supp_sk, axis=1)
            rows.append(dict(case=name, solver="SPAMS", dtype="float64", time=t_sp, times=ts,
                             exact=float(np.mean(np.all(supp_sp == true_supp, axis=1))),
                             same_as_sklearn=float(np.mean(same)),
                             max_coef_diff=float(np.max(np.abs(coef_sp - coef_sk)[:, same], initial=0.0))))

    engines = (["numba"] if numba_available() else []) + ["numpy"]
    flops = n_signals * n * k * k + 2 * m * n * n + 2 * m * n * n_signals
    for engine in engines:
        for dt in (np.float64, np.float32):
            Dd, Yd = D.astype(dt), Y.astype(dt)
            est = cstoolkit.OMP(n_nonzero_coefs=k, engine=engine)
            t0 = time.perf_counter()
            est.recover(Dd, Yd)  # warm-up: JIT compile or cache load for numba
            first = time.perf_counter() - t0
            t, ts, res = timed(lambda: est.recover(Dd, Yd), repeats)
            coef = res.coef
            assert coef.dtype == dt, coef.dtype
            supp, _ = support_sets(coef, k)
            same = np.all(supp == supp_sk, axis=1)
            rows.append(dict(
                case=name, solver=f"cstoolkit[{engine}]", dtype=np.dtype(dt).name, time=t, times=ts,
                first_call=first, exact=float(np.mean(np.all(supp == true_supp, axis=1))),
                same_as_sklearn=float(np.mean(same)),
                max_coef_diff=float(np.max(np.abs(coef.astype(float) - coef_sk)[:, same], initial=0.0)),
                gflops=flops / t / 1e9,
            ))
    for r in rows:
        r["us_per_signal"] = r["time"] / n_signals * 1e6
        r["speedup_vs_sklearn"] = t_sk / r["time"]
        r["time_vs_spams"] = (r["time"] / t_sp) if t_sp else None
    return rows


def fmt_table(rows, dgemm):
    cols = ["case", "solver", "dtype", "time (s)", "µs/signal", "first call (s)", "support exact",
            "same support as sklearn", "max |Δcoef| vs sklearn", "sklearn/ours", "ours/SPAMS",
            "GFLOP/s (% of dgemm)"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        g, first, sp = r.get("gflops"), r.get("first_call"), r["time_vs_spams"]
        cells = [
            r["case"], r["solver"], r["dtype"], f"{r['time']:.3f}", f"{r['us_per_signal']:.1f}",
            "–" if first is None else f"{first:.2f}", f"{100 * r['exact']:.2f}%",
            f"{100 * r['same_as_sklearn']:.2f}%", f"{r['max_coef_diff']:.1e}", f"{r['speedup_vs_sklearn']:.1f}×",
            "–" if sp is None else f"{sp:.2f}", "–" if g is None else f"{g:.1f} ({100 * g / dgemm:.0f}%)",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1000 signals, no result files")
    ap.add_argument("--signals", type=int, default=None, help="signals per case (default 5000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--no-spams", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "omp"))
    args = ap.parse_args(argv)
    n_signals = args.signals or (1000 if args.quick else 5000)
    repeats = max(args.repeats, 3)

    coretype = {v: os.environ.get(v) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.get(v)}
    dgemm = dgemm_rate(repeats)
    rows = []
    for name in args.cases:
        rows += run_case(name, n_signals, repeats, args.seed, not args.no_spams)
    table = fmt_table(rows, dgemm)
    meta = dict(
        signals=n_signals, repeats=repeats, seed=args.seed, dgemm_gflops=dgemm, blas=blas_info(),
        openblas_env=coretype or None, cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
        numpy=np.__version__, python=platform.python_version(),
    )
    try:
        import numba

        meta["numba"] = numba.__version__
    except ImportError:
        meta["numba"] = None
    try:
        import sklearn

        meta["sklearn"] = sklearn.__version__
    except ImportError:
        pass
    notes = [
        f"{n_signals} signals per case, median of {repeats} runs; BLAS dgemm (2048² matmul) {dgemm:.1f} GFLOP/s; "
        f"BLAS: {meta['blas']}.",
        "GFLOP/s counts B·n·k² (orthogonalisation updates) + 2·m·n² (Gram) + 2·m·n·B (correlations).",
        "first call = warm-up run including the numba JIT compile (or its on-disk cache load).",
    ]
    if coretype:
        notes.append(f"Environment sets {coretype}: this run's BLAS kernel is the one listed above.")
    out = "\n".join(["# OMP benchmark", "", table, "", *("- " + s for s in notes)]) + "\n"
    print(out)
    if not args.quick:
        p = Path(args.out)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.with_suffix(".json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=2))
        p.with_suffix(".md").write_text(out)


if __name__ == "__main__":
    main()
