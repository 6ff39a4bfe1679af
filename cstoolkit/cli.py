"""The ``cstoolkit`` command: list solvers, recover signals from files, run experiments.

::

    cstoolkit list [solvers|learners]
    cstoolkit recover --solver omp --A A.npy --y y.npy --param n_nonzero_coefs=10 --out x.npy
    cstoolkit run EXPERIMENT [--quick] [--n-jobs N] [--backend B] [--scheduler ADDR] ...

Everything is discovered at run time: solvers and learners from the registries, experiments
from the modules of the ``experiments`` package. Input errors (missing files, shapes that do
not match, unknown names, malformed ``--param``) print one line on stderr and exit with
status 2; this module is the only place in the package that prints.

Why one file (over 400 lines): it is the one place that prints; argument parsing, input loading
and the three sub-commands share its error policy (one line on stderr, status 2).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import importlib
import inspect
import json
import logging
import os
import pkgutil
import re
import sys
from pathlib import Path

import numpy as np

__all__ = ["main", "CLIError", "parse_param", "load_matrix", "available_experiments", "summary_sentence"]

logger = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parent.parent


class CLIError(Exception):
    """An input error reported as one line on stderr with exit status 2."""


# --- helpers (public so that they can be tested and reused) -------------------------------

def parse_param(text: str) -> tuple[str, object]:
    """Parse one ``--param key=value`` into ``(key, value)``.

    The value is read as a Python literal when it is one (``10``, ``1e-3``, ``True``,
    ``None``, ``[1, 2]``, ``'x'``) and kept as a string otherwise (``lam_scale=relative``).

    Parameters
    ----------
    text : str
        ``"key=value"``.

    Returns
    -------
    key : str
    value : object

    Raises
    ------
    CLIError
        When ``text`` has no ``=`` or an empty or non-identifier key.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise CLIError(f"--param expects key=value (e.g. --param lam=0.1), got {text!r}.")
    raw = raw.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, value


def load_matrix(path) -> object:
    """Load a measurement matrix from ``.npy``, ``.npz`` or Matrix Market ``.mtx``.

    Parameters
    ----------
    path : str or Path
        ``.npy`` (dense array), ``.npz`` (a scipy.sparse matrix saved with
        :func:`scipy.sparse.save_npz`, or an :func:`numpy.savez` archive holding one array
        or an array named ``A``), or ``.mtx``.

    Returns
    -------
    A : ndarray or scipy.sparse matrix, shape (m, n)

    Raises
    ------
    CLIError
        Missing file, unknown extension, unreadable content or not 2-D.
    """
    import scipy.io
    import scipy.sparse as sp

    path = Path(path)
    if not path.is_file():
        raise CLIError(f"matrix file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            A = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if "format" in keys and "shape" in keys:
                    A = sp.load_npz(path)
                elif "A" in keys:
                    A = z["A"]
                elif len(keys) == 1:
                    A = z[keys[0]]
                else:
                    raise CLIError(
                        f"{path} holds arrays {keys}; save one array, one named 'A', "
                        "or a scipy.sparse matrix (scipy.sparse.save_npz)."
                    )
        elif suffix == ".mtx":
            A = scipy.io.mmread(str(path))
            A = A.tocsr() if sp.issparse(A) else np.asarray(A)
        else:
            raise CLIError(f"{path}: unknown matrix format {suffix!r}; use .npy, .npz or .mtx.")
    except CLIError:
        raise
    except Exception as exc:  # any reader failure is a bad input file, not a bug here
        raise CLIError(f"could not read {path}: {exc}") from exc
    if A.ndim != 2:
        raise CLIError(f"A in {path} has shape {A.shape}; expected a 2-D matrix of shape (m, n).")
    return A


def _load_signals(path) -> np.ndarray:
    path = Path(path)
    if path.is_dir():
        raise CLIError(f"--y {path} is a directory; expected a .npy file with y of shape (m,) or (m, B).")
    if not path.is_file():
        raise CLIError(f"measurement file {str(path)!r} does not exist.")
    if path.suffix.lower() != ".npy":
        raise CLIError(
            f"--y {path}: measurements are read from a .npy file (np.save) of shape (m,) or (m, B), "
            f"not {path.suffix or 'a file without extension'}; only --A takes .npz/.mtx."
        )
    try:
        y = np.load(path, allow_pickle=False)
    except ValueError as exc:
        why = "holds Python objects (pickled data), which are refused" if "pickle" in str(exc) else str(exc)
        raise CLIError(f"--y {path} is not a numeric .npy array: it {why}.") from exc
    except Exception as exc:
        raise CLIError(f"could not read --y {path} as a .npy array: {exc}") from exc
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "fiuc":
        raise CLIError(f"--y {path} holds dtype {getattr(y, 'dtype', type(y).__name__)}; expected numbers.")
    return y


def _output_path(path, flag: str, suffix: str | None = None) -> Path:
    """Check before any work that ``path`` can be written; create its folder. Returns the real path.

    ``suffix``: what the writer appends when it is missing (``np.save`` adds ``.npy``).
    """
    path = Path(path)
    if path.is_dir():  # also before the suffix: `--out results` is not meant as results.npy
        raise CLIError(f"{flag} {path} is an existing directory; give a file name (e.g. {path / ('x' + (suffix or '.json'))}).")
    if suffix and path.suffix != suffix:
        path = path.with_name(path.name + suffix)
    if path.is_dir():
        raise CLIError(f"{flag} {path} is an existing directory; give a file name (e.g. {path / ('x' + (suffix or '.json'))}).")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{flag} {path}: cannot create the folder {path.parent} ({exc.strerror or exc}).") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CLIError(f"{flag} {path}: not writable (permission denied).")
    return path


def _write(path: Path, flag: str, write) -> None:
    try:
        write()
    except OSError as exc:
        raise CLIError(f"{flag} {path}: could not write ({exc.strerror or exc}).") from None


def _experiments_package():
    try:
        return importlib.import_module("experiments")
    except ImportError:
        # an editable install exposes only ``cstoolkit``; the experiments live beside it
        if (_REPO_ROOT / "experiments" / "__init__.py").is_file():
            sys.path.insert(0, str(_REPO_ROOT))
            return importlib.import_module("experiments")
        raise CLIError(
            "the 'experiments' package is not importable; run from the cstoolkit source "
            "checkout (the folder holding experiments/)."
        ) from None


def available_experiments() -> list[str]:
    """Sorted names of the runnable experiment modules (``experiments.<name>`` with ``main``).

    Returns
    -------
    names : list of str
    """
    pkg = _experiments_package()
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


_ROLE = re.compile(r":[\w:.-]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")  # :class:`~a.B` -> a.B, :math:`x` -> x
_LITERAL = re.compile(r"``([^`]*)``|`([^`]*)`")


def summary_sentence(cls) -> str:
    """One plain sentence describing ``cls``, from its *own* docstring (not a base class's).

    Sphinx roles and literals are reduced to their text; the first paragraph is cut at its
    first sentence end. A class without a docstring of its own gives ``"(no description)"``.

    Parameters
    ----------
    cls : type

    Returns
    -------
    str
    """
    doc = cls.__dict__.get("__doc__")
    if not doc or not doc.strip():
        return "(no description)"
    para = inspect.cleandoc(doc).split("\n\n")[0]
    text = " ".join(line.strip() for line in para.splitlines())
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if m.group(0).startswith(":class:") or
                     m.group(0).startswith(":func:") or m.group(0).startswith(":meth:") else m.group(1), text)
    text = _LITERAL.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    end = re.search(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)\.(?=\s+[A-Z(])", text)
    return text[: end.start() + 1] if end else text


def _signature_params(cls) -> list[tuple[str, object]]:
    out = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out.append((p.name, p.default))
    return out


def _describe(registry, kind: str) -> list[str]:
    lines = [f"{kind}:"]
    width = max((len(n) for n in registry.names()), default=0)
    for name in registry.names():
        cls = registry.get(name)
        lines.append(f"  {name:<{width}}  {cls.__name__} — {summary_sentence(cls)}")
        settings = getattr(cls, "study_settings", None)
        if settings is not None:  # recoverers: how the studies run it (cstoolkit.studies)
            lines.append(f"      study settings: {settings.describe()}")
        for pname, default in _signature_params(cls):
            shown = "(required)" if default is inspect.Parameter.empty else repr(default)
            lines.append(f"      {pname} = {shown}")
    if len(lines) == 1:
        lines.append("  (none registered)")
    return lines


# --- subcommands ------------------------------------------------------------------------

def _cmd_list(args) -> int:
    from .registry import LEARNERS, RECOVERERS

    what = args.what
    blocks = []
    if what in ("all", "solvers"):
        blocks += _describe(RECOVERERS, "solvers")
    if what in ("all", "learners"):
        blocks += ([""] if blocks else []) + _describe(LEARNERS, "learners")
    print("\n".join(blocks))
    return 0


def _cmd_recover(args) -> int:
    import scipy.sparse as sp

    from . import make_recoverer

    params = dict(parse_param(p) for p in args.param)
    try:
        solver = make_recoverer(args.solver, **params)
    except TypeError as exc:  # unexpected keyword from __init__
        raise CLIError(f"solver {args.solver!r}: {exc}") from exc
    except ValueError as exc:  # unknown name (with suggestions) or an invalid value
        raise CLIError(str(exc)) from exc
    A = load_matrix(args.A)
    y = _load_signals(args.y)
    m = A.shape[0]
    if y.ndim not in (1, 2) or y.shape[0] != m:
        raise CLIError(
            f"y in {args.y} has shape {y.shape} but A in {args.A} has {m} rows; "
            f"expected y of shape ({m},) or ({m}, B)."
        )
    # every output is checked before the solve, so that no error comes after x is written
    out = _output_path(args.out, "--out", suffix=".npy")  # np.save appends .npy: record the real name
    summary_path = _output_path(args.summary if args.summary else out.with_suffix(".json"), "--summary")
    try:
        res = solver.recover(A, y)
    except (ValueError, TypeError) as exc:  # input validation inside recover
        raise CLIError(f"{args.solver}: {exc}") from exc
    _write(out, "--out", lambda: np.save(out, res.x))
    resid = np.asarray(res.residual_norm, dtype=float)
    summary = {
        "solver": res.solver,
        "params": {k: v for k, v in solver.get_params().items() if _is_json(v)},
        "A": {"path": str(args.A), "shape": list(A.shape), "sparse": bool(sp.issparse(A))},
        "x": {"path": str(out), "shape": list(res.x.shape)},
        "n_iter": np.atleast_1d(res.n_iter).tolist(),
        "converged": bool(res.converged),
        "stop_reason": res.stop_reason,
        "status": np.atleast_1d(res.status).tolist(),
        "certificate": np.atleast_1d(res.certificate).tolist(),
        "residual": resid.tolist(),
        "nnz": np.count_nonzero(res.coef, axis=0).tolist(),
        "time": float(res.time),
    }
    text = json.dumps(summary, indent=1) + "\n"
    _write(summary_path, "--summary", lambda: summary_path.write_text(text))
    print(text, end="")
    return 0


def _is_json(v) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def _cmd_run(args) -> int:
    from .distributed import parallel_backend

    names = available_experiments()
    if args.experiment not in names:
        close = difflib.get_close_matches(args.experiment, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise CLIError(
            f"unknown experiment {args.experiment!r}.{hint} Available: {', '.join(names) or '(none)'}."
        )
    module = importlib.import_module(f"experiments.{args.experiment}")
    if not callable(getattr(module, "main", None)):
        raise CLIError(f"experiments.{args.experiment} has no main(argv) function.")
    # --backend is both ours (to start a cluster) and the experiment's (to use it)
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--backend", default=None)
    known, _ = peek.parse_known_args(args.rest)
    stack = contextlib.ExitStack()
    try:  # cluster problems are input errors; the experiment's own errors are not caught
        stack.enter_context(parallel_backend(known.backend, scheduler=args.scheduler))
    except (ValueError, ImportError, OSError) as exc:
        raise CLIError(str(exc)) from exc
    from .registry import UnknownNameError

    with stack:
        try:
            rc = module.main(args.rest)
        except UnknownNameError as exc:  # --solvers nope: an input error, not a bug
            raise CLIError(str(exc)) from exc
        except SystemExit as exc:  # the experiment's own option parser has printed its one line
            return exc.code if isinstance(exc.code, int) else 2
    return int(rc) if isinstance(rc, int) else 0


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line on stderr (exit status 2), like every CLI error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cstoolkit`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    p = _Parser(
        prog="cstoolkit",
        description="Compressive sensing and sparse coding: one Recoverer interface for every solver.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO) on stderr")
    sub = p.add_subparsers(dest="command", metavar="{list,recover,run}")
    sub.required = True

    pl = sub.add_parser("list", help="registered solvers and learners with their parameters")
    pl.add_argument("what", nargs="?", choices=("all", "solvers", "learners"), default="all")
    pl.set_defaults(func=_cmd_list)

    pr = sub.add_parser("recover", help="recover x from y = A x (files in, x.npy + JSON summary out)")
    pr.add_argument("--solver", required=True, help="registry name, see `cstoolkit list solvers`")
    pr.add_argument("--A", required=True, metavar="A.npy|A.npz|A.mtx", help="measurement matrix (m, n)")
    pr.add_argument("--y", required=True, metavar="y.npy", help="measurements (m,) or (m, B)")
    pr.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="solver parameter, repeatable (e.g. --param lam=0.1 --param lam_scale=relative)")
    pr.add_argument("--out", required=True, metavar="x.npy", help="where to write x, shape (n,) or (n, B)")
    pr.add_argument("--summary", default=None, metavar="PATH.json",
                    help="where to write the JSON summary (default: --out with .json)")
    pr.set_defaults(func=_cmd_recover)

    pe = sub.add_parser(
        "run", help="run experiments.<EXPERIMENT>.main; other options go to the experiment",
        description="Run an experiment module. Options other than --scheduler are passed on "
        "(--quick, --n-jobs, --backend, --out, --cache, --force, ...).",
    )
    pe.add_argument("experiment", help="module name in experiments/ (see `cstoolkit run --list`)", nargs="?")
    pe.add_argument("--list", action="store_true", help="list the experiments and exit")
    pe.add_argument("--scheduler", default=None,
                    help="Dask scheduler / Ray address for --backend dask|ray "
                    "(default: $CSTOOLKIT_DASK_SCHEDULER, else a local cluster)")
    pe.set_defaults(func=_cmd_run)
    return p


def main(argv=None) -> int:
    """Entry point of the ``cstoolkit`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on an input error (message on stderr, no traceback).
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        args.rest = rest
        if args.list:
            try:
                print("\n".join(available_experiments()))
            except CLIError as exc:
                print(f"cstoolkit: error: {exc}", file=sys.stderr)
                return 2
            return 0
        if not args.experiment:
            parser.error("run: give an EXPERIMENT name (or --list)")
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"cstoolkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # run_grid has stored the finished cells and stopped its workers
        print(f"cstoolkit: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cstoolkit list | head`: the reader left, nothing is wrong
        sys.stdout = open(os.devnull, "w")
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
