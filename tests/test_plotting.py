"""Plotting rules of experiments/: deterministic bytes, no sentinels, every value visible."""

import hashlib
import math
import random
from pathlib import Path

import numpy as np
import pytest

from experiments import _plotting

ROOT = Path(__file__).resolve().parent.parent
FIG = ROOT / "figures"


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).glob("*.*")) if p.suffix in (".png", ".svg")}


def test_finite_or_nan_removes_sentinels_and_infinities():
    for v in (1e308, -1e308, math.inf, -math.inf, "", None, "inf", float("nan")):
        assert math.isnan(_plotting.finite_or_nan(v)), v
    assert _plotting.finite_or_nan("0.25") == 0.25 and _plotting.finite_or_nan(3) == 3.0
    assert _plotting.finite_or_nan("solved") == "solved"


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_committed_numbers_have_no_sentinel(ext):
    for p in FIG.glob(f"*.{ext}"):
        text = p.read_text()
        assert "1e+308" not in text and "Infinity" not in text and "1e308" not in text, p.name


def test_plot_clipped_marks_every_off_axis_value():
    plt = _plotting.setup()
    fig, ax = plt.subplots()
    n = _plotting.plot_clipped(ax, [0, 1, 2, 3, 4], [1e-13, 0.5, 1.0, 5.0, np.nan], (0.2, 2.0), label="c")
    texts = sorted(t.get_text() for t in ax.texts)
    plt.close(fig)
    assert n == 2 and texts == ["1e-13", "5"]


def test_log_limits_contain_every_value():
    lo, hi = _plotting.log_limits([1e-13, 0.3, 2.5, np.nan, np.inf, 0.0])
    assert lo <= 1e-13 and hi >= 2.5


def _rows(seed):
    """A small embedding-study table with a diverged cell and an off-axis median."""
    rng = np.random.default_rng(0)
    rows = []
    for basis in ("identity", "pca"):
        for solver in ("omp", "lasso", "bp-homotopy", "sl0", "group-lasso", "iht"):
            for m in (96, 192, 384):
                med = float(rng.uniform(0.3, 1.2)) if not (solver == "sl0" and m == 384) else 1e-13
                div = solver == "iht" and m == 96
                rows.append(dict(matrix="synthetic", basis=basis, solver=solver, n=384, m=m, k=32, n_signals=24,
                                 err_q25=med * 0.9, err_median=math.nan if div else med, err_q75=math.inf if div else med * 1.1,
                                 floor_q25=0.6, floor_median=0.65, floor_q75=0.7, n_diverged=20 if div else 0, ok="True"))
    random.Random(seed).shuffle(rows)
    return rows


def test_embedding_figures_byte_identical_from_identical_numbers(tmp_path):
    from experiments import embedding_recovery as er

    er.draw(_rows(1), tmp_path / "a")
    er.draw(_rows(2), tmp_path / "b")  # same numbers, another order (the grid runner's is unordered)
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert set(a) == {f"{er.NAME}{s}.{e}" for s in ("", "_all") for e in ("png", "svg")}
    assert a == b
    svg = (tmp_path / "a" / f"{er.NAME}.svg").read_text()
    assert "<dc:date>" not in svg


def test_ranked_table_puts_diverged_last_and_counts_them():
    from experiments import embedding_recovery as er

    table, cols = er.ranked_table(_rows(0))
    assert cols == [(b, q) for b in ("identity", "pca") for q in er.TABLE_RATIOS]
    iht = next(t for t in table if t["solver"] == "iht")
    v, nd, B = iht["cells"][("pca", 0.25)]
    assert math.isnan(v) and (nd, B) == (20, 24)


# every committed figure but the embedding study's (drawn from shuffled numbers above)
@pytest.mark.parametrize("name", [n for n in __import__("experiments._redraw", fromlist=["FIGURES"]).FIGURES
                                  if n != "embedding_recovery"])
def test_committed_figure_redraws_deterministically(tmp_path, name):
    from experiments import _redraw as redraw

    redraw.redraw(name, FIG, tmp_path / "a")
    redraw.redraw(name, FIG, tmp_path / "b")
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a and a == b
