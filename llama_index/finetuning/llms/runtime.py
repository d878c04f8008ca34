"""What a LocalLLM runtime reads from the LLM that drives it: its settings, as a protocol.

Example::

    from llama_index.finetuning.llms import LocalLLM
    from llama_index.finetuning.llms.runtime import RuntimeSettings

    settings: RuntimeSettings = LocalLLM(max_new_tokens=32)   # what a runtime is given
    settings.max_new_tokens, settings.temperature               # (32, 0.0)

``LocalLLM`` (local.py) drives a runtime (llamacpp.py, transformers_runtime.py) and hands it
itself; the runtime reads these fields when it loads and on each request. Typing the
runtimes against this protocol, not against ``LocalLLM``, keeps the imports one way:
local.py -> the runtimes -> this module.
"""

from __future__ import annotations

from typing import Protocol


class RuntimeSettings(Protocol):
    """The fields of ``LocalLLM`` that its runtimes read (see ``LocalLLM`` for each)."""

    @property
    def max_new_tokens(self) -> int: ...
    @property
    def temperature(self) -> float: ...
    @property
    def top_p(self) -> float: ...
    @property
    def repetition_penalty(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def n_parallel(self) -> int | None: ...
    @property
    def max_batch_size(self) -> int: ...
    @property
    def context_window(self) -> int: ...
    @property
    def system_prompt(self) -> str | None: ...
