"""Beck & Teboulle (2009): ISTA vs FISTA, F(x_k) − F* against k with the theoretical bounds.

A 1-D analogue of the paper's wavelet deblurring run: a piecewise-constant signal of length n
(a power of two), blurred by a 9-tap Gaussian kernel (σ = 4, zero boundary), plus white noise
of standard deviation 1e-3; the unknown is its orthonormal Haar coefficient vector, so
A = blur · Haarᵀ and the objective is ½‖A s − y‖² + λ‖s‖₁. Both methods use the constant
step 1/L, L = ‖A‖₂², from s₀ = 0. F* and s* come from a long run of FISTA with gradient
restart; the bounds are L‖s₀ − s*‖²/(2k) (ISTA) and 2L‖s₀ − s*‖²/(k+1)² (FISTA).
FISTA is run with ``restart=None`` (the textbook method) and, for comparison, with adaptive
gradient restart.

    python -m experiments.fista_convergence [--quick]

Reference: Beck & Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
inverse problems", SIAM J. Imaging Sci. 2 (2009), Thm. 3.1 and 4.4, Fig. 5.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from scipy.linalg import toeplitz

import cstoolkit as cs
from cstoolkit.experiment import read_csv, write_csv, write_json
from experiments import _common, _plotting

NAME = "fista_convergence"
SEED = 2009
FULL = dict(n=512, n_iter=1000, n_ref=10000, sigma_blur=4.0, taps=9, noise=1e-3, lam=1e-4, pieces=12)
QUICK = dict(n=256, n_iter=300, n_ref=8000, sigma_blur=4.0, taps=9, noise=1e-3, lam=1e-4, pieces=6)
METHODS = ("ista", "fista", "fista-restart")


def haar_synthesis(n):
    """Orthonormal Haar synthesis matrix W (n×n, n a power of two): x = W s."""
    if n & (n - 1) or n < 1:
        raise ValueError(f"n must be a power of two, got {n}.")
    H = np.array([[1.0]])
    while H.shape[0] < n:
        k = H.shape[0]
        # analysis: averages (coarse) stacked on differences (detail)
        H = np.vstack([np.kron(H, [1.0, 1.0]), np.kron(np.eye(k), [1.0, -1.0])]) / np.sqrt(2)
    return H.T


def problem(cfg):
    """The deblurring instance: (A, y, x_true) with A = blur · W."""
    rng = np.random.default_rng(SEED)
    n = cfg["n"]
    edges = np.sort(rng.choice(np.arange(1, n), cfg["pieces"] - 1, replace=False))
    x = np.concatenate([np.full(l, v) for l, v in zip(np.diff(np.r_[0, edges, n]), rng.uniform(0, 1, cfg["pieces"]))])
    h = cfg["taps"] // 2
    k = np.exp(-0.5 * (np.arange(-h, h + 1) / cfg["sigma_blur"]) ** 2)
    k /= k.sum()
    col = np.zeros(n)
    col[: h + 1] = k[h:]
    Bl = toeplitz(col)
    A = Bl @ haar_synthesis(n)
    y = Bl @ x + cfg["noise"] * rng.standard_normal(n)
    return A, y, x


def compute(cell):
    """Objective histories of ISTA, FISTA and FISTA+restart, and the reference F*, s*."""
    cfg = cell["cfg"]
    A, y, _ = problem(cfg)
    L = float(np.linalg.norm(A, 2) ** 2)
    common = dict(lam=cfg["lam"], step_size=1.0 / L, tol=0.0, check_every=10**9)
    t0 = time.perf_counter()
    ref = cs.FISTA(max_iter=cfg["n_ref"], restart="gradient", **common).recover(A, y)
    t_ref = time.perf_counter() - t0
    hist, secs = {}, {}
    for name, est in (("ista", cs.ISTA(max_iter=cfg["n_iter"], **common)),
                      ("fista", cs.FISTA(max_iter=cfg["n_iter"], restart=None, **common)),
                      ("fista-restart", cs.FISTA(max_iter=cfg["n_iter"], restart="gradient", **common))):
        t0 = time.perf_counter()
        r = est.recover(A, y)
        secs[name] = time.perf_counter() - t0
        hist[name] = np.asarray(r.history["objective"])
    F_star = float(min(ref.history["objective"].min(), *(h.min() for h in hist.values())))
    return dict(L=L, F_star=F_star, dist0_sq=float(np.sum(ref.coef ** 2)), ref_seconds=t_ref,
                seconds=secs, objective={k: v.tolist() for k, v in hist.items()})


def gaps(res):
    """F(x_k) − F* per method and the two bounds, k = 1..n_iter."""
    k = np.arange(1, len(res["objective"]["ista"]) + 1)
    out = {m: np.asarray(res["objective"][m]) - res["F_star"] for m in METHODS}
    c = res["L"] * res["dist0_sq"]
    out["bound_ista"] = c / (2 * k)
    out["bound_fista"] = 2 * c / (k + 1) ** 2
    return k, out


def draw(k, g, out, cfg):
    """F(x_k) − F* of each method and the two bounds (log–log) from the gap table.

    Gaps at or below zero (F* reached to machine precision) cannot be drawn on a log axis:
    they are marked at the bottom edge with their value.
    """
    plt = _plotting.setup()
    k = np.asarray(k, dtype=float)
    fig, ax = plt.subplots(figsize=(7, 5))
    pos = np.concatenate([np.asarray(g[m])[np.asarray(g[m]) > 0] for m in METHODS])
    ylim = _plotting.log_limits(np.concatenate([pos, g["bound_ista"]]))
    n_off = 0
    labels = {"ista": "ISTA", "fista": "FISTA (restart=None)", "fista-restart": "FISTA + gradient restart"}
    for i, m in enumerate(METHODS):
        st = _plotting.style(i)
        # 1000 points per curve: no markers; solid / dashed / dotted tell the curves apart in greyscale
        n_off += _plotting.plot_clipped(ax, k, g[m], ylim, color=st["color"], ls=st["ls"], marker="none",
                                        lw=1.4, label=labels[m], annotate=False)
    ax.plot(k, g["bound_ista"], color=_plotting.style(0)["color"], ls=(0, (2, 2)), lw=1, label="ISTA bound L‖x₀−x*‖²/(2k)")
    ax.plot(k, g["bound_fista"], color=_plotting.style(1)["color"], ls=(0, (2, 2)), lw=1,
            label="FISTA bound 2L‖x₀−x*‖²/(k+1)²")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="iteration k", ylabel="F(x_k) − F*", ylim=ylim,
           title=f"1-D Haar deblurring analogue (n = {cfg['n']}, 9-tap Gaussian σ = 4, λ = {cfg['lam']:g})"
                 + (f"\n▼: {n_off} iterates at or below F* (gap ≤ 0)" if n_off else ""))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    """Draw the committed figure again from ``src/NAME.csv`` and ``.json``."""
    rows = read_csv(Path(src) / f"{NAME}.csv")
    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    g = {c: np.array([_plotting.finite_or_nan(r[c]) for r in rows]) for c in rows[0] if c != "k"}
    draw([r["k"] for r in rows], g, out, meta["config"])


def main(argv=None):
    args = _common.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = QUICK if args.quick else FULL
    args.n_jobs = 1  # one cell: a single long run
    (res,), seconds = _common.run_cells(args, NAME, [dict(cfg=cfg, seed=SEED)], compute)
    k, g = gaps(res)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", [dict(k=int(i), **{m: float(g[m][j]) for m in g}) for j, i in enumerate(k)])
    checkpoints = {int(i): {m: float(g[m][i - 1]) for m in METHODS} for i in (10, 100, cfg["n_iter"]) if i <= len(k)}
    first_fista_below_final_ista = int(np.argmax(g["fista"] <= g["ista"][-1]) + 1) if np.any(g["fista"] <= g["ista"][-1]) else None
    write_json(out / f"{NAME}.json", dict(config={**cfg, "quick": args.quick, "seed": SEED}, L=res["L"],
                                          F_star=res["F_star"], gaps_at=checkpoints,
                                          fista_iter_to_reach_final_ista=first_fista_below_final_ista,
                                          seconds=res["seconds"], ref_seconds=res["ref_seconds"],
                                          wall_seconds=seconds))
    draw(k, g, out, cfg)
    return dict(k=k, gaps=g, checkpoints=checkpoints, fista_iter_to_reach_final_ista=first_fista_below_final_ista,
                wall_seconds=seconds)


if __name__ == "__main__":
    _common.setup_logging()
    r = main()
    for it, v in r["checkpoints"].items():
        print(f"k={it:5d}  " + "  ".join(f"{m}={v[m]:.3e}" for m in METHODS))
    print(f"FISTA reaches ISTA's final gap at k = {r['fista_iter_to_reach_final_ista']}; wall {r['wall_seconds']:.1f} s")
