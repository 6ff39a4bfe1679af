"""word2vec / GloVe text (``.txt``, ``.vec``; optional ``"count dim"`` header line)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def _load_text(path: Path, tensor: str | None) -> tuple[np.ndarray, list[str], dict]:
    """word2vec text (``count dim`` header) or GloVe text (no header)."""
    if tensor is not None:
        raise ValueError(f"{path}: tensor= is not meaningful for word2vec/GloVe text files")
    words: list[str] = []
    rows: list[str] = []
    header: tuple[int, int] | None = None
    dim: int | None = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if lineno == 1:
                parts = line.split()
                if len(parts) == 2 and _is_int(parts[0]) and _is_int(parts[1]):
                    header = (int(parts[0]), int(parts[1]))
                    if header[0] < 0 or header[1] < 1:
                        raise ValueError(
                            f"{path}:1: word2vec header 'count dim' must have count >= 0 and "
                            f"dim >= 1, got {line[:80]!r}"
                        )
                    dim = header[1]
                    continue
            if dim is None:
                dim = len(line.split()) - 1
                if dim < 1:
                    raise ValueError(
                        f"{path}:{lineno}: expected 'word v1 v2 ...', got {line[:80]!r}"
                    )
            # The word may itself contain spaces (some GloVe vocabularies): take the
            # last `dim` fields as the vector and everything before as the word.
            parts = line.rstrip().rsplit(None, dim)
            if len(parts) != dim + 1:
                raise ValueError(
                    f"{path}:{lineno}: expected a word followed by {dim} numbers, got "
                    f"{len(parts) - 1} fields: {line[:80]!r}"
                )
            words.append(parts[0])
            rows.append(" ".join(parts[1:]))
    if not rows:
        raise ValueError(f"{path}: no embedding rows found (empty file?)")
    try:
        arr = np.array(" ".join(rows).split(), dtype=np.float64).reshape(len(rows), dim)
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric vector entry ({exc})") from exc
    if header is not None and header != arr.shape:
        raise ValueError(
            f"{path}: header says {header[0]} words x {header[1]} dims but the file "
            f"has {arr.shape[0]} x {arr.shape[1]}; the file is truncated or malformed"
        )
    source = {"path": str(path), "format": "word2vec-text" if header else "glove-text",
              "tensor": None, "original_dtype": "text", "quantization": None,
              "header": list(header) if header else None, "tokens_from": "file"}
    return arr, words, source
