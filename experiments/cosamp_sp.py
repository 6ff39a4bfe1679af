"""Needell & Tropp (CoSaMP) and Dai & Milenkovic (subspace pursuit): recovery rate against sparsity beside OMP and ℓ1.

Paper setting (Dai & Milenkovic 2009, Sec. VI, Figs. 3–4; Needell & Tropp 2009 give no
figure of this kind and CoSaMP is run here in the same setting): N = 256, m = 128, Gaussian Φ,
K-sparse signals on a uniform support with Gaussian non-zeros or with all non-zeros equal to
one ("zero-one" signals), 500 trials per K; exact recovery counted per trial. Every solver is
given the true K (CoSaMP, SP, OMP) or none (ℓ1: exact basis pursuit, ``bp-homotopy``).
Success: ‖x − x̂‖² < 1e-4‖x‖².

What the figure checks: the ℓ1 50 % point lands on the Donoho–Tanner curve, K ≈ ρ(½)·m = 49.4
(theory, :func:`cstoolkit.theory.rho_l1`); SP recovers more than CoSaMP at every law
(Dai–Milenkovic's comparison); for zero-one signals the greedy methods fall below ℓ1,
for Gaussian amplitudes SP comes close to it.

    python -m experiments.cosamp_sp [--quick]

References: Needell & Tropp, ACHA 26 (2009); Dai & Milenkovic, IEEE Trans. Inf. Theory 55 (2009).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cstoolkit.experiment import read_csv, write_csv, write_json
from cstoolkit.theory import rho_l1
from experiments import _common, _plotting, _rates

NAME = "cosamp_sp"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "At N = 256, m = 128 subspace pursuit recovers more than CoSaMP for both amplitude laws and passes ℓ1"
    " for Gaussian non-zeros; for zero-one signals ℓ1 is best and OMP far behind; ℓ1's 50 % point sits on"
    " ρ(½)·m = 49.4."
)
SEED = 20090301
SOLVERS = {
    "CoSaMP": dict(solver="cosamp", params=dict(n_nonzero_coefs="K", max_iter=100, tol=1e-10)),
    "SP": dict(solver="sp", params=dict(n_nonzero_coefs="K", max_iter=100, tol=1e-10)),
    "OMP": dict(solver="omp", params=dict(n_nonzero_coefs="K")),
    "ℓ1 (exact BP)": dict(solver="bp-homotopy", params=dict()),
}
LAWS = {"gaussian": "Gaussian non-zeros", "ones": "zero-one signals (non-zeros = 1)"}
FULL = dict(N=256, m=128, trials=500, Ks=list(range(4, 77, 4)))
QUICK = dict(N=256, m=128, trials=40, Ks=list(range(10, 71, 6)))
# CI tolerance on the ℓ1 50 % point: ±0.03·m around ρ(½)·m (the finite-N spread at n ≥ 200)
TOL_RHO = 0.03


def curves():
    return {f"{label} | {law}": dict(spec, amplitude=law) for law in LAWS for label, spec in SOLVERS.items()}


def summary(rows, cfg):
    theory = float(rho_l1(cfg["m"] / cfg["N"])) * cfg["m"]
    out = dict(l1_theory_K50=theory)
    for label in curves():
        out[label] = _plotting.finite_or_nan(_rates.k50(rows, label))
    return out


def draw(rows, summ, cfg, out):
    plt = _plotting.setup()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, (law, title) in zip(axes, LAWS.items()):
        labels = [f"{s} | {law}" for s in SOLVERS]
        _rates.draw_rates(ax, rows, labels, title=f"{title}, N = {cfg['N']}, m = {cfg['m']}, {cfg['trials']} trials/K")
        # legend without the law suffix, with each curve's 50 % point
        h, lab = ax.get_legend_handles_labels()
        ax.legend(h, [f"{x.split(' | ')[0]} (K₅₀ = {summ.get(x, float('nan')):.1f})" for x in lab], fontsize=8)
        ax.axvline(summ["l1_theory_K50"], color="0.5", ls=(0, (1, 2)), lw=1.2)
        ax.text(summ["l1_theory_K50"], 50, " ρ(δ)·m (ℓ1 theory)", fontsize=7, color="0.35", rotation=90, va="center")
    fig.suptitle("CoSaMP (Needell–Tropp) and subspace pursuit (Dai–Milenkovic) beside OMP and ℓ1", fontsize=11)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    draw(read_csv(Path(src) / f"{NAME}.csv"), meta["K50"], meta["config"], out)


def main(argv=None):
    args = _common.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = QUICK if args.quick else FULL
    cells = _rates.cells(curves(), cfg["N"], cfg["m"], cfg["Ks"], cfg["trials"], SEED)
    rows, seconds = _common.run_cells(args, NAME, cells, _rates.compute)
    rows = _plotting.sorted_rows(rows, ("curve", "K"))
    summ = summary(rows, cfg)
    out = Path(args.out)
    write_csv(out / f"{NAME}.csv", rows, ["curve", "solver", "amplitude", "N", "m", "K", "trials", "successes",
                                          "n_diverged", "seconds", "stop_reason", "seed"])
    write_json(out / f"{NAME}.json", dict(config={**cfg, "quick": args.quick, "seed": SEED,
                                                  "solvers": {k: v["solver"] for k, v in SOLVERS.items()}},
                                          K50=summ, wall_seconds=seconds, **_common.run_record(args)))
    draw(rows, summ, cfg, out)
    return dict(rows=rows, K50=summ, wall_seconds=seconds)


if __name__ == "__main__":
    _common.setup_logging()
    from experiments import cosamp_sp as _mod

    res = _mod.main()
    for k, v in res["K50"].items():
        print(f"{k:>40s}  K50 = {v:.1f}")
    print(f"wall time {res['wall_seconds']:.1f} s")
