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
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

_OWNER = "llama-index-finetuning-embeddings"  # ownership.py: this file is this package's


def _check_installation() -> None:
    """Raise ImportError when another distribution (llama-index-finetuning 0.4,
    llama-index-embeddings-adapter) claims this package's files: see
    ``llama_index.embeddings.adapter.ownership``. That module is read from its file, not
    imported through its package, whose ``__init__`` imports torch (or is the other
    distribution's)."""
    name = "llama_index.embeddings.adapter.ownership"
    module = sys.modules.get(name)
    if module is None:
        path = Path(__file__).resolve().parents[1] / "embeddings" / "adapter" / "ownership.py"
        spec = importlib.util.spec_from_file_location("_llama_index_finetuning_ownership", path)
        if spec is None or spec.loader is None or not path.exists():
            raise ImportError(
                f"{path} is missing: reinstall with "
                "pip install --force-reinstall --no-deps llama-index-finetuning-embeddings",
                name=__name__,
            )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    module.check_installation(__name__)


_check_installation()

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
    "FinetuneResult": ".embeddings.finetune_result",
    "FinetuneJob": ".job",
    "JobResult": ".job",
    "SettingError": ".errors",
    "IncompleteResult": ".errors",
    "GenerationError": ".generation.errors",
    "GenerationWarning": ".generation.report",
    "OutputExistsError": ".outputs",
    "SmallSetWarning": ".evaluation.set_size",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover  (for type checkers and IDEs; ruff cannot see __all__)
    # ruff: noqa: F401
    from .dataset import EmbeddingQAFinetuneDataset
    from .embeddings.adapter import EmbeddingAdapterFinetuneEngine
    from .embeddings.base_models import offline_embed_model
    from .embeddings.finetune_result import FinetuneResult
    from .embeddings.sentence_transformer import SentenceTransformersFinetuneEngine
    from .errors import IncompleteResult, SettingError
    from .evaluation import EvaluationResult, compare, evaluate_embedding, evaluate_retriever
    from .evaluation.set_size import SmallSetWarning
    from .generation import (
        DEFAULT_QA_GENERATE_PROMPT_TMPL,
        GenerationReport,
        agenerate_qa_embedding_pairs,
        generate_qa_embedding_pairs,
    )
    from .generation.errors import GenerationError
    from .generation.report import GenerationWarning
    from .job import FinetuneJob, JobResult
    from .outputs import OutputExistsError
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
