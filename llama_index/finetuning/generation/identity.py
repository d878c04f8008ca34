"""Which LLM wrote a chunk's questions: its class and model name.

Example::

    from llama_index.finetuning.generation.identity import llm_identity
    from llama_index.finetuning.llms import LocalLLM

    llm_identity(LocalLLM())        # 'LocalLLM:SmolLM2-135M-Instruct'

Resume (resume.py) keeps it in each chunk's fingerprint; errors (errors.py) name the LLM
with it.
"""

from __future__ import annotations

from typing import Any


def llm_identity(llm: Any) -> str:
    """The LLM's class and model name (path), e.g. ``"OpenAI:gpt-4o-mini"``."""
    try:
        name = llm.metadata.model_name
    except Exception:  # noqa: BLE001  an LLM without metadata still has a class
        name = getattr(llm, "model", None) or getattr(llm, "model_name", None)
    return f"{type(llm).__name__}:{name}"
