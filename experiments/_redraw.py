"""Draw committed figures again from the numbers next to them (no recomputation).

    python -m experiments._redraw                 # every figure, figures/ -> figures/
    python -m experiments._redraw tsaig_donoho --out /tmp/f

Each experiment module's ``redraw(src, out)`` reads ``src/<name>.csv`` / ``.json`` and calls
the same ``draw`` the experiment uses, so a figure is a pure function of its numbers.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from experiments._common import ROOT

#: experiments whose committed figure can be drawn from its committed numbers
FIGURES = ("embedding_recovery", "compression_tradeoff", "phase_transition", "tropp_gilbert",
           "fista_convergence", "ksvd_recovery", "tsaig_donoho", "cosamp_sp", "niht", "amp_state_evolution",
           "online_dictionary", "candes_romberg_tao")


def redraw(name: str, src: Path = ROOT / "figures", out: Path = ROOT / "figures") -> None:
    """Redraw figure ``name`` from ``src`` into ``out``."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; expected one of {', '.join(FIGURES)}")
    importlib.import_module(f"experiments.{name}").redraw(Path(src), Path(out))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", default=list(FIGURES), help=f"figures (default: all of {', '.join(FIGURES)})")
    p.add_argument("--src", type=Path, default=ROOT / "figures", help="folder with the committed numbers")
    p.add_argument("--out", type=Path, default=ROOT / "figures", help="folder for the figures")
    args = p.parse_args(argv)
    for name in args.names:
        redraw(name, args.src, args.out)
        print(f"{name}: drawn from {args.src} into {args.out}")


if __name__ == "__main__":
    main()
