"""Plotting rules shared by every figure of ``experiments/`` (one home for them).

* **Deterministic output.** :func:`save` writes PNG and SVG whose bytes depend only on the
  numbers drawn: no date in the metadata, a fixed SVG hash salt (element ids), the Agg
  backend, and callers sort their rows before drawing (see :func:`sorted_rows`).
* **No sentinels.** Missing or diverged values are NaN in memory and empty in CSV / ``null``
  in JSON, next to an explicit count column (``n_diverged``). :func:`finite_or_nan` turns the
  old ``±1e308`` stand-in for infinity (and ±inf) into NaN.
* **Every value visible.** :func:`plot_clipped` draws a curve inside fixed axis limits and
  marks each point outside them with an edge triangle and its value, so nothing is silently
  drawn at the edge; :func:`log_limits` picks log limits that contain every value instead.
* **Readable in greyscale.** :data:`FAMILY_STYLE` gives the solver families distinct markers
  and line styles, not colours alone (Okabe–Ito colours on top).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

#: Anything at or beyond this magnitude is the old JSON stand-in for ±inf.
SENTINEL = 1e307

#: Okabe & Ito's colour-blind-safe palette (black first).
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")

#: One style per solver family: colour, marker, line style (distinct in greyscale).
FAMILY_STYLE = {
    "greedy": dict(color="#D55E00", marker="o", ls="-"),
    "l1": dict(color="#0072B2", marker="s", ls="--"),
    "bp": dict(color="#000000", marker="D", ls=":"),
    "beyond-l1": dict(color="#009E73", marker="^", ls="-."),
    "structured": dict(color="#CC79A7", marker="v", ls=(0, (5, 1, 1, 1, 1, 1))),
}

#: Distinct (marker, line style) pairs for curves indexed by position (greyscale-safe).
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">", "h", "p")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)), (0, (3, 1, 1, 1)))


def style(i: int) -> dict:
    """Colour, marker and line style of the ``i``-th curve of a figure (greyscale-safe)."""
    return dict(color=OKABE_ITO[i % len(OKABE_ITO)] if i % len(OKABE_ITO) != 4 else "#7F7F7F",
                marker=MARKERS[i % len(MARKERS)], ls=LINESTYLES[i % len(LINESTYLES)])


def setup():
    """Select the Agg backend and the rcParams that make output reproducible; returns pyplot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({
        "svg.hashsalt": "cstoolkit",  # element ids from a fixed salt, not a random uuid
        "svg.fonttype": "path",
        "path.simplify": False,  # no data-dependent path simplification
        "axes.prop_cycle": matplotlib.cycler(color=[c for c in OKABE_ITO if c != "#F0E442"]),
    })
    return plt


def save(fig, out: Path, name: str, dpi: int = 110) -> list[Path]:
    """Write ``out/name.png`` and ``out/name.svg`` with fixed metadata and close the figure.

    PNG carries only the Software tag (the matplotlib version); SVG has no date. The same
    numbers drawn twice give byte-identical files (tests/test_plotting.py).
    """
    import matplotlib
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    software = f"matplotlib {matplotlib.__version__}"
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    with matplotlib.rc_context({"svg.hashsalt": "cstoolkit"}):
        fig.savefig(paths[0], dpi=dpi, metadata={"Software": software})
        fig.savefig(paths[1], metadata={"Date": None, "Creator": software})
    plt.close(fig)
    return paths


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------
def finite_or_nan(v):
    """``float(v)``, or NaN for ±inf, the old ``±1e308`` sentinel, empty strings and None."""
    if v is None or (isinstance(v, str) and v.strip() in ("", "nan", "inf", "-inf")):
        return math.nan
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return f if math.isfinite(f) and abs(f) < SENTINEL else math.nan


def clean_rows(rows: Iterable[Mapping], keys: Sequence[str]) -> list[dict]:
    """Copies of ``rows`` with ``keys`` passed through :func:`finite_or_nan`."""
    out = []
    for r in rows:
        r = dict(r)
        for k in keys:
            if k in r:
                r[k] = finite_or_nan(r[k])
        out.append(r)
    return out


def sorted_rows(rows: Iterable[Mapping], keys: Sequence[str]) -> list[dict]:
    """Rows in a fixed order (by ``keys``), whatever order the grid runner returned them in."""
    def key(r):
        return tuple((0, float(r[k])) if isinstance(r.get(k), (int, float)) else (1, str(r.get(k))) for k in keys)

    return sorted((dict(r) for r in rows), key=key)


def is_ok(r: Mapping) -> bool:
    """Whether a row's ``ok`` column (bool, 1.0 or the CSV string ``"True"``) says it ran."""
    return r.get("ok", True) in (True, 1.0, "True")


# --------------------------------------------------------------------------------------------
# axes that show every value
# --------------------------------------------------------------------------------------------
def log_limits(values, pad: float = 1.6, floor: float | None = None) -> tuple[float, float]:
    """Log-axis limits that contain every positive finite value (padded by ``pad``).

    ``floor`` (optional) is the lowest limit allowed; values under it are for
    :func:`plot_clipped` to mark.
    """
    v = np.asarray([x for x in np.ravel(values) if np.isfinite(x) and x > 0], dtype=float)
    if not v.size:
        return (1e-3, 1.0)
    lo, hi = v.min() / pad, v.max() * pad
    if floor is not None:
        lo = max(lo, floor)
    return (10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi)))


def fmt_value(v: float) -> str:
    """Short label for a value: 3 significant digits, ``0`` for exact zeros."""
    if v == 0:
        return "0"
    return f"{v:.2g}" if abs(v) < 1e-2 or abs(v) >= 1e4 else f"{v:.3g}"


def plot_clipped(ax, x, y, ylim, *, label=None, annotate: bool = True, text_kw: Mapping | None = None,
                 stack: int = 0, **kw) -> int:
    """Plot ``y(x)`` with y limited to ``ylim``; points outside are drawn at the edge as
    triangles (▼ under, ▲ over) labelled with their value. NaN points are left out.
    ``stack`` shifts the labels of the ``stack``-th curve of an axis so they do not overlap.

    Returns the number of off-axis points (callers say so in the caption).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    lo, hi = ylim
    finite = np.isfinite(y)
    low, high = finite & (y < lo), finite & (y > hi)
    yc = np.where(low, lo, np.where(high, hi, y))
    yc = np.where(finite, yc, np.nan)
    marker = kw.pop("marker", "o")
    color = kw.get("color")
    inside = finite & ~low & ~high
    # one line; markers only at the points inside the axis (the legend shows the marker)
    (line,) = ax.plot(x, yc, label=label, marker=marker, markevery=[bool(v) for v in inside], **kw)
    color = line.get_color() if color is None else color
    ms = kw.get("ms", kw.get("markersize", 5))
    tk = dict(fontsize=6, color=color, ha="center")
    tk.update(text_kw or {})
    for mask, edge, mk, va, dy in ((low, lo, "v", "bottom", 1.0), (high, hi, "^", "top", -1.0)):
        if not mask.any():
            continue
        ax.plot(x[mask], np.full(mask.sum(), edge), ls="none", marker=mk, color=color, ms=ms + 2,
                mfc="white", mec=color, clip_on=False, zorder=6)
        if annotate:
            for xi, yi in zip(x[mask], y[mask]):
                ax.annotate(fmt_value(yi), (xi, edge), xytext=(0, dy * (6 + 7 * stack)), textcoords="offset points",
                            va=va, annotation_clip=False, **tk)
    return int(low.sum() + high.sum())
