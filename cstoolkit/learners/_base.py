"""Former home of the learners' shared machinery, now split by subject (kept for old imports).

:mod:`cstoolkit.learners.base` (API base, history, callbacks), :mod:`cstoolkit.learners.atoms`
(initial atoms, atom replacement), :mod:`cstoolkit.learners.codes` (data scale, the coding step,
the codes' storage) and :mod:`cstoolkit.learners.batch` (the batch learner). Patch module constants (``DENSE_CODES_BYTES``) where they live, in ``base``.
"""

from .atoms import as_rows  # noqa: F401
from .base import CODE_BLOCK_BYTES, DENSE_CODES_BYTES, LEARNER_HISTORY_KEYS, DictionaryLearner  # noqa: F401
from .batch import BatchDictionaryLearner  # noqa: F401
from .codes import SparseCodes, code_signals, data_scale, fit_error_sq  # noqa: F401
