"""Evaluation text that is real English and offline: the prose of Python's own documentation.

The standard library ships the language reference's topic pages as ``pydoc_data.topics`` (the
text behind ``help("assignment")``). :func:`reference_prose` keeps their prose — the unindented
paragraphs, reflowed; grammar rules and code examples (indented blocks) and heading underlines
are dropped — and splits the topics into two parts by a hash of the topic name, with no
paragraph in both (pages that repeat other pages' paragraphs lose them) and none twice:

* ``"eval"`` (≈ 3/4 of the topics): held out, for measuring models;
* ``"calibration"`` (≈ 1/4): for fitting anything that may look at text (activation statistics,
  whitening); never evaluated on.

The split depends only on the topic names, so it is stable when a newer Python adds topics.
:func:`token_windows` cuts a token stream into fixed non-overlapping windows under a token
budget; :func:`sentences` cuts prose into sentences for encoders.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

__all__ = ["SPLITS", "topic_split", "reference_prose", "token_windows", "sentences"]

SPLITS = ("eval", "calibration")
_UNDERLINE = re.compile(r"^[*=\-~^\"]{3,}\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def topic_split(name: str) -> str:
    """``"calibration"`` for a quarter of the topic names (by SHA-1), ``"eval"`` for the rest."""
    return "calibration" if hashlib.sha1(name.encode()).digest()[0] % 4 == 0 else "eval"


def _prose(page: str) -> list[str]:
    paras, cur = [], []
    for line in page.splitlines():
        if not line.strip() or line[:1].isspace() or _UNDERLINE.match(line):
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(line.strip())
    if cur:
        paras.append(" ".join(cur))
    # a paragraph ending in ':' introduces a dropped code block; keep it (it is prose)
    return [p for p in paras if len(p.split()) >= 4]


def reference_prose(split: str = "eval") -> str:
    """Prose of the Python language-reference topics in one split, paragraphs separated by blank lines.

    Parameters
    ----------
    split : {"eval", "calibration"}, default="eval"
        Held-out evaluation text or the disjoint calibration text (see module docstring).

    Returns
    -------
    str
        Topics in sorted name order (deterministic for a given Python version).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}.")
    from pydoc_data.topics import topics

    # some topic pages repeat others (e.g. "compound" holds "if", "while", ...): a paragraph
    # found in any calibration page belongs to calibration only, and each paragraph appears once
    calib = {p for k in topics if topic_split(k) == "calibration" for p in _prose(topics[k])}
    seen, out = set(), []
    for k in sorted(topics):
        if topic_split(k) != split:
            continue
        for p in _prose(topics[k]):
            if p in seen or (split == "eval" and p in calib):
                continue
            seen.add(p)
            out.append(p)
    return "\n\n".join(out)


def token_windows(ids, window: int, *, max_tokens: int | None = None) -> np.ndarray:
    """Consecutive non-overlapping windows of a token stream, under a token budget.

    Parameters
    ----------
    ids : array_like of int, shape (n_tokens,)
    window : int
        Tokens per window (e.g. 512).
    max_tokens : int, optional
        Token budget: at most ``max_tokens // window`` windows (all full windows if None).

    Returns
    -------
    ndarray, shape (n_windows, window), int64
        The leftover tail shorter than a window is dropped.

    Raises
    ------
    ValueError
        If the stream is empty or shorter than one window, or the budget is below one window.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be a 1-D integer array of token ids; got {ids.dtype}{ids.shape}.")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 2:
        raise ValueError(f"window must be an integer >= 2; got {window!r}.")
    if ids.size == 0:
        raise ValueError("the text is empty (0 tokens); expected at least one window of "
                         f"{window} tokens.")
    if ids.size < window:
        raise ValueError(f"the text has {ids.size} tokens, shorter than one window of {window}; "
                         "expected a longer text or a smaller window.")
    n = ids.size // window
    if max_tokens is not None:
        if max_tokens < window:
            raise ValueError(f"max_tokens={max_tokens} is below one window of {window} tokens.")
        n = min(n, int(max_tokens) // window)
    return np.ascontiguousarray(ids[: n * window].reshape(n, window).astype(np.int64))


def sentences(text: str, n: int | None = None, *, min_chars: int = 30, max_chars: int = 300,
              random_state: int = 0) -> list[str]:
    """Sentences of ``text`` for sentence-encoder evaluation.

    Parameters
    ----------
    text : str
    n : int, optional
        Number of sentences, a seeded sample without replacement in text order (all if None).
    min_chars, max_chars : int, default=30, 300
        Sentences outside this length are dropped (fragments, run-ons).
    random_state : int, default=0

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If the text is empty or holds fewer than ``n`` usable sentences.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the text is empty; expected English prose.")
    out = [s.strip() for p in text.split("\n\n") for s in _SENTENCE_END.split(p)]
    out = [s for s in out if min_chars <= len(s) <= max_chars]
    if n is None:
        return out
    if len(out) < n:
        raise ValueError(f"the text has {len(out)} sentences of {min_chars}-{max_chars} characters; expected >= {n}.")
    pick = np.sort(np.random.default_rng(random_state).choice(len(out), size=n, replace=False))
    return [out[i] for i in pick]
