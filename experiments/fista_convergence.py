"""Beck & Teboulle (2009): ISTA vs FISTA on wavelet-domain image deblurring, F(x_k) − F* against k with the theoretical bounds.

Paper setting (Beck & Teboulle 2009, Sec. 5.1, Figs. 3–5): a 256×256 image with values in
[0, 1], blurred by a 9×9 Gaussian PSF (σ = 4, reflexive boundary conditions), plus white Gaussian
noise of standard deviation 1e-3; the unknown is the image's orthonormal Haar wavelet coefficient
vector s (PyWavelets, :class:`cstoolkit.imaging.WaveletBasis2D`), A = blur·W, and the paper's
F(s) = ‖As − y‖² + λ_BT‖s‖₁ with λ_BT = 2e-5 — in the toolkit's convention ½‖As − y‖² + λ‖s‖₁
that is λ = λ_BT/2 = 1e-5 (the same minimiser; F values here are half the paper's). 1000
iterations of both methods with the constant step 1/L, L = ‖A‖₂² (≤ 1), from s₀ = 0. The paper
uses the *cameraman* image; offline we use the central 256×256 crop of scikit-learn's
``china.jpg`` sample image (greyscale). F* and s* come from a long run of FISTA with gradient
restart; the bounds are L‖s₀ − s*‖²/(2k) (ISTA) and 2L‖s₀ − s*‖²/(k+1)² (FISTA). FISTA is run
with ``restart=None`` (the paper's method) and, for comparison, with adaptive gradient restart.

    python -m experiments.fista_convergence [--quick]

Reference: Beck & Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
inverse problems", SIAM J. Imaging Sci. 2 (2009), Thm. 3.1 and 4.4, Fig. 5.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.experiment import read_csv, write_csv, write_json
from cstoolkit.imaging import GaussianBlur2D, WaveletBasis2D
from cstoolkit.operators import compose, operator_norm
from experiments import _common, _plotting

NAME = "fista_convergence"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "On Beck & Teboulle's 256×256 deblurring problem FISTA reaches ISTA's 1000-iteration objective gap "
    "after a few dozen iterations; both stay under their 1/k and 1/k² bounds."
)
SEED = 2009
FULL = dict(size=256, n_iter=1000, n_ref=8000, sigma_blur=4.0, taps=9, noise=1e-3, lam_bt=2e-5, wavelet="haar")
# CI: a 128×128 crop (the downsampled image), 300 iterations
QUICK = dict(FULL, size=128, n_iter=300, n_ref=3000)
METHODS = ("ista", "fista", "fista-restart")


def image(size: int) -> np.ndarray:
    """Greyscale [0, 1] test image: the central 256×256 crop of china.jpg, block-averaged to ``size``."""
    from sklearn.datasets import load_sample_image

    g = load_sample_image("china.jpg").astype(float) @ np.array([0.299, 0.587, 0.114]) / 255.0
    r0, c0 = (g.shape[0] - 256) // 2, (g.shape[1] - 256) // 2
    img = g[r0:r0 + 256, c0:c0 + 256]
    f = 256 // size
    return img.reshape(size, f, size, f).mean(axis=(1, 3))


def problem(cfg):
    """The deblurring instance: (A, y, x_true) with A = blur · W (operators on flattened images)."""
    rng = np.random.default_rng(SEED)
    x = image(cfg["size"])
    shape = x.shape
    blur = GaussianBlur2D(shape, size=cfg["taps"], sigma=cfg["sigma_blur"])
    W = WaveletBasis2D(shape, wavelet=cfg["wavelet"])
    y = blur @ x.ravel() + cfg["noise"] * rng.standard_normal(x.size)
    return compose(blur, W), y, x


def compute(cell):
    """Objective histories of ISTA, FISTA and FISTA+restart, and the reference F*, s*."""
    cfg = cell["cfg"]
    A, y, _ = problem(cfg)
    L = float(operator_norm(A, n_iter=100, tol=1e-10) ** 2)
    common = dict(lam=cfg["lam_bt"] / 2, step_size=1.0 / L, tol=0.0, check_every=10**9)
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
           title=f"{cfg['size']}×{cfg['size']} image, {cfg['taps']}×{cfg['taps']} Gaussian blur σ = {cfg['sigma_blur']:g}, "
                 f"noise {cfg['noise']:g}, Haar, λ_BT = {cfg['lam_bt']:g}"
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
                                          wall_seconds=seconds, **_common.run_record(args)))
    draw(k, g, out, cfg)
    return dict(k=k, gaps=g, checkpoints=checkpoints, fista_iter_to_reach_final_ista=first_fista_below_final_ista,
                wall_seconds=seconds)


if __name__ == "__main__":
    _common.setup_logging()
    r = main()
    for it, v in r["checkpoints"].items():
        print(f"k={it:5d}  " + "  ".join(f"{m}={v[m]:.3e}" for m in METHODS))
    print(f"FISTA reaches ISTA's final gap at k = {r['fista_iter_to_reach_final_ista']}; wall {r['wall_seconds']:.1f} s")
