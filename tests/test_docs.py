"""The Sphinx documentation builds with warnings as errors and documents what is registered."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import cstoolkit as cs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")


@pytest.fixture(scope="module")
def conf():
    spec = importlib.util.spec_from_file_location("cstoolkit_docs_conf", DOCS / "conf.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    r = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q", str(DOCS), str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert r.returncode == 0, f"sphinx-build failed (warnings are errors):\n{r.stderr[-5000:]}"
    return out


def test_escape_keeps_code_math_and_literals(conf):
    lines = [
        "Support of the k largest |x̂| entries; sets n_iter_ and history_.",
        "Keep ``a|b`` and :math:`\\|x\\|_1` and see [1]_ and **components_** : ndarray",
        ".. math::",
        "",
        "    \\|A x - y\\|_2 = |r|",
        "back to text |y|",
    ]
    conf._escape_plain_text(None, "function", "f", None, {}, lines)
    assert lines[0] == "Support of the k largest \\|x̂\\| entries; sets n_iter\\_ and history\\_."
    assert lines[1] == "Keep ``a|b`` and :math:`\\|x\\|_1` and see [1]_ and **components_** : ndarray"
    assert lines[4] == "    \\|A x - y\\|_2 = |r|"
    assert lines[5] == "back to text \\|y\\|"


def test_figures_page_tables_from_json(conf, tmp_path):
    import json

    import experiments

    name = sorted(m.name for m in __import__("pkgutil").iter_modules(experiments.__path__) if not m.name.startswith("_"))[0]
    summary = {"config": {"quick": True, "d": 256}, "fitted_line": {"slope": 1.5312, "intercept": 0.25},
               "wall_seconds": 12.0, "m95": [{"K": 4, "m95": 40.5, "paper_m95": 41.0}, {"K": 8, "m95": 62.0, "paper_m95": 63.5}]}
    (tmp_path / f"{name}.json").write_text(json.dumps(summary))
    rst = conf._figures_rst(tmp_path)
    section = rst[rst.index(f"``{name}``"):]
    assert "--quick" in section and "fitted_line.slope" in section and "1.531" in section
    assert "   * - K\n     - m95\n     - paper_m95" in section and "     - 63.5" in section
    assert "is not in this build yet" in section  # no PNG in tmp_path
    from docutils.core import publish_doctree

    # the generated reST is valid (Sphinx-only directives aside)
    plain = "\n".join(l for l in rst.splitlines() if not l.startswith((".. automodule::", "   :no-members:")))
    publish_doctree(plain, settings_overrides={"report_level": 2, "halt_level": 2})


def test_api_page_lists_every_public_module(conf):
    mods = conf._public_modules("cstoolkit")
    assert {"cstoolkit.solvers.l1.proximal", "cstoolkit.conventions", "cstoolkit.experiment", "cstoolkit.distributed"} <= set(mods)
    assert not [m for m in mods if "._" in m]
    rst = conf._api_rst()
    for m in mods[1:]:
        assert f".. automodule:: {m}\n" in rst


def test_sphinx_build_warning_free_and_complete(html):
    api = (html / "api.html").read_text()
    # every registered solver and learner class has its own entry, from its own module
    for reg in (cs.RECOVERERS, cs.LEARNERS):
        for name in reg.names():
            cls = reg.get(name)
            if cls.__module__.startswith("cstoolkit."):
                assert f'id="{cls.__module__}.{cls.__name__}"' in api, (name, cls)
    assert 'id="cstoolkit.make_recoverer"' in api
    assert 'id="cstoolkit.conventions.lam_from_sklearn_alpha"' in api
    conv = (html / "conventions.html").read_text()
    assert "sklearn_alpha_from_lam" in conv and "Rows and columns" in conv
    figures = (html / "figures.html").read_text()
    import experiments

    for info in __import__("pkgutil").iter_modules(experiments.__path__):
        if not info.name.startswith("_"):
            assert f'id="{info.name.replace("_", "-")}"' in figures  # one section per experiment
            if (ROOT / "figures" / f"{info.name}.png").is_file():
                assert f"{info.name}.png" in figures
    for page in ("distributed", "adding_a_solver", "cli", "notebooks"):
        assert (html / f"{page}.html").is_file()
    assert "dask scheduler" in (html / "distributed.html").read_text()


def test_gallery_examples_run_and_draw(html):
    """Every docs/examples/plot_*.py is executed by sphinx-gallery and leaves its figure."""
    examples = sorted(p.stem for p in (DOCS / "examples").glob("plot_*.py"))
    assert len(examples) >= 4
    for name in examples:
        page = html / "auto_examples" / f"{name}.html"
        assert page.is_file(), name
        assert (html / "_images" / f"sphx_glr_{name}_001.png").is_file(), name
    assert "Example gallery" in (html / "auto_examples" / "index.html").read_text()
