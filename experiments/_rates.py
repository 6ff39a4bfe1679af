"""Success rate against sparsity: the computation shared by the greedy-pursuit and IHT figures.

One cell = one solver (registry name and parameters), one (N, m, K), ``trials`` signals solved
as the columns of one ``recover`` call through the public interface. Φ is Gaussian with
N(0, 1/m) entries (≈ unit-norm columns), rescaled when ``scaling="spectral"`` to ‖Φ‖₂ = 0.99
(the condition under which IHT with unit step is guaranteed stable). Success is the
Maleki–Donoho criterion ‖x − x̂‖² < 1e-4‖x‖² (:func:`cstoolkit.phase.phase_success`).
"""

from __future__ import annotations

import time

import numpy as np

import cstoolkit as cs
from cstoolkit import phase
from cstoolkit.experiment import cell_seed


def sensing_matrix(m: int, N: int, scaling: str, rng) -> np.ndarray:
    """Gaussian Φ (m, N), N(0, 1/m) entries; ``"spectral"`` rescales it to ‖Φ‖₂ = 0.99."""
    A = cs.ensembles.gaussian(m, N, random_state=rng)
    if scaling == "spectral":
        A = A * (0.99 / np.linalg.norm(A, 2))
    elif scaling != "columns":
        raise ValueError(f"scaling must be 'columns' or 'spectral', got {scaling!r}")
    return A


def cells(curves: dict, N: int, m: int, Ks, trials: int, base_seed: int) -> list[dict]:
    """One cell per (curve, K). ``curves`` maps a label to ``dict(solver=, params=, amplitude=, scaling=)``;
    ``params`` may use the placeholder ``"K"`` for the sparsity."""
    out = []
    for label, c in curves.items():
        for K in Ks:
            problem = dict(N=N, m=m, K=int(K), trials=trials, amplitude=c["amplitude"], scaling=c.get("scaling", "columns"))
            # the seed ignores the solver: every curve of a given amplitude law sees the same problems
            out.append(dict(curve=label, solver=c["solver"], params=c.get("params", {}),
                            seed=cell_seed(problem, base_seed), **problem))
    return out


def _resolve(params: dict, K: int) -> dict:
    return {k: (K if v == "K" else v) for k, v in params.items()}


def compute(cell: dict) -> dict:
    """Successes of one curve at one K (one batched ``recover`` call)."""
    rng = np.random.default_rng(cell["seed"])
    N, m, K, B = cell["N"], cell["m"], cell["K"], cell["trials"]
    A = sensing_matrix(m, N, cell["scaling"], rng)
    X = cs.signals.sparse_signals(N, K, B, amplitude=cell["amplitude"], random_state=rng)
    rec = cs.make_recoverer(cell["solver"], **_resolve(cell["params"], K))
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        res = rec.recover(A, A @ X)
    sec = time.perf_counter() - t0
    Xh = np.asarray(res.x)
    ok = phase.phase_success(X, np.nan_to_num(Xh, nan=0.0))
    diverged = int(np.count_nonzero(np.isnan(Xh).any(axis=0)))
    return dict(successes=int(ok.sum()), rate=float(ok.mean()), n_diverged=diverged, seconds=sec,
                stop_reason=str(res.stop_reason))


def k50(rows, curve: str) -> float:
    """Sparsity K at 50 % success of one curve (logistic fit over K, SparseLab's estimate)."""
    rs = [r for r in rows if r["curve"] == curve]
    cr = phase.crossings_by_group(rs, group=("curve",), x="K")
    return float(cr[0]["K_cross"]) if cr else float("nan")


def draw_rates(ax, rows, curves, *, title: str = "", styles: dict | None = None) -> None:
    """% recovered against K, one curve per label of ``curves`` (greyscale-safe styles)."""
    from experiments import _plotting

    for i, label in enumerate(curves):
        rs = _plotting.sorted_rows([r for r in rows if r["curve"] == label], ("K",))
        if not rs:
            continue
        st = (styles or {}).get(label, _plotting.style(i))
        ax.plot([r["K"] for r in rs], [100 * r["successes"] / r["trials"] for r in rs], color=st["color"], ls=st["ls"],
                marker=st["marker"], ms=4, lw=1.4, label=label)
    ax.set(xlabel="sparsity K", ylabel="% of signals recovered (‖x − x̂‖² < 1e-4‖x‖²)", ylim=(-2, 102), title=title)
    ax.grid(alpha=0.3)
