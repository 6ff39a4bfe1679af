r"""Model-level quality of a compressed model against its original (one function per statistic).

Causal LMs — the statistics of llama.cpp's ``llama-perplexity --kl-divergence``, computed from
per-position quantities (``N`` scored positions, vocabulary ``V``):

* :func:`perplexity` :math:`\exp(-\frac1N\sum_t \log p(x_{t+1}\mid x_{\le t}))` and
  :func:`ppl_ratio`;
* :func:`kl_divergence` per position, :math:`\mathrm{KL}(P\,\|\,Q) = \sum_v P_v(\log P_v - \log Q_v)`
  with ``P`` the original's next-token distribution, and :func:`kld_statistics` (mean, median,
  99th percentile, max);
* :func:`same_top_rate` — share of positions whose most likely token agrees;
* :func:`delta_p` — change of the probability of the correct next token (mean and RMS).

Encoders — sentence embeddings ``S`` (original) and ``S_hat`` (compressed), shape (n, d):

* :func:`embedding_cosine` — mean :math:`\cos(s_i, \hat s_i)`;
* :func:`similarity_spearman` — Spearman correlation of the pairwise cosine similarities;
* :func:`retrieval_overlap` — overlap of the top-10 most similar sentences.

Reference: llama.cpp ``tools/perplexity`` (KL-divergence mode); Spearman, Am. J. Psychol. 15 (1904).
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_softmax", "perplexity", "ppl_ratio", "kl_divergence", "kld_statistics", "same_top_rate",
           "delta_p", "embedding_cosine", "similarity_spearman", "retrieval_overlap"]


def _vec(a, name):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or Inf.")
    return a


#: elements per row block of the row-wise passes below: a block's temporaries stay in cache
#: (≈ 1 MB), so the passes over a (positions × 49152) logit array do not each stream it from memory
_BLOCK_ELEMENTS = 1 << 18


def _row_blocks(n_rows, n_cols):
    step = max(1, _BLOCK_ELEMENTS // max(n_cols, 1))
    return [slice(lo, min(lo + step, n_rows)) for lo in range(0, n_rows, step)]


def log_softmax(logits, axis: int = -1, *, out=None) -> np.ndarray:
    r"""Numerically stable :math:`z_v - \log\sum_u e^{z_u}` along ``axis``.

    Parameters
    ----------
    logits : ndarray, shape (..., V)
    axis : int, default=-1
    out : ndarray or None, default=None
        Where to write the result (same shape, floating dtype); ``out=logits`` computes it in
        place, so a (positions × V) logit array needs no second copy.

    Returns
    -------
    ndarray, same shape and floating dtype as ``logits`` (``out`` when given)
        Computed in row blocks, with one block-sized temporary.
    """
    z = np.asarray(logits)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    if out is None:
        out = np.empty_like(z)
    elif out.shape != z.shape:
        raise ValueError(f"out has shape {out.shape}; expected {z.shape}.")
    z2, o2 = np.moveaxis(z, axis, -1), np.moveaxis(out, axis, -1)
    z2, o2 = z2.reshape(-1, z2.shape[-1]), o2.reshape(-1, o2.shape[-1])  # views when contiguous along axis
    direct = np.may_share_memory(o2, out)  # else o2 is a copy, written back below
    for r in _row_blocks(*z2.shape):
        blk = o2[r]
        np.subtract(z2[r], z2[r].max(axis=1, keepdims=True), out=blk)
        blk -= np.log(np.exp(blk).sum(axis=1, keepdims=True))
    if not direct:
        np.moveaxis(out, axis, -1)[...] = o2.reshape(np.moveaxis(out, axis, -1).shape)
    return out


def perplexity(target_logprobs) -> float:
    r"""Perplexity :math:`\exp\big(-\frac1N\sum_t \log p_t\big)` from the log-probabilities of the targets.

    Parameters
    ----------
    target_logprobs : array_like, shape (N,)
        :math:`\log p(x_{t+1} \mid x_{\le t})` at every scored position (natural log).

    Returns
    -------
    float
        ``exp(mean NLL)``; 1 for a model certain of every target, ``V`` for a uniform one.
    """
    lp = _vec(target_logprobs, "target_logprobs")
    return float(np.exp(-lp.mean()))


def ppl_ratio(target_logprobs_hat, target_logprobs_ref) -> float:
    r"""PPL(compressed) / PPL(original) on the same positions, :math:`\exp(\overline{\log p} - \overline{\log\hat p})`.

    Parameters
    ----------
    target_logprobs_hat, target_logprobs_ref : array_like, shape (N,)

    Returns
    -------
    float
        1 exactly when the two are equal.
    """
    a, b = _vec(target_logprobs_hat, "target_logprobs_hat"), _vec(target_logprobs_ref, "target_logprobs_ref")
    if a.shape != b.shape:
        raise ValueError(f"the two log-probability vectors differ in length: {a.size} vs {b.size}.")
    return float(np.exp(b.mean() - a.mean()))


def kl_divergence(logprobs_ref, logprobs_hat) -> np.ndarray:
    r"""Per-position :math:`\mathrm{KL}(P\,\|\,Q) = \sum_v P_v (\log P_v - \log Q_v)`, ``P`` the original.

    Parameters
    ----------
    logprobs_ref, logprobs_hat : ndarray, shape (N, V)
        Log-probabilities (e.g. :func:`log_softmax` of logits) of the original and the
        compressed model at the same positions.

    Returns
    -------
    ndarray, shape (N,), float64
        Non-negative up to rounding (clipped at 0); 0 where the rows are equal.
    """
    P, Q = np.asarray(logprobs_ref), np.asarray(logprobs_hat)
    if P.shape != Q.shape or P.ndim != 2:
        raise ValueError(f"logprobs_ref {P.shape} and logprobs_hat {Q.shape} must be (N, V) arrays of one shape.")
    k = np.empty(P.shape[0], dtype=np.float64)
    for r in _row_blocks(*P.shape):  # block-sized temporaries; pairwise sums over the vocabulary
        d = np.subtract(P[r], Q[r])
        d *= np.exp(P[r])
        k[r] = d.sum(axis=1)
    return np.maximum(k, 0.0)


def kld_statistics(kld) -> dict:
    """Mean, median, 99th percentile and maximum of per-position KL divergences.

    Parameters
    ----------
    kld : array_like, shape (N,)

    Returns
    -------
    dict
        ``{"mean", "median", "p99", "max"}`` (floats).
    """
    k = _vec(kld, "kld")
    return {"mean": float(k.mean()), "median": float(np.median(k)), "p99": float(np.percentile(k, 99)),
            "max": float(k.max())}


def same_top_rate(top_ref, top_hat) -> float:
    """Share of positions where the two models' most likely next token is the same.

    Parameters
    ----------
    top_ref, top_hat : array_like of int, shape (N,)
        ``argmax`` of each model's logits at every position.

    Returns
    -------
    float in [0, 1]
    """
    a, b = np.asarray(top_ref), np.asarray(top_hat)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"top_ref {a.shape} and top_hat {b.shape} must be non-empty 1-D arrays of one length.")
    return float(np.mean(a == b))


def delta_p(target_logprobs_hat, target_logprobs_ref) -> dict:
    r"""Change of the correct token's probability, :math:`\Delta p_t = \hat p_t - p_t` (mean and RMS).

    Parameters
    ----------
    target_logprobs_hat, target_logprobs_ref : array_like, shape (N,)

    Returns
    -------
    dict
        ``{"mean": mean Δp, "rms": sqrt(mean Δp²)}`` in probability units (llama.cpp prints
        them in percent).
    """
    a, b = _vec(target_logprobs_hat, "target_logprobs_hat"), _vec(target_logprobs_ref, "target_logprobs_ref")
    if a.shape != b.shape:
        raise ValueError(f"the two log-probability vectors differ in length: {a.size} vs {b.size}.")
    d = np.exp(a) - np.exp(b)
    return {"mean": float(d.mean()), "rms": float(np.sqrt(np.mean(d * d)))}


def _pair(S, S_hat):
    S, S_hat = np.asarray(S, dtype=np.float64), np.asarray(S_hat, dtype=np.float64)
    if S.ndim != 2 or S.shape != S_hat.shape or S.shape[0] < 2:
        raise ValueError(f"S {S.shape} and S_hat {S_hat.shape} must be (n, d) arrays of one shape with n >= 2.")
    return S, S_hat


def embedding_cosine(S, S_hat) -> float:
    r"""Mean cosine between each original sentence embedding and its compressed counterpart.

    Same statistic as :func:`cstoolkit.compression.cosine_preservation` (which it calls),
    applied to sentence embeddings instead of table rows.

    Parameters
    ----------
    S, S_hat : ndarray, shape (n, d)

    Returns
    -------
    float in [-1, 1]
    """
    from ..compression import cosine_preservation

    S, S_hat = _pair(S, S_hat)
    return cosine_preservation(S, S_hat)


def _cosine_matrix(S):
    U = S / np.maximum(np.linalg.norm(S, axis=1, keepdims=True), 1e-300)
    return U @ U.T


def similarity_spearman(S, S_hat) -> float:
    r"""Spearman rank correlation between the pairwise cosine similarities before and after.

    Over the :math:`n(n-1)/2` pairs :math:`i < j`: :math:`\rho(\{\cos(s_i, s_j)\}, \{\cos(\hat s_i, \hat s_j)\})`
    (:func:`scipy.stats.spearmanr`) — how well the compressed encoder keeps the ranking that
    semantic search and clustering rely on.

    Parameters
    ----------
    S, S_hat : ndarray, shape (n, d), n >= 3

    Returns
    -------
    float in [-1, 1]
    """
    from scipy.stats import spearmanr

    S, S_hat = _pair(S, S_hat)
    iu = np.triu_indices(S.shape[0], 1)
    return float(spearmanr(_cosine_matrix(S)[iu], _cosine_matrix(S_hat)[iu]).statistic)


def retrieval_overlap(S, S_hat, *, k: int = 10) -> float:
    r"""Mean overlap of each sentence's ``k`` most similar sentences before and after compression.

    Every sentence is a query against all others (itself excluded):
    :math:`\frac1n\sum_i |N_k(i; S)\cap N_k(i; \hat S)|/k`; computed by
    :func:`cstoolkit.compression.neighbour_overlap` with every row a query.

    Parameters
    ----------
    S, S_hat : ndarray, shape (n, d)
    k : int, default=10
        Must be below ``n``.

    Returns
    -------
    float in [0, 1]
    """
    from ..compression import neighbour_overlap

    S, S_hat = _pair(S, S_hat)
    return neighbour_overlap(S, S_hat, n_queries=S.shape[0], n_neighbors=k, random_state=0)
