"""Drawing of the embedding study (figure 1) from cached numbers only.

``embedding_recovery.png``: one representative per family, four bases, the K-term floor;
``embedding_recovery_all.png``: every solver as one row of a colour-coded table, ranked. The
family of a solver (style, grouping) is its declared ``study_settings.family``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.studies import settings_of
from experiments import _common, _plotting
from experiments._embedding_config import BASES, BASIS_TITLES, NAME, REPRESENTATIVES

NUMERIC = ("err_q25", "err_median", "err_q75", "err_x_median", "floor_q25", "floor_median", "floor_q75",
           "nnz_median", "n_diverged", "n_signals", "m", "n", "k", "ratio")
# (b)–(d) live between ~0.3 and ~1.5: the axis zooms there and marks every value outside it
ZOOM = (0.25, 2.0)


def solver_family(name: str) -> str:
    """Family of a solver in the figures: its declared ``study_settings.family`` ("other" if unregistered)."""
    return settings_of(name).family if name in cs.available_recoverers() else "other"


FAMILY_LABEL = {"greedy": "greedy", "l1": "ℓ1-penalised", "bp": "exact basis pursuit", "beyond-l1": "beyond ℓ1",
                "structured": "structured (groups of 4)", "other": "other"}


def _prepare_rows(rows) -> list[dict]:
    rows = _plotting.clean_rows([r for r in rows if _plotting.is_ok(r)], NUMERIC)
    return _plotting.sorted_rows(rows, ("basis", "solver", "m"))


def _sample_note(rows, solvers) -> str:
    """'B = 96 vectors at 9 values of m' per solver, grouped when they agree."""
    desc = {}
    for s in solvers:
        sr = [r for r in rows if r["solver"] == s]
        B = sorted({int(r["n_signals"]) for r in sr})
        nm = len({int(r["m"]) for r in sr})
        desc.setdefault((tuple(B), nm), []).append(s)
    parts = []
    for (B, nm), ss in sorted(desc.items(), key=lambda kv: (-kv[0][0][-1], kv[0][1])):
        who = "every solver" if len(desc) == 1 else ", ".join(ss)
        parts.append(f"{who}: B = {'/'.join(map(str, B))} vectors at {nm} values of m")
    return "; ".join(parts)


def _draw_floor(ax, b, br):
    fl = [r for r in br if np.isfinite(r.get("floor_median", np.nan))]
    if not fl:
        return
    big = max(fl, key=lambda r: (r["n_signals"], r["m"], r["solver"]))  # the floor of the full sample
    if b == "identity":
        ax.text(0.98, 0.97, f"x_K is {big['floor_median']:.2f} (median) from x:\n‖x − x_K‖/‖x‖, K = {int(big['k'])}",
                transform=ax.transAxes, ha="right", va="top", fontsize=8, bbox=dict(fc="white", ec="0.7"))
        return
    ax.axhline(big["floor_median"], color="0.35", lw=2.5, ls="-", alpha=0.45, zorder=1,
               label=f"best K-term error (K = {int(big['k'])})")
    ax.axhspan(big["floor_q25"], big["floor_q75"], color="k", alpha=0.06, lw=0)
    ax.text(0.99, big["floor_median"] * 1.04, f"K-term floor {big['floor_median']:.2f}", fontsize=8, ha="right",
            va="bottom", transform=ax.get_yaxis_transform())


def draw(rows: list[dict], out: Path, meta: dict | None = None) -> None:
    """The main figure (one representative per family, four bases) and the companion table.

    Main: ``NAME.png`` — median error with its IQR band for :data:`REPRESENTATIVES`, the K-term
    floor; off-axis medians are marked at the edge with their value. Companion:
    ``NAME_all.png`` — every solver, ranked (see :func:`draw_table`).
    """
    plt = _plotting.setup()
    meta = meta or {}
    rows = _prepare_rows(rows)
    present = {r["solver"] for r in rows}
    reps = [(f, s) for f, s in REPRESENTATIVES.items() if s in present]
    bases = [b for b in BASES if any(r["basis"] == b for r in rows)]
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), sharex=True)
    n_off = 0
    for ax, b in zip(axes.ravel(), bases):
        br = [r for r in rows if r["basis"] == b]
        vals = [r[q] for r in br if r["solver"] in dict(reps).values() for q in ("err_median",)]
        ylim = _plotting.log_limits(vals) if b == "identity" else ZOOM
        for j, (fam, s) in enumerate(reps):
            sr = [r for r in br if r["solver"] == s]
            if not sr:
                continue
            st = _plotting.FAMILY_STYLE[fam]
            x = np.array([r["m"] / r["n"] for r in sr])
            med = np.array([r["err_median"] for r in sr])
            lo = np.clip([r["err_q25"] for r in sr], *ylim)
            hi = np.clip(np.nan_to_num([r["err_q75"] for r in sr], nan=ylim[1]), *ylim)
            ax.fill_between(x, lo, hi, color=st["color"], alpha=0.10, lw=0)
            n_off += _plotting.plot_clipped(ax, x, med, ylim, color=st["color"], ls=st["ls"], marker=st["marker"],
                                            lw=1.6, ms=5, label=f"{FAMILY_LABEL[fam]}: {s}", stack=j)
            div = [r for r in sr if not np.isfinite(r["err_median"]) and r.get("n_diverged", 0) > 0]
            for r in div:  # median undefined: half the sample or more diverged
                ax.annotate(f"{s}: {int(r['n_diverged'])}/{int(r['n_signals'])} diverged", (r["m"] / r["n"], ylim[1]),
                            xytext=(0, -10 - 8 * j), textcoords="offset points", fontsize=6, color=st["color"],
                            ha="center")
        _draw_floor(ax, b, br)
        ax.set_yscale("log")
        ax.set_ylim(*ylim)
        if b != "identity":
            import matplotlib.ticker

            ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_xlim(0, 1.05)
        ax.set_title(BASIS_TITLES[b], fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.set_ylabel("relative error (median, IQR band)")
    for ax in axes[-1]:
        ax.set_xlabel("m / n (measurements per dimension)")
    handles = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=3, fontsize=9, frameon=False)
    r0 = rows[0]
    fig.suptitle(f"Compressive measurement of {r0['matrix']} token vectors (n = {int(r0['n'])}, Gaussian Φ), "
                 f"one solver per family\n{_sample_note(rows, [s for _, s in reps])}; "
                 f"▼/▲: median outside the axis, with its value ({n_off} points)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    _common.save_figure(fig, out, NAME)
    draw_table(rows, out, meta)


def redraw(src, out) -> None:
    """Draw both figures again from the committed ``src/NAME.csv`` (no recomputation)."""
    from cstoolkit.experiment import read_csv

    draw(read_csv(Path(src) / f"{NAME}.csv"), out)


TABLE_RATIOS = (0.25, 0.5, 1.0)


def ranked_table(rows, ratios=TABLE_RATIOS) -> list[dict]:
    """Every solver's median error per (basis, m/n), ranked by its mean rank over the columns.

    Returns rows ``solver, family, rank, n_signals, cells`` where ``cells`` maps
    ``(basis, ratio)`` to ``(median, n_diverged, n_signals)``; a solver's rank in a column with
    an undefined median (half the sample or more diverged) is the worst.
    """
    rows = _prepare_rows(rows)
    cols = [(b, q) for b in BASES for q in ratios if any(r["basis"] == b for r in rows)]
    solvers = sorted({r["solver"] for r in rows})
    cells = {s: {} for s in solvers}
    for r in rows:
        for q in ratios:
            if abs(r["m"] / r["n"] - q) < 0.02:
                cells[r["solver"]][(r["basis"], q)] = (r["err_median"], int(r.get("n_diverged") or 0), int(r["n_signals"]))
    ranks = {s: [] for s in solvers}
    for c in cols:
        have = [(cells[s][c][0] if np.isfinite(cells[s][c][0]) else np.inf, s) for s in solvers if c in cells[s]]
        for i, (_, s) in enumerate(sorted(have)):
            ranks[s].append(i + 1)
    out = [dict(solver=s, family=solver_family(s), mean_rank=float(np.mean(ranks[s])) if ranks[s] else np.nan,
                n_signals=max((v[2] for v in cells[s].values()), default=0), cells=cells[s]) for s in solvers]
    return sorted(out, key=lambda t: (t["mean_rank"], t["solver"])), cols


def draw_table(rows, out: Path, meta: dict | None = None) -> None:
    """Companion figure ``NAME_all.png``: every solver as one row of a colour-coded table.

    Columns: basis × m/n; cell colour: the median error on a log scale from 1e-3 (and below)
    to 2 (viridis, readable in greyscale as lightness); text: the value, "k/B div." when the median is undefined because
    half the sample or more diverged, blank when not run. Rows sorted by mean rank.
    """
    plt = _plotting.setup()
    from matplotlib.colors import LogNorm

    table, cols = ranked_table(rows)
    M = np.full((len(table), len(cols)), np.nan)
    for i, t in enumerate(table):
        for j, c in enumerate(cols):
            if c in t["cells"]:
                M[i, j] = t["cells"][c][0]
    # colour resolves the 1e-3 … 2 range where the solvers differ; anything below 1e-3 is "exact"
    # and takes the darkest colour (the text gives every value)
    norm = LogNorm(vmin=1e-3, vmax=2.0, clip=True)
    fig, ax = plt.subplots(figsize=(13, 0.32 * len(table) + 2.2))
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    im = ax.imshow(np.where(M > 0, M, np.nan), aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
    for i, t in enumerate(table):
        for j, c in enumerate(cols):
            if c not in t["cells"]:
                continue
            v, nd, B = t["cells"][c]
            txt = f"{nd}/{B} div." if not np.isfinite(v) else _plotting.fmt_value(v)
            light = np.isfinite(v) and v > 0 and norm(v) > 0.6
            ax.text(j, i, txt, ha="center", va="center", fontsize=6.5, color="black" if light or not np.isfinite(v) else "white")
    ax.set_xticks(range(len(cols)), [f"{q:g}" for _, q in cols], fontsize=8)
    ax.set_yticks(range(len(table)), [f"{t['solver']} ({t['family']}, B={t['n_signals']})" for t in table], fontsize=8)
    nr = len(TABLE_RATIOS)
    for j in range(nr, len(cols), nr):
        ax.axvline(j - 0.5, color="white", lw=3)
    sec = ax.secondary_xaxis("top")
    nb = len(cols) // nr
    sec.set_xticks([nr * i + (nr - 1) / 2 for i in range(nb)],
                   [BASIS_TITLES[cols[nr * i][0]].split("\n")[0] for i in range(nb)], fontsize=8)
    ax.set_xlabel("m / n")
    fig.colorbar(im, ax=ax, label="median relative error (≤ 1e-3: darkest)", pad=0.01, extend="min")
    r0 = rows[0]
    ax.set_title(f"Every solver on {r0['matrix']} vectors, ranked by mean rank over the columns (best first); "
                 f"'k/B div.': median undefined, k of B vectors diverged", fontsize=9, pad=26)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME + "_all")

