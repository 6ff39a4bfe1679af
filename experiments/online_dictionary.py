"""Mairal, Bach, Ponce & Sapiro: online against batch dictionary learning, test objective against time (log scale).

Paper setting (Mairal et al., ICML 2009 / JMLR 2010, Fig. 1; R): 8×8 patches of natural images,
centred and normalised to unit ℓ2 norm, k = 256 atoms, λ = 1.2/√m (m = 64: λ = 0.15) in
½‖x − Dα‖² + λ‖α‖₁, mini-batches of η = 256, the objective evaluated on a held-out test set
against wall-clock time; the batch method alternates an exact Lasso coding of the whole
training set with a dictionary update. Here: patches of the two photographs that ship with
scikit-learn (``sklearn.datasets.load_sample_images``, greyscale; offline), the ``online``
learner against ``mod`` (batch: code all samples, least-squares dictionary, unit columns) with
the same Lasso coder (``homotopy``, exact) and the same initial dictionary (random samples).
Time excludes the evaluation of the test objective.

    python -m experiments.online_dictionary [--quick]

References: Mairal, Bach, Ponce & Sapiro, ICML 2009; JMLR 11 (2010).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.experiment import write_csv, write_json
from experiments import _common, _plotting

NAME = "online_dictionary"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "On the same patches and coder, the online learner's test objective is below the batch learner's at "
    "almost all times."
)
SEED = 20090614
FULL = dict(patch=8, n_atoms=256, n_train=60000, n_test=2000, batch_size=256, online_epochs=2, batch_iter=12)
QUICK = dict(patch=8, n_atoms=128, n_train=8000, n_test=500, batch_size=256, online_epochs=1, batch_iter=4)
# CI: online at or below batch on at least this share of the common log-time grid ("almost all times")
SHARE_BELOW = 0.8


def patches(cfg, rng) -> tuple[np.ndarray, np.ndarray]:
    """Centred, unit-norm p×p greyscale patches (rows): a training and a disjoint test set."""
    from sklearn.datasets import load_sample_images
    from sklearn.feature_extraction.image import extract_patches_2d

    p = cfg["patch"]
    per = (cfg["n_train"] + cfg["n_test"]) // 2 + 1
    P = []
    for img in load_sample_images().images:
        g = img.astype(float) @ np.array([0.299, 0.587, 0.114]) / 255.0
        P.append(extract_patches_2d(g, (p, p), max_patches=per, random_state=int(rng.integers(2**31))).reshape(-1, p * p))
    X = np.concatenate(P)
    X = X - X.mean(axis=1, keepdims=True)
    X = X[np.linalg.norm(X, axis=1) > 1e-3]  # flat patches have no direction
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X = X[rng.permutation(len(X))]
    return X[: cfg["n_train"]], X[cfg["n_train"]: cfg["n_train"] + cfg["n_test"]]


def objective(D, X, lam) -> float:
    """Mean over rows of X of min_α ½‖x − Dα‖² + λ‖α‖₁ (exact Lasso by the homotopy)."""
    A = cs.make_recoverer("homotopy", lam=lam).recover(D, X.T).coef
    R = X.T - D @ A
    return float(np.mean(0.5 * np.sum(R**2, axis=0) + lam * np.sum(np.abs(A), axis=0)))


def run(name, cfg, Xtr, Xte, lam, checkpoints):
    """Fit one learner; the test objective at the given step numbers, time without evaluation."""
    coder = cs.make_recoverer("homotopy", lam=lam)
    trace = []
    t_eval = [0.0]
    objective(Xtr[: cfg["n_atoms"]].T, Xte[:8], lam)  # compile the coder's kernels before the clock starts
    t0 = time.perf_counter()

    def cb(learner, step):
        if step in checkpoints:
            te = time.perf_counter()
            trace.append(dict(step=int(step), seconds=te - t0 - t_eval[0],
                              objective=objective(learner.as_basis(), Xte, lam)))
            t_eval[0] += time.perf_counter() - te

    if name == "online":
        learner = cs.make_learner("online", n_atoms=cfg["n_atoms"], coder=coder, batch_size=cfg["batch_size"],
                                  max_iter=cfg["online_epochs"], random_state=SEED, callback=cb)
    else:
        learner = cs.make_learner("mod", n_atoms=cfg["n_atoms"], coder=coder, max_iter=cfg["batch_iter"],
                                  random_state=SEED, callback=cb)
    learner.fit(Xtr)
    return trace


def compute(cell):
    cfg = cell["cfg"]
    rng = np.random.default_rng(SEED)
    Xtr, Xte = patches(cfg, rng)
    lam = 1.2 / np.sqrt(Xtr.shape[1])
    n_steps = cfg["online_epochs"] * int(np.ceil(len(Xtr) / cfg["batch_size"]))
    ck = set(np.unique(np.geomspace(1, n_steps, 30).astype(int)).tolist()) if cell["learner"] == "online" \
        else set(range(1, cfg["batch_iter"] + 1))
    return dict(trace=run(cell["learner"], cfg, Xtr, Xte, lam, ck), lam=lam)


def share_below(online, batch) -> float:
    """Share of a log-time grid (from the later first evaluation to the later last one) with online ≤ batch.

    Each curve holds its last evaluated value until its next evaluation, and after its end (a finished
    learner keeps its dictionary): a learner that is done before the other's first evaluation is
    compared by its final value, rather than leaving no common range.
    """
    to, fo = np.array([p["seconds"] for p in online]), np.array([p["objective"] for p in online])
    tb, fb = np.array([p["seconds"] for p in batch]), np.array([p["objective"] for p in batch])
    lo, hi = max(to[0], tb[0]), max(to[-1], tb[-1])
    if not hi > lo:
        return float("nan")
    grid = np.geomspace(lo, hi, 50)
    # each curve holds its last evaluated value until its next evaluation
    on = fo[np.searchsorted(to, grid, side="right") - 1]
    ba = fb[np.searchsorted(tb, grid, side="right") - 1]
    return float(np.mean(on <= ba))


def draw(traces, cfg, summ, out):
    plt = _plotting.setup()
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, (name, lab) in enumerate((("online", f"online (mini-batch {cfg['batch_size']})"),
                                     ("batch", "batch (MOD: Lasso coding of all samples + least squares)"))):
        tr = traces[name]
        st = _plotting.style(5 if i == 0 else 6)
        ax.plot([p["seconds"] for p in tr], [p["objective"] for p in tr], color=st["color"], ls=st["ls"],
                marker=st["marker"], ms=4, label=lab, drawstyle="steps-post" if name == "batch" else "default")
    ax.set_xscale("log")
    ax.set(xlabel="time (s, log scale; evaluation excluded)", ylabel="test objective ½‖x − Dα‖² + λ‖α‖₁ (mean)",
           title=f"{cfg['patch']}×{cfg['patch']} patches, {cfg['n_atoms']} atoms, λ = 1.2/√m, "
                 f"{cfg['n_train']} training patches\nonline ≤ batch on {100 * summ['share_below']:.0f} % of the common time range")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    draw(meta["traces"], meta["config"], meta, out)


def main(argv=None):
    args = _common.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = QUICK if args.quick else FULL
    # one learner per cell; n_jobs=1 keeps the two timings apart (parallel runs would share the cores)
    args.n_jobs = 1
    rows, seconds = _common.run_cells(args, NAME, [dict(learner=n, cfg=cfg) for n in ("online", "batch")], compute)
    traces = {r["learner"]: r["trace"] for r in sorted(rows, key=lambda r: r["learner"] != "online")}
    summ = dict(share_below=share_below(traces["online"], traces["batch"]),
                final={k: v[-1]["objective"] for k, v in traces.items()},
                seconds={k: v[-1]["seconds"] for k, v in traces.items()}, lam=rows[0]["lam"])
    out = Path(args.out)
    write_csv(out / f"{NAME}.csv", [dict(learner=k, **p) for k, v in traces.items() for p in v])
    write_json(out / f"{NAME}.json", dict(config={**cfg, "quick": args.quick, "seed": SEED}, traces=traces,
                                          wall_seconds=seconds, **summ, **_common.run_record(args)))
    draw(traces, cfg, summ, out)
    return dict(traces=traces, wall_seconds=seconds, **summ)


if __name__ == "__main__":
    _common.setup_logging()
    from experiments import online_dictionary as _mod

    res = _mod.main()
    print(f"online ≤ batch on {100 * res['share_below']:.0f} % of the time range; final {res['final']}; "
          f"wall time {res['wall_seconds']:.1f} s")
