"""All registered recoverers.

Every public module of this package and of its family folders (``greedy/``, ``l1/``, ``bp/``,
``nonconvex/``, ``structured/``: one folder per ``StudySettings.family`` with several members;
``tv`` is the only ``"other"``) is imported here, which runs its ``@register`` lines: a new
solver is one new module (or one class in an existing one) and needs no edit elsewhere.
The classes are reachable as ``cstoolkit.<ClassName>`` through the registry.
"""

import importlib as _importlib
import pkgutil as _pkgutil

for _mod in _pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
    # family folders (greedy/, l1/, ...) are walked too; private modules (compiled kernels) are not
    if not _mod.name.rsplit(".", 1)[-1].startswith("_"):
        _importlib.import_module(_mod.name)

from .l1.cd import Lasso  # noqa: E402  (explicit names for IDEs and docs)
from .bp.convex import BasisPursuit, BasisPursuitDenoising  # noqa: E402
from .greedy.pursuit import MP, OMP  # noqa: E402
from .l1.proximal import FISTA, ISTA  # noqa: E402
