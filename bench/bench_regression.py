"""CPU seconds of a fixed set of solver and learner calls, this checkout against another one.

Guards a refactor against speed regressions: the same calls run in separate processes, each
importing ``cstoolkit`` from one of the two checkouts, alternately (A, B, A, B, …) so that load
drifts hit both sides alike; CPU seconds (``os.times``) rather than wall time, because the
machine may be shared. Prints a table of medians and the ratio this/other, writes JSON.

Usage::

    git worktree add /tmp/before <rev>
    python bench/bench_regression.py --against /tmp/before --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _cpu():
    t = os.times()
    return t.user + t.system


def _timed(f, reps=3):
    f()  # warm-up: numba compilation, caches
    runs = []
    for _ in range(reps):
        t0 = _cpu()
        f()
        runs.append(_cpu() - t0)
    return float(np.median(runs))


def measure() -> dict:
    """The calls timed (problem generators from the library itself)."""
    import cstoolkit as cs
    from cstoolkit.ensembles import gaussian
    from cstoolkit.signals import sparse_signals

    out = {}
    A = gaussian(256, 1024, random_state=0)
    Y = A @ sparse_signals(1024, 32, 2000, random_state=1)
    omp = cs.make_recoverer("omp", n_nonzero_coefs=32)
    out["omp 256x1024, k=32, 2000 signals"] = _timed(lambda: omp.recover(A, Y))
    A2 = gaussian(200, 1000, random_state=2)
    Y2 = A2 @ sparse_signals(1000, 20, 100, random_state=3)
    Y2 = Y2 + 0.01 * np.random.default_rng(4).standard_normal(Y2.shape)
    rel = dict(lam=0.01, lam_scale="relative")
    for name, kw in [("lasso", rel), ("homotopy", rel), ("fista", dict(rel, max_iter=500)),
                     ("admm-lasso", rel), ("iht", dict(n_nonzero_coefs=20)), ("sl0", {})]:
        r = cs.make_recoverer(name, **kw)
        out[f"{name} 200x1000, 100 signals"] = _timed(lambda r=r: r.recover(A2, Y2))
    A3 = gaussian(128, 256, random_state=5)
    Y3 = A3 @ sparse_signals(256, 20, 50, random_state=6)
    for name in ("bp-homotopy", "admm-bp"):
        r = cs.make_recoverer(name)
        out[f"{name} 128x256, 50 signals"] = _timed(lambda r=r: r.recover(A3, Y3))
    T = np.random.default_rng(7).standard_normal((8192, 128)).astype(np.float32)
    out["online learner 8192x128, 256 atoms"] = _timed(
        lambda: cs.make_learner("online", n_atoms=256, random_state=0).fit(T), reps=2)
    return out


def _run(checkout: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"], env=env, cwd="/",
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--against", type=Path, help="the other checkout (a git worktree)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=HERE / "results" / "regression.json")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure()))
        return
    if args.against is None or not (args.against / "cstoolkit" / "__init__.py").is_file():
        p.error("--against must name a checkout with a cstoolkit/ package")
    this, other = [], []
    for _ in range(args.rounds):
        this.append(_run(ROOT))
        other.append(_run(args.against))
    rows = []
    print(f"| call | this (CPU s) | other (CPU s) | this / other |\n|---|---|---|---|")
    for key in this[0]:
        a = float(np.median([r[key] for r in this]))
        b = float(np.median([r[key] for r in other if key in r]))
        rows.append(dict(call=key, this=a, other=b, ratio=a / b if b > 0 else None))
        print(f"| {key} | {a:.2f} | {b:.2f} | {a / b if b > 0 else float('nan'):.2f} |")
    load = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(rows=rows, rounds=args.rounds, against=str(args.against),
                                        load_average=load, cpu_count=os.cpu_count()), indent=1) + "\n")
    print(f"load average {load[0]:.1f}; wrote {args.out}")


if __name__ == "__main__":
    main()
