"""Tiny models in the real file formats, written by the tests themselves (no download).

* :func:`write_tiny_llama_gguf` — a 2-layer, width-16 llama GGUF (4 query / 2 KV heads) with a
  byte-level BPE vocabulary and merges, written with ``gguf.GGUFWriter``;
* :func:`write_tiny_bert` — a 2-layer, width-16 BERT folder (``model.safetensors``,
  ``config.json``, ``tokenizer.json`` and the sentence-transformers pooling files).
"""

from __future__ import annotations

import json

import numpy as np

LLAMA = dict(n_layers=2, d_model=16, d_ff=32, n_heads=4, n_kv_heads=2, rope_base=10000.0, rms_eps=1e-5)
MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "a n", "Ġ s", "o r", "e r", "Ġ o", "1 9"]  # "1 9": must never apply (SmolLM2 splits digits)


def byte_vocab():
    from tokenizers import pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokens = ["<|endoftext|>"] + alphabet + ["".join(m.split(" ")) for m in MERGES]
    return tokens


def llama_weights(vocab_size, seed=0, cfg=LLAMA):
    rng = np.random.default_rng(seed)
    d, f, hd = cfg["d_model"], cfg["d_ff"], cfg["d_model"] // cfg["n_heads"]
    kv = cfg["n_kv_heads"] * hd

    def m(*s, scale=0.4):
        return (scale * rng.standard_normal(s)).astype(np.float32)

    w = {"token_embd.weight": m(vocab_size, d, scale=1.0), "output_norm.weight": 1 + m(d, scale=0.1)}
    for i in range(cfg["n_layers"]):
        p = f"blk.{i}."
        w.update({p + "attn_norm.weight": 1 + m(d, scale=0.1), p + "ffn_norm.weight": 1 + m(d, scale=0.1),
                  p + "attn_q.weight": m(d, d), p + "attn_k.weight": m(kv, d), p + "attn_v.weight": m(kv, d),
                  p + "attn_output.weight": m(d, d), p + "ffn_gate.weight": m(f, d), p + "ffn_up.weight": m(f, d),
                  p + "ffn_down.weight": m(d, f)})
    return w


def write_tiny_llama_gguf(path, *, arch="llama", seed=0, f16=("blk.0.attn_q.weight",), drop=()):
    """Write the tiny llama GGUF; return the weights as the file stores them (float32 values)."""
    import gguf

    tokens = byte_vocab()
    w = llama_weights(len(tokens), seed)
    cfg = LLAMA
    wr = gguf.GGUFWriter(str(path), arch)
    wr.add_block_count(cfg["n_layers"])
    wr.add_context_length(64)
    wr.add_embedding_length(cfg["d_model"])
    wr.add_feed_forward_length(cfg["d_ff"])
    wr.add_head_count(cfg["n_heads"])
    wr.add_head_count_kv(cfg["n_kv_heads"])
    wr.add_rope_freq_base(cfg["rope_base"])
    wr.add_layer_norm_rms_eps(cfg["rms_eps"])
    wr.add_rope_dimension_count(cfg["d_model"] // cfg["n_heads"])
    wr.add_vocab_size(len(tokens))
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre("smollm")
    wr.add_token_list(tokens)
    wr.add_token_types([3] + [1] * (len(tokens) - 1))
    wr.add_token_merges(MERGES)
    stored = {}
    for name, a in w.items():
        if name in drop:
            continue
        if name in f16:
            a = a.astype(np.float16)
        wr.add_tensor(name, a)
        stored[name] = a.astype(np.float32)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return stored


BERT = dict(n_layers=2, d_model=16, n_heads=4, d_ff=32, max_positions=32, eps=1e-12)
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "ran", "fast", "slow", "red", "blue", "big", "small",
         "and", "##s", "##ed", "house", "tree", "sun"]


def write_tiny_bert(folder, *, seed=1, model_type="bert", tensors=None):
    """Write the tiny BERT folder; return (weights, vocab list)."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + WORDS
    c = BERT
    d, f = c["d_model"], c["d_ff"]
    rng = np.random.default_rng(seed)

    def m(*s, scale=0.3):
        return (scale * rng.standard_normal(s)).astype(np.float32)

    w = {"embeddings.word_embeddings.weight": m(len(vocab), d, scale=1.0),
         "embeddings.position_embeddings.weight": m(c["max_positions"], d),
         "embeddings.token_type_embeddings.weight": m(2, d), "embeddings.LayerNorm.weight": 1 + m(d, scale=0.1),
         "embeddings.LayerNorm.bias": m(d, scale=0.1)}
    for i in range(c["n_layers"]):
        p = f"encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w[p + n + ".weight"], w[p + n + ".bias"] = m(d, d), m(d, scale=0.1)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = m(f, d), m(f, scale=0.1)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = m(d, f), m(d, scale=0.1)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + n + ".weight"], w[p + n + ".bias"] = 1 + m(d, scale=0.1), m(d, scale=0.1)
    save_file(w if tensors is None else tensors, str(folder / "model.safetensors"))
    cfg = {"model_type": model_type, "num_hidden_layers": c["n_layers"], "hidden_size": d,
           "num_attention_heads": c["n_heads"], "intermediate_size": f, "vocab_size": len(vocab),
           "max_position_embeddings": c["max_positions"], "type_vocab_size": 2, "layer_norm_eps": c["eps"],
           "hidden_act": "gelu", "position_embedding_type": "absolute"}
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 24}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    (folder / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.Transformer"},
                                                     {"type": "sentence_transformers.models.Pooling"},
                                                     {"type": "sentence_transformers.models.Normalize"}]))
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                ("[SEP]", 3)])
    tok.decoder = decoders.WordPiece()
    tok.save(str(folder / "tokenizer.json"))
    return w, vocab
