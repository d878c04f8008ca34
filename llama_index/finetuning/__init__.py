"""Finetune embedding models, and adapters over any embedding model, for LlamaIndex retrieval.

Example::

    from llama_index.finetuning import (
        EmbeddingQAFinetuneDataset,
        SentenceTransformersFinetuneEngine,
        generate_qa_embedding_pairs,
    )

    train = generate_qa_embedding_pairs(nodes=train_nodes, llm=llm, output_path="train.json")
    engine = SentenceTransformersFinetuneEngine(train, model_output_path="my_model")
    engine.finetune()
    embed_model = engine.get_finetuned_model()

Every public name is imported on first use (PEP 562), so ``import llama_index.finetuning``
does not import torch or sentence-transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module (relative to this package) that defines it
_EXPORTS = {
    "EmbeddingQAFinetuneDataset": ".dataset",
    "generate_qa_embedding_pairs": ".generation",
    "agenerate_qa_embedding_pairs": ".generation",
    "DEFAULT_QA_GENERATE_PROMPT_TMPL": ".generation",
    "GenerationReport": ".generation",
    "BaseEmbeddingFinetuneEngine": ".types",
    "SentenceTransformersFinetuneEngine": ".embeddings.sentence_transformer",
    "EmbeddingAdapterFinetuneEngine": ".embeddings.adapter",
    "evaluate_embedding": ".evaluation",
    "evaluate_retriever": ".evaluation",
    "compare": ".evaluation",
    "EvaluationResult": ".evaluation",
    "offline_embed_model": ".embeddings.base_models",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover  (for type checkers and IDEs; ruff cannot see __all__)
    # ruff: noqa: F401
    from .dataset import EmbeddingQAFinetuneDataset
    from .embeddings.adapter import EmbeddingAdapterFinetuneEngine
    from .embeddings.base_models import offline_embed_model
    from .embeddings.sentence_transformer import SentenceTransformersFinetuneEngine
    from .evaluation import EvaluationResult, compare, evaluate_embedding, evaluate_retriever
    from .generation import (
        DEFAULT_QA_GENERATE_PROMPT_TMPL,
        GenerationReport,
        agenerate_qa_embedding_pairs,
        generate_qa_embedding_pairs,
    )
    from .types import BaseEmbeddingFinetuneEngine


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
