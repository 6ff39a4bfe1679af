"""Donoho, Maleki & Montanari: AMP's state evolution against the empirical MSE per iteration, and AMP's phase transition against ρ(δ).

Paper setting (Donoho, Maleki & Montanari, PNAS 2009, Figs. 1–2; R): Gaussian A (m×n, N(0, 1/m)),
k-sparse x with ε = k/n, noiseless y = Ax, AMP with soft threshold θ_t = α·σ̂_t at the minimax
α(δ) (:func:`cstoolkit.theory.minimax_alpha`), started at x⁰ = 0. State evolution predicts the
per-coordinate MSE ‖x_t − x‖²/n by mse_{t+1} = Ψ(mse_t) (:func:`cstoolkit.theory.state_evolution`);
its phase transition (where Ψ's only fixed point is 0) is the ℓ1 curve ρ(δ).

Panels: (a) empirical MSE per iteration (mean over ``B`` signals, one A per ρ) against the state
evolution at δ = ½ for ρ below and above ρ(½) = 0.386; (b) AMP's empirical 50 % crossing per δ
(the same cells and cache as ``experiments.phase_transition``: n = 200, 40 trials, AMP at its own
tolerance) against ρ(δ), with ℓ1's.

    python -m experiments.amp_state_evolution [--quick]

References: Donoho, Maleki & Montanari, PNAS 106 (2009); Bayati & Montanari, IEEE Trans. Inf.
Theory 57 (2011).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit import theory
from cstoolkit.experiment import write_json
from experiments import _common, _plotting
from experiments import phase_transition as pt

NAME = "amp_state_evolution"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "State evolution predicts AMP's MSE per iteration within 10 % (n = 4000), below and above the "
    "transition, and AMP's empirical 50 % crossings follow ρ(δ) within 0.037 at 9 δ."
)
SEED = 20091110
FULL = dict(n=4000, delta=0.5, rhos=[0.15, 0.3, 0.45], B=10, n_iter=60)
QUICK = dict(n=1000, delta=0.5, rhos=[0.15, 0.3, 0.45], B=10, n_iter=30)
# CI tolerance: empirical MSE within 25 % of the prediction over the first 10 iterations
# (finite-n fluctuations grow as the MSE falls); AMP's 50 % crossing within ±0.04 of ρ(δ)
TOL_MSE, TOL_RHO = 0.25, 0.04


def se_vs_empirical(cfg) -> list[dict]:
    """Per ρ: the empirical MSE per iteration (mean over signals) and the state evolution."""
    n, d = cfg["n"], cfg["delta"]
    m = int(round(d * n))
    alpha = float(theory.minimax_alpha(d))
    out = []
    for i, rho in enumerate(cfg["rhos"]):
        k = int(round(rho * m))
        rng = np.random.default_rng(SEED + i)
        A = cs.ensembles.gaussian(m, n, random_state=rng)
        X = cs.signals.sparse_signals(n, k, cfg["B"], amplitude="gaussian", random_state=rng)
        mse = []
        cs.make_recoverer("amp", alpha=alpha, max_iter=cfg["n_iter"], tol=0.0).recover(
            A, A @ X, callbacks=lambda info: mse.append(np.sum((info.coef - X) ** 2, axis=0) / n))
        mse = np.array(mse)  # (n_iter, B)
        se = theory.state_evolution(cfg["n_iter"], delta=m / n, eps=k / n, alpha=alpha, amplitude="gaussian")
        out.append(dict(rho=k / m, k=k, m=m, n=n, alpha=alpha, mse_mean=mse.mean(axis=1).tolist(),
                        mse_q25=np.quantile(mse, 0.25, axis=1).tolist(), mse_q75=np.quantile(mse, 0.75, axis=1).tolist(),
                        se=se[1:].tolist()))
    return out


def draw(curves, cross, cfg, out):
    plt = _plotting.setup()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    vals = np.concatenate([np.r_[c["mse_mean"], c["se"]] for c in curves])
    ylim = _plotting.log_limits(vals, floor=1e-20)
    for i, c in enumerate(curves):
        st = _plotting.style(i)
        t = np.arange(1, len(c["se"]) + 1)
        a2_label = "below" if c["rho"] < theory.rho_l1(cfg["delta"]) else "above"
        _plotting.plot_clipped(a1, t, c["se"], ylim, color=st["color"], ls="-", marker="none", lw=1.4,
                               label=f"state evolution, ρ = {c['rho']:.3f} ({a2_label} ρ(δ))", annotate=False)
        _plotting.plot_clipped(a1, t, c["mse_mean"], ylim, color=st["color"], ls="none", marker=st["marker"], ms=4,
                               mfc="white", label=f"empirical (mean of {cfg['B']})", annotate=False)
    a1.set_yscale("log")
    a1.set(ylim=ylim, xlabel="iteration t", ylabel="MSE ‖x_t − x‖² / n",
           title=f"(a) n = {cfg['n']}, δ = {cfg['delta']:g}, α = {curves[0]['alpha']:.3f} (minimax), noiseless")
    a1.grid(alpha=0.3, which="both")
    a1.legend(fontsize=7)
    dg = np.linspace(0.005, 1, 300)
    a2.plot(dg, theory.rho_l1(dg), "k-", lw=2, alpha=0.6, label="ρ(δ): ℓ1 and AMP state evolution")
    for s, st, lab in ((pt.L1, dict(color="k", marker="o", ls="none"), "ℓ1 (exact BP), 50 % crossing"),
                       ("amp", dict(color="#D55E00", marker="s", ls="--"), "AMP (minimax α), 50 % crossing")):
        cr = [c for c in cross if c["solver"] == s and np.isfinite(c["rho_cross"])]
        a2.plot([c["delta"] for c in cr], [c["rho_cross"] for c in cr], mfc="white" if s == pt.L1 else st["color"],
                ms=6, label=lab, **st)
    a2.set(xlabel="δ = m/n", ylabel="ρ = k/m at 50 % success", xlim=(0, 1), ylim=(0, 1),
           title=f"(b) phase transition, n = {pt.FULL['n'] if not cfg.get('quick') else pt.QUICK['n']}, "
                 f"{pt.FULL['trials']} trials per cell")
    a2.grid(alpha=0.3)
    a2.legend(fontsize=8, loc="upper left")
    fig.suptitle("AMP (Donoho–Maleki–Montanari): state evolution predicts the MSE per iteration, and the ℓ1 phase transition",
                 fontsize=11)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    draw(meta["curves"], meta["crossings"], meta["config"], out)


def main(argv=None):
    args = _common.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL, quick=args.quick)
    pcfg = pt.QUICK if args.quick else pt.FULL
    with _common.Timer() as tm:
        curves = se_vs_empirical(cfg)
        # the phase diagram's own cells (same keys: its cache is reused when present)
        cache = _common.cache_dir(args, pt.NAME, args.quick)
        coarse, _ = _common.run_cells(args, pt.NAME, pt.coarse_cells(pcfg, [pt.L1, "amp"]), pt.compute, cache)
        fine, _ = _common.run_cells(args, pt.NAME, pt.fine_cells(pcfg, coarse), pt.compute, cache)
    cross = pt.crossings(coarse + fine)
    worst = max((abs(c["rho_cross"] - c["rho_theory"]) for c in cross if c["solver"] == "amp"
                 and np.isfinite(c["rho_cross"])), default=float("nan"))
    ratio = [float(np.max(np.abs(np.array(c["mse_mean"][:10]) / np.array(c["se"][:10]) - 1))) for c in curves]
    out = Path(args.out)
    write_json(out / f"{NAME}.json", dict(config=cfg, phase_config=pcfg, curves=curves, crossings=cross,
                                          amp_max_abs_deviation=worst, mse_max_rel_deviation_first10=ratio,
                                          wall_seconds=tm.seconds, **_common.run_record(args)))
    from cstoolkit.experiment import write_csv

    write_csv(out / f"{NAME}.csv", [dict(rho=c["rho"], t=t + 1, mse_empirical=c["mse_mean"][t], mse_q25=c["mse_q25"][t],
                                         mse_q75=c["mse_q75"][t], mse_state_evolution=c["se"][t])
                                    for c in curves for t in range(len(c["se"]))])
    draw(curves, cross, cfg, out)
    return dict(curves=curves, crossings=cross, amp_max_abs_deviation=worst, mse_dev=ratio, wall_seconds=tm.seconds)


if __name__ == "__main__":
    _common.setup_logging()
    from experiments import amp_state_evolution as _mod

    res = _mod.main()
    for c in res["crossings"]:
        print(f"{c['solver']:>6s} δ={c['delta']:.2f} ρ50={c['rho_cross']:.3f} theory={c['rho_theory']:.3f}")
    print("max relative MSE deviation over the first 10 iterations:", [f"{v:.3f}" for v in res["mse_dev"]])
    print(f"wall time {res['wall_seconds']:.1f} s")
