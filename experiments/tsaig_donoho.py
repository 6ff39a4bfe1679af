"""Tsaig & Donoho, "Extensions of compressed sensing", Fig. 1: BP error vs number of measurements.

M = 1024, x = ones on the first K entries, K ∈ {20, 50, 100}; A (n×M) from the uniform
spherical ensemble; x̂ = basis pursuit (exact, :func:`cstoolkit.phase.bp_homotopy`);
error = ‖x̂ − x‖₂/‖x‖₂ averaged over trials (a fresh A per trial). The paper's first n with
error < 1e-3 is 144 (K = 20), 240 (K = 50) and 368 (K = 100) (SparseLab data).

    python -m experiments.tsaig_donoho [--quick]

Reference: Tsaig & Donoho, "Extensions of compressed sensing", Signal Processing 86 (2006).
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit import phase
from cstoolkit.experiment import cell_seed, write_csv, write_json
from experiments import _common, _plotting

NAME = "tsaig_donoho"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "Basis pursuit's error drops below 1e-3 at n = 128/224/368 measurements for K = 20/50/100 (paper: "
    "144/240/368)."
)
SEED = 2006
PAPER_FIRST_N = {20: 144, 50: 240, 100: 368}
THRESHOLD = 1e-3
# Paper: n = 32:16:512, 20 trials per point. Basis pursuit far below the transition is the
# expensive part (the homotopy runs ~n breakpoints instead of ~K), so the full run starts each K
# six grid steps below the paper's threshold and uses 10 trials, to finish in ~10 minutes on 2
# busy cores (the first n with mean error < 1e-3 is the first n where every trial succeeds).
FULL = dict(M=1024, Ks=[20, 50, 100], ns=list(range(32, 513, 16)), trials=10, start_below_paper=96)
QUICK = dict(M=1024, Ks=[20], ns=[96, 128, 144, 160], trials=5, start_below_paper=None)


def make_cells(cfg):
    cells = []
    for K in cfg["Ks"]:
        lo = PAPER_FIRST_N[K] - cfg["start_below_paper"] if cfg.get("start_below_paper") else 0
        for n in cfg["ns"]:
            if n < lo:
                continue
            c = dict(M=cfg["M"], K=K, n=n, trials=cfg["trials"])
            cells.append(dict(c, seed=cell_seed(c, SEED)))
    return cells


def compute(cell):
    rng = np.random.default_rng(cell["seed"])
    M, K, n = cell["M"], cell["K"], cell["n"]
    x = np.zeros(M)
    x[:K] = 1.0
    errs, t0 = [], time.perf_counter()
    for _ in range(cell["trials"]):  # a fresh USE matrix per trial; the signal is fixed
        A = cs.ensembles.spherical(n, M, random_state=rng)
        errs.append(float(cs.metrics.relative_error(x, phase.bp_homotopy(A, A @ x))))
    return dict(errors=errs, mean_error=float(np.mean(errs)), seconds=time.perf_counter() - t0)


def first_n_below(rows, K, threshold=THRESHOLD):
    rs = sorted([r for r in rows if r["K"] == K], key=lambda r: r["n"])
    hits = [r["n"] for r in rs if r["mean_error"] < threshold]
    return hits[0] if hits else None


def draw(rows, out):
    """Mean error against n per K (log y); exact zeros are marked at the bottom edge with ``0``."""
    plt = _plotting.setup()
    rows = _plotting.sorted_rows(_plotting.clean_rows(rows, ("mean_error",)), ("K", "n"))
    fig, ax = plt.subplots(figsize=(7, 5))
    ylim = _plotting.log_limits([r["mean_error"] for r in rows] + [THRESHOLD])
    for i, K in enumerate(sorted({r["K"] for r in rows})):
        rs = [r for r in rows if r["K"] == K]
        st = _plotting.style(i)
        _plotting.plot_clipped(ax, [r["n"] for r in rs], [r["mean_error"] for r in rs], ylim, color=st["color"],
                               ls=st["ls"], marker=st["marker"], ms=4, label=f"K = {int(K)}", stack=i)
        if K in PAPER_FIRST_N:
            ax.axvline(PAPER_FIRST_N[K], color=st["color"], ls=":", lw=1)
    ax.axhline(THRESHOLD, color="gray", ls="--", lw=1, label="1e-3 (dotted: paper's first n below it)")
    ax.set_yscale("log")
    ax.set(xlabel="number of measurements n", ylabel="mean relative ℓ2 error", ylim=ylim,
           title=f"Basis pursuit, M = {int(rows[0]['M'])}, USE, {int(rows[0]['trials'])} trials (Tsaig & Donoho Fig. 1)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    """Draw the committed figure again from ``src/NAME.csv``."""
    from cstoolkit.experiment import read_csv

    draw(read_csv(Path(src) / f"{NAME}.csv"), out)


def main(argv=None):
    args = _common.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = QUICK if args.quick else FULL
    cells = make_cells(cfg)
    rows, seconds = _common.run_cells(args, NAME, cells, compute)
    first = {K: first_n_below(rows, K) for K in cfg["Ks"]}
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", rows, ["M", "K", "n", "trials", "mean_error", "seconds", "seed"])
    write_json(out / f"{NAME}.json", dict(config={**cfg, "quick": args.quick, "seed": SEED}, first_n_below_1e3=first,
                                          paper_first_n=PAPER_FIRST_N, wall_seconds=seconds,
                                          **_common.run_record(args)))
    draw(rows, out)
    return dict(rows=rows, first_n=first, wall_seconds=seconds)


if __name__ == "__main__":
    _common.setup_logging()
    r = main()
    for K, n in r["first_n"].items():
        print(f"K={K:3d}  first n with error < 1e-3: {n}  (paper {PAPER_FIRST_N.get(K)})")
    print(f"wall {r['wall_seconds']:.1f} s")
