"""Every notebook in notebooks/ (jupytext percent format) runs top to bottom in a real kernel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec that runs *this* interpreter (so the kernel sees the same installed packages)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    name = "cstoolkit-test"
    install(kernel_name=name, prefix=str(prefix))
    ksm = KernelSpecManager(kernel_dirs=[str(prefix / "share" / "jupyter" / "kernels")])
    spec = ksm.get_kernel_spec(name)
    assert spec.argv[0] == sys.executable
    return name, ksm


def test_notebooks_found():
    assert len(NOTEBOOKS) >= 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_name):
    import re

    import cstoolkit as cs

    name, ksm = kernel_name
    for emb in re.findall(r'load_embeddings\("(\w+)"\)', path.read_text()):
        info = cs.available_embeddings().get(emb, {})
        if not info.get("installed"):
            pytest.skip(f"embedding {emb!r} not installed ({info.get('install', 'unknown name')})")
    nb = jupytext.read(path)
    assert nb.cells and nb.metadata.get("kernelspec", {}).get("name") == "python3"
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=name, kernel_spec_manager=ksm)
    client = nbclient.NotebookClient(nb, km=km, timeout=240, resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert text.strip(), "a notebook shows its results"


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_ipynb_in_sync_with_its_jupytext_source(path):
    """The .ipynb users open in Jupyter holds exactly the cells of the reviewed .py source.

    After editing either one: ``jupytext --sync notebooks/*.py`` (or open the pair in JupyterLab
    with jupytext installed, which saves both).
    """
    ipynb = path.with_suffix(".ipynb")
    assert ipynb.is_file(), f"missing {ipynb.name}: run jupytext --sync {path.relative_to(ROOT)}"
    src, nb = jupytext.read(path), jupytext.read(ipynb)
    assert _cells(nb) == _cells(src), f"{ipynb.name} and {path.name} differ: run jupytext --sync on them"
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"  # paired both ways
    assert src.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), \
        f"{ipynb.name} carries outputs; commit it clean (jupytext --sync writes it without outputs)"


def test_every_ipynb_has_a_source():
    orphans = [p.name for p in (ROOT / "notebooks").glob("*.ipynb") if not p.with_suffix(".py").is_file()]
    assert not orphans
