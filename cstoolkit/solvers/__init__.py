"""All registered recoverers. Importing this package registers them (one line per module)."""

from .cd import Lasso
from .convex import BasisPursuit, BasisPursuitDenoising
from .greedy import MP, OMP
from .proximal import FISTA, ISTA

__all__ = ["Lasso", "OMP", "MP", "ISTA", "FISTA", "BasisPursuit", "BasisPursuitDenoising"]
