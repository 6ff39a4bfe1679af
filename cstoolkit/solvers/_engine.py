"""The one engine resolution shared by every solver with an ``engine`` parameter.

numba is a core dependency (``install_requires``): ``engine="auto"`` runs the compiled kernels.
The numpy implementations stay as the tested reference (the conformance suite runs every solver
on both engines) and as the path for complex data.
"""

from __future__ import annotations

__all__ = ["numba_available", "use_numba", "ENGINES"]

#: accepted values of every ``engine`` parameter
ENGINES = ("auto", "numpy", "numba")


def numba_available() -> bool:
    """True when numba can be imported (a core dependency; False only in a broken install).

    Checked at call time (a dictionary lookup once imported), so that tests can hide numba.
    """
    try:
        import numba  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


def use_numba(engine: str) -> bool:
    """Whether an ``engine`` parameter ("auto", "numpy", "numba") runs the compiled kernel.

    "auto" uses numba (a core dependency); "numba" without it is an ImportError saying what to
    install.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}.")
    if engine == "numba" and not numba_available():
        raise ImportError("engine='numba' needs numba (a cstoolkit dependency): pip install numba, "
                          "or use engine='numpy'.")
    return engine != "numpy" and numba_available()
