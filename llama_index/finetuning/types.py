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

    model_output_path: str  # the folder finetune() saves to

    @abstractmethod
    def finetune(self, *args: Any, **kwargs: Any) -> Any:
        """Train, save the result to the engine's output path, and return what it measured."""

    @abstractmethod
    def get_finetuned_model(self, **model_kwargs: Any) -> Any:
        """The trained model as a llama-index ``BaseEmbedding``."""

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> str:
        """Upload what ``finetune()`` saved (the model or the adapter, with its card) to the
        Hugging Face Hub repo ``repo_id``; returns the commit URL. Keyword arguments:
        ``private``, ``token``, ``commit_message``, ``create_pr``.

        Example::

            engine.finetune()
            engine.push_to_hub("your-name/bge-small-10k", private=True)
        """
        from .embeddings.hub import push_to_hub

        return push_to_hub(self.model_output_path, repo_id, **kwargs)
