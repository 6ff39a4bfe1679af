"""Tokenisers built with the ``tokenizers`` package from the models' own files (no hand-written BPE).

* :func:`bpe_from_gguf` — the GPT-2-style byte-level BPE stored in a GGUF's metadata
  (``tokenizer.ggml.tokens`` / ``merges`` / ``token_type``), with the pre-tokeniser llama.cpp
  applies for the file's ``tokenizer.ggml.pre`` (looked up in :data:`PRE_TOKENIZERS`);
* :func:`wordpiece_from_file` — a ``tokenizer.json`` (BERT WordPiece for MiniLM) with truncation
  at the encoder's maximum length and padding for batches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

__all__ = ["PRE_TOKENIZERS", "bpe_from_gguf", "wordpiece_from_file"]


def _import_tokenizers():
    try:
        import tokenizers
    except ImportError as exc:  # pragma: no cover - declared in the `lm` extra
        raise ImportError("cstoolkit.lm needs the 'tokenizers' package: pip install 'cstoolkit[lm]'") from exc
    return tokenizers


def _byte_level():
    pre = _import_tokenizers().pre_tokenizers
    return pre.ByteLevel(add_prefix_space=False, use_regex=True)


def _smollm():
    # llama.cpp's "smollm" pre-tokeniser: every digit on its own (\p{N}), then the GPT-2 regex;
    # without the digit split only the first few tokens of prose with numbers agree with llama.cpp
    pre = _import_tokenizers().pre_tokenizers
    return pre.Sequence([pre.Digits(individual_digits=True), _byte_level()])


#: ``tokenizer.ggml.pre`` value → factory of the equivalent ``tokenizers`` pre-tokeniser
PRE_TOKENIZERS: dict[str, Callable] = {"gpt2": _byte_level, "default": _byte_level, "smollm": _smollm}

_CONTROL = 3  # llama.cpp token type of special (control) tokens


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def bpe_from_gguf(reader):
    """Byte-level BPE tokeniser from a GGUF's vocabulary and merges.

    Parameters
    ----------
    reader : gguf.GGUFReader
        An open GGUF whose ``tokenizer.ggml.model`` is ``"gpt2"``.

    Returns
    -------
    tokenizers.Tokenizer
        Encodes text to the GGUF's token ids (no BOS added, as ``add_bos_token`` = false for
        SmolLM2); control tokens (``<|im_start|>`` …) are special tokens.

    Raises
    ------
    ValueError
        If the GGUF has no byte-level BPE vocabulary or an unknown pre-tokeniser.
    """
    tk = _import_tokenizers()
    kind = _field(reader, "tokenizer.ggml.model")
    if kind != "gpt2":
        raise ValueError(f"GGUF tokenizer.ggml.model is {kind!r}; expected 'gpt2' (byte-level BPE).")
    tokens = _field(reader, "tokenizer.ggml.tokens")
    merges = _field(reader, "tokenizer.ggml.merges")
    if not tokens or merges is None:
        raise ValueError("GGUF has no tokenizer.ggml.tokens / tokenizer.ggml.merges; expected a BPE vocabulary.")
    pre = _field(reader, "tokenizer.ggml.pre", "default")
    if pre not in PRE_TOKENIZERS:
        raise ValueError(f"GGUF pre-tokeniser {pre!r} is not supported; expected one of {sorted(PRE_TOKENIZERS)}.")
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = tk.Tokenizer(tk.models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = PRE_TOKENIZERS[pre]()
    tok.decoder = tk.decoders.ByteLevel()
    types = _field(reader, "tokenizer.ggml.token_type") or []
    special = [tokens[i] for i, t in enumerate(types) if t == _CONTROL]
    if special:
        tok.add_special_tokens([tk.AddedToken(s, special=True, normalized=False) for s in special])
    return tok


def wordpiece_from_file(path, *, max_length: int):
    """A ``tokenizer.json`` with truncation at ``max_length`` tokens and batch padding.

    Parameters
    ----------
    path : path-like
        ``tokenizer.json`` (as saved by Hugging Face ``tokenizers``).
    max_length : int
        Longest sequence in tokens, special tokens included (256 for all-MiniLM-L6-v2, its
        ``sentence_bert_config.json``).

    Returns
    -------
    tokenizers.Tokenizer
    """
    tk = _import_tokenizers()
    tok = tk.Tokenizer.from_file(str(Path(path)))
    pad = tok.padding or {}
    tok.enable_truncation(max_length=int(max_length))
    # pad to the longest sequence of each batch (the file may pad to a fixed length)
    tok.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"))
    return tok
