"""Sphinx configuration: API reference from numpydoc docstrings, narrative pages, and two
pages filled at build time from what is in the tree (every public module; every experiment
with its figure and the numbers in figures/<name>.json)."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "cstoolkit"
author = "cstoolkit developers"
copyright = "cstoolkit developers"
try:
    from cstoolkit import __version__ as release
except Exception:  # pragma: no cover - the build then fails loudly in autodoc anyway
    release = "unknown"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# Example gallery: docs/examples/plot_*.py are executed at every build (each draws its figure);
# a failing example fails the build.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "reset_modules": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "remove_config_comments": True,
}

# numpydoc: render the sections, but do not build member tables (autodoc lists members)
# and do not turn every type word into a cross-reference that may not resolve.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # types are written in the docstrings (numpydoc style)
autodoc_inherit_docstrings = True

exclude_patterns = ["_build", "examples/GALLERY_HEADER.rst"]
# keep "--quick" and "--n-jobs" as typed (no en dashes): docstrings quote command lines
smartquotes_action = "qe"
html_theme = "alabaster"
html_static_path: list[str] = []


# --- pages generated from the tree -----------------------------------------------------------

def _public_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _api_rst() -> str:
    out = []
    for mod in _public_modules("cstoolkit"):
        if mod == "cstoolkit":
            continue  # the package's own functions are documented at the top of the page
        title = f"``{mod}``"
        out += [title, "-" * len(title), "", f".. automodule:: {mod}", ""]
    return "\n".join(out) + "\n"


def _flat_rows(obj, prefix=""):
    """(key, value) rows for the scalars of a JSON summary, one level of nesting deep."""
    rows = []
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, (int, float, str, bool)) or v is None:
            rows.append((key, v))
        elif isinstance(v, dict) and not prefix:
            rows += _flat_rows(v, prefix=key + ".")
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "/")


def _table(header, rows) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for r in [header, *rows]:
        lines.append("   * - " + _fmt(r[0]) if r else "   * -")
        lines += [f"     - {_fmt(c)}" for c in r[1:]]
    return lines + [""]


def _figures_rst(figures: Path = ROOT / "figures") -> str:
    try:
        import experiments
    except ImportError:
        return "No ``experiments`` package found.\n"
    out = []
    names = sorted(m.name for m in pkgutil.iter_modules(experiments.__path__) if not m.name.startswith("_"))
    for name in names:
        title = f"``{name}``"
        out += [title, "-" * len(title), ""]
        out += [f".. automodule:: experiments.{name}", "   :no-members:", ""]
        out += ["Reproduce with::", "", f"    cstoolkit run {name}            # or --quick for the CI size", ""]
        takeaway = getattr(importlib.import_module(f"experiments.{name}"), "TAKEAWAY", "")
        if takeaway:
            out += [f"**Takeaway:** {takeaway}", ""]
        png, js, csv = (figures / f"{name}.{ext}" for ext in ("png", "json", "csv"))
        if png.is_file():
            out += [f".. image:: ../figures/{name}.png", f"   :alt: {name}", "   :width: 90%", ""]
        else:
            out += [f"*figures/{name}.png is not in this build yet: run the command above.*", ""]
        if csv.is_file():
            out += [f"The numbers behind the figure: :download:`{name}.csv <../figures/{name}.csv>`.", ""]
        if js.is_file():
            summary = json.loads(js.read_text())
            config = summary.get("config", {})
            if config.get("quick"):
                out += ["*These numbers come from a* ``--quick`` *run (small sizes).*", ""]
            scalars = [r for r in _flat_rows({k: v for k, v in summary.items() if k != "config"})]
            if scalars:
                out += [f"Summary from ``figures/{name}.json``:", ""] + _table(("quantity", "value"), scalars)
            for key, val in summary.items():
                if key != "config" and isinstance(val, list) and val and all(isinstance(r, dict) for r in val):
                    cols = [c for c in val[0] if isinstance(val[0][c], (int, float, str, bool))]
                    out += [f"``{key}``:", ""] + _table(cols, [[r.get(c, "") for c in cols] for r in val])
        out.append("")
    return "\n".join(out) + "\n"


def _contract_rst() -> str:
    """The solver table (certificate, kind, x0, engines, scales tested, exclusions) and the
    parameter table, from the registry, each class's ``_parameter_constraints`` and the
    conformance suite's exclusions (one source each: nothing here is typed twice)."""
    import importlib.util

    import cstoolkit as cs
    from cstoolkit._certificates import CERTIFICATES

    excluded, scales = {}, ""
    suite = ROOT / "tests" / "test_conformance.py"
    try:
        spec = importlib.util.spec_from_file_location("cstoolkit_conformance", suite)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        excluded = mod.EXCLUDED
        scales = ", ".join(f"{w} × {c:g}" for w, c in mod.SCALES)
    except Exception as exc:  # pytest missing in a docs-only environment
        scales = f"(suite not importable here: {type(exc).__name__})"
    rows = []
    for name in cs.available_recoverers():
        cls = cs.get_recoverer_class(name)
        notes = [f"{check}: {why}" for check, table in excluded.items() for key, why in table.items()
                 if key == name or (isinstance(key, tuple) and key[0] == name)]
        engines = "numba, numpy" if "engine" in cls._param_names() else "numpy"
        rows.append((f"``{name}``", "direct" if issubclass(cls, cs.DirectRecoverer) else "iterative",
                     CERTIFICATES[cls.objective_kind], f"``{cls._certificate_param}``, ≥ √eps" if cls._certificate_param
                     else "√eps", "yes" if cls.supports_x0 else "rejected", engines,
                     "; ".join(notes) or "none"))
    out = [f"Scales tested for every solver (float64; float32 for the middle two): {scales}.", ""]
    out += _table(("solver", "kind", "certificate", "tolerance", "x0", "engines", "excluded from"), rows)
    out += ["Parameters", "----------", "",
            "Generated from each solver's ``_parameter_constraints`` and its units "
            "(``_param_units``: parameters with units are converted for the normalised problem).", ""]
    prow = []
    for name in cs.available_recoverers():
        cls = cs.get_recoverer_class(name)
        inst = cls()
        units = cls._param_units
        for p in cls._param_names():
            allowed = " or ".join(str(c) if c is not None else "None" for c in cls._parameter_constraints.get(p, []))
            prow.append((f"``{name}``", f"``{p}``", f"``{getattr(inst, p)!r}``", allowed.replace("<class 'bool'>", "a bool"),
                         units.get(p, "")))
    out += _table(("solver", "parameter", "default", "accepted", "units"), prow)
    out += ["", "Study settings", "--------------", "",
            "Generated from each solver's ``study_settings`` (:class:`cstoolkit.studies.StudySettings`): how the "
            "phase diagram and the embedding study run it (``k``: the sparsity of the cell).", ""]
    from cstoolkit.studies import STUDIES

    srow = []
    for name in cs.available_recoverers():
        st = cs.get_recoverer_class(name).study_settings

        def params(study, st=st):
            return ", ".join(f"{p}={v!r}" for p, v in st.record(study)["params"].items()).replace("'", "") or "—"

        srow.append((f"``{name}``", st.family, ", ".join(s for s in STUDIES if s in st.studies) or "—", params("phase"),
                     params("embedding"), "; ".join(f for f in ("slow", "budget_limited") if getattr(st, f)) or "—"))
    out += _table(("solver", "family", "studies", "phase parameters", "embedding parameters", "flags"), srow)
    return "\n".join(out) + "\n"


_GENERATED = {"api": _api_rst, "figures": _figures_rst, "contract": _contract_rst}


def _on_source_read(app, docname, source):
    if docname in _GENERATED:
        source[0] = source[0].replace(".. generated-content::", _GENERATED[docname]())


# --- robustness against plain-text docstrings ---------------------------------------------
# Docstrings are written to read well as plain text: |x| for absolute values and n_iter_ for
# fitted attributes. In reStructuredText those are a substitution and a hyperlink reference
# that do not exist. After numpydoc has turned a docstring into reST, escape the two
# characters outside code, math and literal blocks, so that the build stays warning-free
# (it runs with -W) without asking every docstring to be written in reST.

_CODE_SPAN = re.compile(r"(``.+?``|:[\w:-]+:`[^`]*`|`[^`]*`_{0,2})")
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*?)_(?=[\s,.;:)\]]|$)")


def _escape_text(segment: str) -> str:
    segment = segment.replace("|", "\\|")
    return _TRAILING_UNDERSCORE.sub(r"\1\\_", segment)


def _escape_plain_text(app, what, name, obj, options, lines):
    literal_indent = None
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if stripped.rstrip().endswith("::"):
            literal_indent = indent  # math, code and literal blocks follow, more indented
        if not stripped or stripped.startswith((".. ", "|", "+", ">>>", "...")):
            continue
        parts = _CODE_SPAN.split(line)
        lines[i] = "".join(p if j % 2 else _escape_text(p) for j, p in enumerate(parts))


def setup(app):
    app.connect("source-read", _on_source_read)
    app.connect("autodoc-process-docstring", _escape_plain_text, priority=900)
    return {"parallel_read_safe": True}
