"""Tropp & Gilbert (2007), Figs. 1 and 3: OMP recovery of K spikes from m Gaussian measurements.

d = 256, Φ Gaussian (m×d), x = K spikes of amplitude 1 on a uniform support, OMP runs K steps,
success = the support is found. Fig. 1: % recovered vs m for K ∈ {4, 12, 20, 28, 36};
Fig. 3: the m for 95% success vs K (logistic fit of the success counts against m near 95%),
with the least-squares line m = a·K·ln d + b beside the paper's m ≈ 1.5·K·ln d + 15.4.
Each cell (K, m) is one batched OMP call per matrix draw (``trials_per_matrix`` columns).

    python -m experiments.tropp_gilbert [--quick]

Reference: Tropp & Gilbert, "Signal recovery from random measurements via orthogonal matching
pursuit", IEEE Trans. Inf. Theory 53 (2007).
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

NAME = "tropp_gilbert"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "OMP needs m ≈ 1.53·K·ln d + 11.6 measurements for 95 % recovery of ±1 spikes (paper: 1.5·K·ln d + "
    "15.4)."
)
SEED = 2007
PAPER_SLOPE, PAPER_INTERCEPT = 1.5, 15.4  # m95 ≈ 1.5·K·ln d + 15.4 (ANCHORS.md, remembered)

FULL = dict(d=256, Ks=[4, 12, 20, 28, 36], ms=list(range(8, 257, 8)), trials=500, trials_per_matrix=100)
# CI: two sparsities, m on a grid around their 95% points
QUICK = dict(d=256, Ks=[4, 12], ms=list(range(24, 161, 8)), trials=200, trials_per_matrix=100)


def paper_m95(K, d=256):
    """Tropp & Gilbert's fitted 95% line m ≈ 1.5·K·ln d + 15.4."""
    return PAPER_SLOPE * np.asarray(K) * np.log(d) + PAPER_INTERCEPT


def make_cells(cfg):
    cells = []
    for K in cfg["Ks"]:
        for m in cfg["ms"]:
            if m < K:
                continue
            c = dict(d=cfg["d"], K=K, m=m, trials=cfg["trials"], trials_per_matrix=cfg["trials_per_matrix"])
            cells.append(dict(c, seed=cell_seed(c, SEED)))
    return cells


def compute(cell):
    rng = np.random.default_rng(cell["seed"])
    d, K, m = cell["d"], cell["K"], cell["m"]
    omp = cs.make_recoverer("omp", n_nonzero_coefs=K)
    succ, t0 = 0, time.perf_counter()
    for _ in range(cell["trials"] // cell["trials_per_matrix"]):  # a few Φ draws per cell
        Phi = rng.standard_normal((m, d))
        X = cs.signals.sparse_signals(d, K, cell["trials_per_matrix"], amplitude="ones", random_state=rng)
        Xh = omp.recover(Phi, Phi @ X).x
        succ += int(phase.phase_success(X, Xh, criterion="support").sum())
    return dict(successes=succ, seconds=time.perf_counter() - t0)


def m95_table(rows, Ks):
    """m at 95% success per K: logistic fit on the cells between the last m with ≤ 75% and the
    first m with ≥ 99.5% success."""
    out = []
    for K in Ks:
        rs = sorted([r for r in rows if r["K"] == K], key=lambda r: r["m"])
        ms = np.array([r["m"] for r in rs], float)
        s = np.array([r["successes"] for r in rs], float)
        t = np.array([r["trials"] for r in rs], float)
        p = s / t
        val = float("nan")
        if p.max() >= 0.95 and p.min() < 0.95:
            lo = np.nonzero(p <= 0.75)[0]
            hi = np.nonzero(p >= 0.995)[0]
            i0 = lo[lo < np.argmax(p >= 0.95)].max() if np.any(lo < np.argmax(p >= 0.95)) else 0
            i1 = hi[hi > i0].min() if np.any(hi > i0) else len(p) - 1
            sl = slice(i0, i1 + 1)
            val = phase.logistic_crossing(ms[sl], s[sl], t[sl], level=0.95)
        out.append(dict(K=K, m95=val, paper_m95=float(paper_m95(K, rs[0]["d"]))))
    return out


def fit_line(tab, d):
    ok = [r for r in tab if np.isfinite(r["m95"])]
    if len(ok) < 2:
        return float("nan"), float("nan")
    a, b = np.polyfit([r["K"] * np.log(d) for r in ok], [r["m95"] for r in ok], 1)
    return float(a), float(b)


def draw(rows, tab, line, out):
    """T&G Fig. 1 (% recovered against m per K) and Fig. 3 (m for 95 % against K)."""
    plt = _plotting.setup()
    rows = _plotting.sorted_rows(rows, ("K", "m"))
    d = int(rows[0]["d"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for i, K in enumerate(sorted({r["K"] for r in rows})):
        rs = [r for r in rows if r["K"] == K]
        st = _plotting.style(i)
        ax1.plot([r["m"] for r in rs], [100 * r["successes"] / r["trials"] for r in rs], color=st["color"],
                 ls=st["ls"], marker=st["marker"], ms=4, label=f"K = {int(K)}")
    ax1.axhline(95, color="gray", ls=":", lw=1)
    ax1.set(xlabel="number of measurements m", ylabel="% of signals recovered",
            title=f"OMP, d = {d}, Gaussian Φ, {int(rows[0]['trials'])} trials/point (T&G Fig. 1)", ylim=(-2, 102))
    ax1.legend()
    Ks = np.array([r["K"] for r in tab], dtype=float)
    kk = np.linspace(0, Ks.max() * 1.1, 50)
    m95 = np.array([_plotting.finite_or_nan(r["m95"]) for r in tab])
    ax2.plot(Ks, m95, "ko", label="measured m for 95% (logistic fit)")
    a, b = line
    if np.isfinite(a):
        ax2.plot(kk, a * kk * np.log(d) + b, "-", color=_plotting.OKABE_ITO[5], label=f"fit: m = {a:.2f}·K·ln d + {b:.1f}")
    ax2.plot(kk, paper_m95(kk, d), "--", color=_plotting.OKABE_ITO[6], label="paper: m ≈ 1.5·K·ln d + 15.4")
    ax2.set(xlabel="sparsity K", ylabel="m for 95% success", title="T&G Fig. 3")
    ax2.legend()
    for a_ in (ax1, ax2):
        a_.grid(alpha=0.3)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    """Draw the committed figure again from ``src/NAME.csv`` and ``.json``."""
    import json

    from cstoolkit.experiment import read_csv

    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    line = (_plotting.finite_or_nan(meta["fitted_line"]["slope"]), _plotting.finite_or_nan(meta["fitted_line"]["intercept"]))
    draw(read_csv(Path(src) / f"{NAME}.csv"), meta["m95"], line, out)


def main(argv=None):
    args = _common.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = QUICK if args.quick else FULL
    cells = make_cells(cfg)
    rows, seconds = _common.run_cells(args, NAME, cells, compute)
    tab = m95_table(rows, cfg["Ks"])
    line = fit_line(tab, cfg["d"])
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", rows, ["d", "K", "m", "trials", "successes", "seconds", "seed"])
    write_json(out / f"{NAME}.json", dict(config={**cfg, "quick": args.quick, "seed": SEED}, m95=tab,
                                          fitted_line=dict(slope=line[0], intercept=line[1]),
                                          paper_line=dict(slope=PAPER_SLOPE, intercept=PAPER_INTERCEPT),
                                          wall_seconds=seconds, **_common.run_record(args)))
    draw(rows, tab, line, out)
    return dict(rows=rows, m95=tab, line=line, wall_seconds=seconds)


if __name__ == "__main__":
    _common.setup_logging()
    res = main()
    for r in res["m95"]:
        print(f"K={r['K']:3d}  m95={r['m95']:.1f}  paper={r['paper_m95']:.1f}")
    print(f"fit: m = {res['line'][0]:.3f} K ln d + {res['line'][1]:.2f};  wall {res['wall_seconds']:.1f} s")
