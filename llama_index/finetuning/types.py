"""The interface every finetuning engine implements (the old package's base class, same name)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class BaseEmbeddingFinetuneEngine(ABC):
    """An engine stores its configuration in ``__init__``; ``finetune()`` does the work.

    Example::

        engine = SentenceTransformersFinetuneEngine(train_dataset)
        engine.finetune()
        embed_model = engine.get_finetuned_model()  # a llama-index BaseEmbedding
    """

    @abstractmethod
    def finetune(self, *args: Any, **kwargs: Any) -> Any:
        """Train, save the result to the engine's output path, and return what it measured."""

    @abstractmethod
    def get_finetuned_model(self, **model_kwargs: Any) -> Any:
        """The trained model as a llama-index ``BaseEmbedding``."""
