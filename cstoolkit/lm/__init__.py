"""What compression does to the language model itself: numpy forward passes and model-level metrics.

* :class:`LlamaModel` / :func:`load_smollm2` — SmolLM2-135M (llama architecture) from its GGUF;
* :class:`BertEncoder` / :func:`load_minilm` — all-MiniLM-L6-v2 sentence encoder from safetensors;
* :mod:`~cstoolkit.lm.metrics` — perplexity, PPL ratio, KLD statistics, same-top rate, Δp;
  sentence-embedding cosine, Spearman of similarities, top-10 retrieval overlap;
* :mod:`~cstoolkit.lm.text` — offline evaluation text (Python's language-reference prose),
  fixed windows, an evaluation / calibration split;
* :mod:`~cstoolkit.lm.evaluate` — original against compressed, streamed over windows;
* :mod:`~cstoolkit.lm.quantize` — GGUF block quantisation (Q8_0, Q4_0, Q4_1) of a table as a baseline.

Any weight can be swapped without copying the model::

    lm = load_smollm2()
    lm_hat = lm.with_weights({"token_embd.weight": E_hat})                 # tied: both ends
    lm_in = lm.with_weights({"token_embd.weight": E_hat}, keep_output_head=True)  # input side only

Needs the ``lm`` extra (``tokenizers``, ``safetensors``, ``gguf``).
"""

from .bert import BertConfig, BertEncoder, load_minilm
from .evaluate import CausalLMReport, EncoderReport, PositionScores, compare_causal_lm, compare_encoders, reference_hidden
from .gguf_llama import LlamaConfig, LlamaModel, load_smollm2

__all__ = ["BertConfig", "BertEncoder", "load_minilm", "LlamaConfig", "LlamaModel", "load_smollm2",
           "CausalLMReport", "EncoderReport", "PositionScores", "compare_causal_lm", "compare_encoders",
           "reference_hidden"]
