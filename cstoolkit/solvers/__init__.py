"""All registered recoverers.

Every public module of this package is imported here, which runs its ``@register`` lines: a
new solver is one new module (or one class in an existing one) and needs no edit elsewhere.
The classes are reachable as ``cstoolkit.<ClassName>`` through the registry.
"""

import importlib as _importlib
import pkgutil as _pkgutil

for _mod in _pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_mod.name}")

from .cd import Lasso  # noqa: E402  (explicit names for IDEs and docs)
from .convex import BasisPursuit, BasisPursuitDenoising  # noqa: E402
from .greedy import MP, OMP  # noqa: E402
from .proximal import FISTA, ISTA  # noqa: E402
