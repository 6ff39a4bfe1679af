"""cstoolkit.lm.metrics and cstoolkit.lm.text on closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cstoolkit.lm import metrics, text, quantize


def test_perplexity_uniform_and_certain():
    V = 50
    assert metrics.perplexity(np.full(7, -math.log(V))) == pytest.approx(V)
    assert metrics.perplexity(np.zeros(3)) == 1.0
    # geometric mean of 1/p: p = 1/2, 1/8 -> sqrt(2 * 8) = 4
    assert metrics.perplexity(np.log([0.5, 0.125])) == pytest.approx(4.0)


def test_ppl_ratio_closed_form():
    a, b = np.log([0.5, 0.125]), np.log([0.25, 0.25])
    assert metrics.ppl_ratio(a, b) == pytest.approx(4.0 / 4.0)
    assert metrics.ppl_ratio(np.log([0.25]), np.log([0.5])) == pytest.approx(2.0)
    assert metrics.ppl_ratio(a, a) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        metrics.ppl_ratio(a, a[:1])


def test_log_softmax_and_kl_closed_form():
    z = np.array([[0.0, math.log(3.0)], [5.0, 5.0]])
    lp = metrics.log_softmax(z)
    np.testing.assert_allclose(np.exp(lp), [[0.25, 0.75], [0.5, 0.5]])
    # KL(Bern(1/4) || Bern(1/2)) = 1/4 log(1/2) + 3/4 log(3/2)
    k = metrics.kl_divergence(np.log([[0.25, 0.75]]), np.log([[0.5, 0.5]]))
    assert k[0] == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert metrics.kl_divergence(lp, lp).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="one shape"):
        metrics.kl_divergence(lp, lp[:, :1])


def test_log_softmax_and_kl_in_row_blocks(monkeypatch):
    # blocks of 3 rows over 10: the blocked, in-place passes against the plain float64 formulas
    monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", 3 * 7)
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((10, 7)) * 5, rng.standard_normal((10, 7)) * 5
    plain = z - z.max(1, keepdims=True)
    plain = plain - np.log(np.exp(plain).sum(1, keepdims=True))
    np.testing.assert_allclose(metrics.log_softmax(z), plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(metrics.log_softmax(z.T, axis=0), plain.T, rtol=1e-12, atol=1e-12)
    z32 = z.astype(np.float32)
    out = metrics.log_softmax(z32, out=z32)
    assert out is z32 and out.dtype == np.float32
    np.testing.assert_allclose(z32, plain, rtol=1e-5, atol=1e-5)
    ly = metrics.log_softmax(y)
    np.testing.assert_allclose(metrics.kl_divergence(plain, ly), np.sum(np.exp(plain) * (plain - ly), axis=1),
                               rtol=1e-12, atol=1e-12)


def test_kld_statistics():
    k = np.arange(101, dtype=float)  # 0..100
    s = metrics.kld_statistics(k)
    assert s == {"mean": 50.0, "median": 50.0, "p99": 99.0, "max": 100.0}
    with pytest.raises(ValueError, match="non-empty"):
        metrics.kld_statistics([])


def test_same_top_and_delta_p():
    assert metrics.same_top_rate([1, 2, 3, 4], [1, 0, 3, 0]) == 0.5
    d = metrics.delta_p(np.log([0.5, 0.2]), np.log([0.4, 0.4]))
    assert d["mean"] == pytest.approx((0.1 - 0.2) / 2) and d["rms"] == pytest.approx(math.sqrt((0.01 + 0.04) / 2))


def test_encoder_metrics_closed_forms():
    rng = np.random.default_rng(0)
    S = rng.standard_normal((30, 8))
    assert metrics.embedding_cosine(S, 3.0 * S) == pytest.approx(1.0)
    assert metrics.embedding_cosine(S, -S) == pytest.approx(-1.0)
    Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    # a rotation keeps every pairwise similarity: Spearman 1, retrieval identical
    assert metrics.similarity_spearman(S, S @ Q) == pytest.approx(1.0)
    assert metrics.retrieval_overlap(S, S @ Q, k=10) == 1.0
    noisy = S + 2.0 * rng.standard_normal(S.shape)
    assert metrics.similarity_spearman(S, noisy) < 0.9
    assert metrics.retrieval_overlap(S, noisy, k=10) < 1.0
    # Spearman of a monotone map of similarities: 1 (ranks only)
    from scipy.stats import spearmanr

    iu = np.triu_indices(30, 1)
    U = S / np.linalg.norm(S, axis=1, keepdims=True)
    N = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    assert metrics.similarity_spearman(S, noisy) == pytest.approx(spearmanr((U @ U.T)[iu], (N @ N.T)[iu]).statistic)


def test_reference_prose_splits_are_disjoint_and_real():
    ev, cal = text.reference_prose("eval"), text.reference_prose("calibration")
    assert len(ev) > 100_000 and len(cal) > 10_000
    pe, pc = set(ev.split("\n\n")), set(cal.split("\n\n"))
    assert not pe & pc and len(pe) == ev.count("\n\n") + 1  # disjoint, no paragraph twice
    assert "assignment statement" in ev.lower() or "assignment statement" in cal.lower()
    assert sum(w.isalpha() for w in ev.split()) / len(ev.split()) > 0.7  # words, not code
    with pytest.raises(ValueError, match="split must be one of"):
        text.reference_prose("train")


def test_token_windows_and_sentences():
    w = text.token_windows(np.arange(1030), 512)
    assert w.shape == (2, 512) and w[1, 0] == 512
    assert text.token_windows(np.arange(5000), 512, max_tokens=1100).shape == (2, 512)
    with pytest.raises(ValueError, match="below one window"):
        text.token_windows(np.arange(5000), 512, max_tokens=100)
    s = text.sentences(text.reference_prose(), 50)
    assert len(s) == 50 and s == text.sentences(text.reference_prose(), 50)
    with pytest.raises(ValueError, match="empty"):
        text.sentences("   ")


@pytest.mark.parametrize("fmt, per_row", [("q8_0", 34 * 2), ("q4_1", 20 * 2), ("q4_0", 18 * 2)])
def test_quantize_rows_bytes_and_error(fmt, per_row):
    pytest.importorskip("gguf")
    X = np.random.default_rng(0).standard_normal((20, 64)).astype(np.float32)
    X_hat, b = quantize.quantize_rows(X, fmt)
    assert b == 20 * per_row and X_hat.shape == X.shape and X_hat.dtype == np.float32
    step = np.abs(X).reshape(20, 2, 32).max(-1) / (127 if fmt == "q8_0" else 7)
    err = np.abs(X - X_hat).reshape(20, 2, 32).max(-1)
    assert np.all(err <= step * (1.01 if fmt == "q8_0" else 2.2))  # within one quantisation step
    with pytest.raises(ValueError, match="multiple of 32"):
        quantize.quantize_rows(X[:, :40], fmt)
    with pytest.raises(ValueError, match="unknown quantisation format"):
        quantize.quantize_rows(X, "q3")
