"""Compare a compressed model with its original on held-out text (streaming over windows).

* :func:`compare_causal_lm` — both causal LMs on the same token windows; per-position scores
  (:class:`PositionScores`) and the llama.cpp-style summary (:class:`CausalLMReport`). The
  original's logits are recomputed window by window from its cached final hidden states
  (:func:`reference_hidden`, ``n_windows × T × d`` floats), so the full ``N × V`` distribution
  is never stored and each comparison costs one forward of the compressed model plus one
  output-head product for the original. Positions are scored in chunks of 128 on the BLAS's
  threads (:mod:`cstoolkit.lm._parallel`), the log-softmax computed in place of each chunk's logits.
* :func:`compare_encoders` — sentence embeddings of the two encoders (:class:`EncoderReport`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from . import metrics
from ._parallel import workers

__all__ = ["PositionScores", "CausalLMReport", "EncoderReport", "reference_hidden", "position_scores",
           "compare_causal_lm", "compare_encoders"]

logger = logging.getLogger(__name__)

_CHUNK = 128  # scored positions per head product (memory: 2 x 128 x V floats per worker thread)


@dataclass(frozen=True)
class PositionScores:
    """Per-position quantities of a compressed model against its original (length ``N``).

    Attributes
    ----------
    logprob_ref, logprob_hat : ndarray (N,)
        Log-probability of the correct next token under each model.
    kld : ndarray (N,)
        KL(original ‖ compressed) of the next-token distributions.
    top_ref, top_hat : ndarray (N,) of int
        Most likely next token of each model.
    """

    logprob_ref: np.ndarray
    logprob_hat: np.ndarray
    kld: np.ndarray
    top_ref: np.ndarray
    top_hat: np.ndarray

    @staticmethod
    def concatenate(parts) -> "PositionScores":
        parts = list(parts)
        return PositionScores(*(np.concatenate([getattr(p, f) for p in parts])
                                for f in ("logprob_ref", "logprob_hat", "kld", "top_ref", "top_hat")))


@dataclass(frozen=True)
class CausalLMReport:
    """llama.cpp ``--kl-divergence`` statistics of a compressed causal LM.

    Attributes
    ----------
    n_positions : int
    ppl_ref, ppl_hat, ppl_ratio : float
    kld_mean, kld_median, kld_p99, kld_max : float
    same_top : float
        Share of positions with the same most likely token.
    delta_p_mean, delta_p_rms : float
        Δp of the correct token (probability units).
    """

    n_positions: int
    ppl_ref: float
    ppl_hat: float
    ppl_ratio: float
    kld_mean: float
    kld_median: float
    kld_p99: float
    kld_max: float
    same_top: float
    delta_p_mean: float
    delta_p_rms: float

    @classmethod
    def from_scores(cls, s: PositionScores) -> "CausalLMReport":
        k = metrics.kld_statistics(s.kld)
        dp = metrics.delta_p(s.logprob_hat, s.logprob_ref)
        return cls(n_positions=int(s.kld.size), ppl_ref=metrics.perplexity(s.logprob_ref),
                   ppl_hat=metrics.perplexity(s.logprob_hat), ppl_ratio=metrics.ppl_ratio(s.logprob_hat, s.logprob_ref),
                   kld_mean=k["mean"], kld_median=k["median"], kld_p99=k["p99"], kld_max=k["max"],
                   same_top=metrics.same_top_rate(s.top_ref, s.top_hat), delta_p_mean=dp["mean"],
                   delta_p_rms=dp["rms"])

    def as_dict(self) -> dict:
        return asdict(self)


def _check_windows(windows):
    w = np.asarray(windows)
    if w.ndim != 2 or w.dtype.kind not in "iu" or w.shape[0] == 0 or w.shape[1] < 2:
        raise ValueError(f"windows must be a (n_windows, T) integer array with T >= 2 (see text.token_windows); "
                         f"got {w.dtype}{w.shape}.")
    return w


def reference_hidden(model, windows, *, batch_size: int = 1) -> np.ndarray:
    """Final hidden states of ``model`` on every window (the output head's input), float32.

    Parameters
    ----------
    model : LlamaModel
    windows : ndarray, shape (n_windows, T)
    batch_size : int, default=1

    Returns
    -------
    ndarray, shape (n_windows, T, d_model)
    """
    w = _check_windows(windows)
    return np.concatenate([model.hidden(w[i:i + batch_size]) for i in range(0, len(w), batch_size)])


def position_scores(logits_ref, logits_hat, targets, *, overwrite: bool = False) -> PositionScores:
    """Per-position scores from the two models' logits at the same positions.

    Parameters
    ----------
    logits_ref, logits_hat : ndarray, shape (N, V)
    targets : ndarray of int, shape (N,)
        The correct next token at each position.
    overwrite : bool, default=False
        Compute the log-softmax in place of the logits (no second (N, V) array each).

    Returns
    -------
    PositionScores
    """
    top_ref, top_hat = logits_ref.argmax(axis=1), logits_hat.argmax(axis=1)
    lr = metrics.log_softmax(logits_ref, out=logits_ref if overwrite else None)
    lh = metrics.log_softmax(logits_hat, out=logits_hat if overwrite else None)
    rows = np.arange(len(targets))
    return PositionScores(logprob_ref=lr[rows, targets].astype(np.float64),
                          logprob_hat=lh[rows, targets].astype(np.float64),
                          kld=metrics.kl_divergence(lr, lh), top_ref=top_ref, top_hat=top_hat)


def compare_causal_lm(ref, hat, windows, *, ref_hidden=None, batch_size: int = 1,
                      score_from: int = 0) -> tuple[CausalLMReport, PositionScores]:
    """Score a compressed causal LM against the original on token windows.

    Every window is run from position 0; position ``t`` predicts token ``t + 1``, and positions
    ``score_from .. T - 2`` of each window are scored (llama.cpp's perplexity tool scores the
    second half, ``score_from = T // 2``).

    Parameters
    ----------
    ref, hat : LlamaModel
        The original and the compressed model (same vocabulary).
    windows : ndarray of int, shape (n_windows, T)
    ref_hidden : ndarray, shape (n_windows, T, d_model), optional
        :func:`reference_hidden` of ``ref`` on these windows, to reuse across comparisons.
    batch_size : int, default=1
        Windows per forward of ``hat``.
    score_from : int, default=0

    Returns
    -------
    report : CausalLMReport
    scores : PositionScores
    """
    w = _check_windows(windows)
    n, T = w.shape
    if not 0 <= score_from < T - 1:
        raise ValueError(f"score_from={score_from} must be in [0, T - 2] = [0, {T - 2}].")
    if ref.config.vocab_size != hat.config.vocab_size:
        raise ValueError(f"vocabularies differ: {ref.config.vocab_size} vs {hat.config.vocab_size}.")
    if ref_hidden is not None and tuple(ref_hidden.shape[:2]) != (n, T):
        raise ValueError(f"ref_hidden has shape {ref_hidden.shape}; expected ({n}, {T}, d_model) for these windows.")
    spans = list(range(score_from, T - 1, _CHUNK))
    parts = [None] * (n * len(spans))

    def score(i, h_ref, h_hat, ids, s):
        # one chunk of positions: two (chunk, V) logit arrays, their log-softmax computed in place
        e = min(s + _CHUNK, T - 1)
        parts[i] = position_scores(ref.head(h_ref[s:e]), hat.head(h_hat[s:e]), ids[s + 1:e + 1], overwrite=True)

    for lo in range(0, n, batch_size):
        blk = w[lo:lo + batch_size]
        h_ref = ref.hidden(blk) if ref_hidden is None else ref_hidden[lo:lo + batch_size]
        h_hat = hat.hidden(blk)
        with workers() as runner:  # chunks on separate threads (each head product single-threaded)
            runner.map(score, [((lo + b) * len(spans) + c, h_ref[b], h_hat[b], blk[b], s)
                               for b in range(blk.shape[0]) for c, s in enumerate(spans)])
    scores = PositionScores.concatenate(parts)
    return CausalLMReport.from_scores(scores), scores


@dataclass(frozen=True)
class EncoderReport:
    """Sentence-embedding agreement of a compressed encoder with its original.

    Attributes
    ----------
    n_sentences : int
    cosine : float
        Mean cosine between each sentence's two embeddings.
    cosine_min : float
        Smallest of those cosines.
    spearman : float
        Spearman correlation of the pairwise similarity matrices.
    retrieval_top10 : float
        Mean overlap of the 10 most similar sentences.
    """

    n_sentences: int
    cosine: float
    cosine_min: float
    spearman: float
    retrieval_top10: float

    def as_dict(self) -> dict:
        return asdict(self)


def compare_encoders(ref, hat, sentences, *, ref_embeddings=None, batch_size: int = 64) -> EncoderReport:
    """Sentence embeddings of a compressed encoder against the original's.

    Parameters
    ----------
    ref, hat : BertEncoder
    sentences : sequence of str, at least 11
    ref_embeddings : ndarray, shape (n, d), optional
        ``ref.encode(sentences)``, to reuse across comparisons.
    batch_size : int, default=64

    Returns
    -------
    EncoderReport
    """
    sentences = list(sentences)
    if len(sentences) < 11:
        raise ValueError(f"need at least 11 sentences (top-10 retrieval); got {len(sentences)}.")
    S = ref.encode(sentences, batch_size=batch_size) if ref_embeddings is None else np.asarray(ref_embeddings)
    S_hat = hat.encode(sentences, batch_size=batch_size)
    c = np.sum(S.astype(np.float64) * S_hat, axis=1) / (np.linalg.norm(S, axis=1) * np.linalg.norm(S_hat, axis=1))
    return EncoderReport(n_sentences=len(sentences), cosine=metrics.embedding_cosine(S, S_hat),
                         cosine_min=float(c.min()), spearman=metrics.similarity_spearman(S, S_hat),
                         retrieval_top10=metrics.retrieval_overlap(S, S_hat, k=10))
