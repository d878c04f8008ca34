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
    def finetune(self) -> None:
        """Train, and save the result to the engine's output path."""

    @abstractmethod
    def get_finetuned_model(self, **model_kwargs: Any) -> Any:
        """The trained model as a llama-index ``BaseEmbedding``."""
