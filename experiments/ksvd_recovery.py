"""Aharon, Elad & Bruckstein (2006), Fig. 3 setting: K-SVD vs MOD atom recovery over iterations.

A 20×50 generating dictionary (U[−1, 1] entries, unit columns), 1500 signals of 3 atoms with
U[−1, 1] coefficients, white noise at 10, 20, 30 dB or none; the learners start from data
samples, code with OMP using exactly 3 atoms and run 80 iterations; an atom is found when
1 − |dᵢᵀd̂ⱼ| < 0.01 for some learned atom. The data and the criterion are
:mod:`cstoolkit.learners.synthetic`; the count is recorded after every iteration by the
learner's callback. Paper (read off Fig. 3, % of atoms found after 80 iterations, 50 trials):
K-SVD ≈ 90/95/96/96 %, MOD ≈ 87/89/90/89 % at 10/20/30 dB/none.

    python -m experiments.ksvd_recovery [--quick]
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np

import cstoolkit as cs
from cstoolkit.experiment import cell_seed, write_csv, write_json
from cstoolkit.learners.synthetic import count_recovered_atoms, make_ksvd_synthetic
from experiments import _common, _plotting

NAME = "ksvd_recovery"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "K-SVD finds 91/96/94/94 % of the generating atoms at 10/20/30 dB and without noise (paper ≈ "
    "90/95/96/96 %), MOD a few points less."
)
SEED = 2006
NOISE = [10.0, 20.0, 30.0, None]  # SNR in dB; None = noiseless
PAPER = {"ksvd": {10.0: 90, 20.0: 95, 30.0: 96, None: 96}, "mod": {10.0: 87, 20.0: 89, 30.0: 90, None: 89}}
# Paper: 50 trials. Full run: 2 trials per (learner, noise) to stay within ~10 min on 2 busy cores.
FULL = dict(learners=["ksvd", "mod"], snrs=NOISE, trials=2, max_iter=80, n_samples=1500, n_features=20,
            n_atoms=50, k=3)
QUICK = dict(learners=["ksvd", "mod"], snrs=[20.0], trials=1, max_iter=30, n_samples=1500, n_features=20,
             n_atoms=50, k=3)


def make_cells(cfg):
    cells = []
    for snr in cfg["snrs"]:
        for t in range(cfg["trials"]):
            data = dict(snr_db=snr, trial=t, n_samples=cfg["n_samples"], n_features=cfg["n_features"],
                        n_atoms=cfg["n_atoms"], k=cfg["k"])
            seed = cell_seed(data, SEED)  # same data for both learners
            for lr in cfg["learners"]:
                cells.append(dict(data, learner=lr, max_iter=cfg["max_iter"], seed=seed))
    return cells


def compute(cell):
    X, D, _ = make_ksvd_synthetic(cell["n_samples"], cell["n_features"], cell["n_atoms"], cell["k"],
                                  snr_db=cell["snr_db"], random_state=cell["seed"])
    found = []

    def cb(learner, it):
        found.append(count_recovered_atoms(D, learner.components_) / cell["n_atoms"])

    est = cs.make_learner(cell["learner"], n_atoms=cell["n_atoms"], coder=cs.OMP(n_nonzero_coefs=cell["k"]),
                          max_iter=cell["max_iter"], init="data", random_state=cell["seed"] + 1, callback=cb)
    t0 = time.perf_counter()
    est.fit(X)
    return dict(found=found, final=found[-1], seconds=time.perf_counter() - t0)


def summary(rows, cfg):
    out = []
    for lr in cfg["learners"]:
        for snr in cfg["snrs"]:
            rs = [r for r in rows if r["learner"] == lr and r["snr_db"] == snr]
            curves = np.array([r["found"] for r in rs])
            out.append(dict(learner=lr, snr_db=snr, percent_found=100 * float(curves[:, -1].mean()),
                            paper_percent=PAPER[lr][snr], curve=100 * curves.mean(0), trials=len(rs)))
    return out


def draw(summ, out):
    """% of atoms found per iteration, one panel per noise level, the paper's values dotted."""
    plt = _plotting.setup()
    snrs = sorted({s["snr_db"] for s in summ}, key=lambda v: np.inf if v is None else v)
    fig, axes = plt.subplots(1, len(snrs), figsize=(3.6 * len(snrs), 3.8), sharey=True, squeeze=False)
    for ax, snr in zip(axes[0], snrs):
        for i, s in enumerate(sorted((s for s in summ if s["snr_db"] == snr), key=lambda s: s["learner"])):
            st = _plotting.style(i + 5)
            it = np.arange(1, len(s["curve"]) + 1)
            ax.plot(it, s["curve"], color=st["color"], ls=st["ls"], label=f"{s['learner'].upper()} ({s['percent_found']:.0f}%)")
            ax.axhline(s["paper_percent"], color=st["color"], ls=":", lw=1)
        ax.set(title=f"{'no noise' if snr is None else f'{snr:g} dB'}", xlabel="iteration", ylim=(0, 100))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0][0].set_ylabel("% of the 50 atoms found")
    fig.suptitle(f"K-SVD vs MOD, 20×50 dictionary, 1500 signals, 3 atoms ({summ[0]['trials']} trials; "
                 "dotted: paper Fig. 3 after 80 it.)", fontsize=10)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    """Draw the committed figure again from ``src/NAME.json`` (summary and per-iteration curves)."""
    import json
    from pathlib import Path

    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    summ = [dict(s, curve=meta["curves"][f"{s['learner']}@{s['snr_db']}"]) for s in meta["summary"]]
    draw(summ, out)


def main(argv=None):
    args = _common.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = QUICK if args.quick else FULL
    cells = make_cells(cfg)
    rows, seconds = _common.run_cells(args, NAME, cells, compute)
    summ = summary(rows, cfg)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", [dict(learner=r["learner"], snr_db="none" if r["snr_db"] is None else r["snr_db"],
                                         trial=r["trial"], final_found=r["final"], seconds=r["seconds"]) for r in rows])
    write_json(out / f"{NAME}.json", dict(config={**cfg, "quick": args.quick, "seed": SEED},
                                          summary=[{k: v for k, v in s.items() if k != "curve"} for s in summ],
                                          curves={f"{s['learner']}@{s['snr_db']}": s["curve"] for s in summ},
                                          wall_seconds=seconds, **_common.run_record(args)))
    draw(summ, out)
    return dict(rows=rows, summary=summ, wall_seconds=seconds)


if __name__ == "__main__":
    _common.setup_logging()
    r = main()
    for s in r["summary"]:
        print(f"{s['learner']:>5s} {str(s['snr_db']):>5s} dB: {s['percent_found']:.1f}% found (paper ≈ {s['paper_percent']}%)")
    print(f"wall {r['wall_seconds']:.1f} s")
