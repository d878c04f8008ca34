"""Retrieval evaluation: every metric, any embedding model or retriever, side by side.

Example::

    from llama_index.finetuning.evaluation import compare

    report = compare(
        val_dataset,
        {"base": "local:BAAI/bge-small-en", "finetuned": "local:exp_finetune", "adapter": adapter_model},
        top_k=[1, 5, 10],
        output_dir="eval",            # writes comparison.md, comparison.png, comparison.json
        baseline="base",
    )
    print(report.to_markdown())   # headline metrics; each model's difference from "base"
                                  # with a 95% bootstrap interval, wins/losses/ties, p-value

Public names are imported on first use, so importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "EvaluationResult": ".result",
    "score_embeddings": ".evaluate",
    "evaluate_embedding": ".evaluate",
    "aevaluate_embedding": ".evaluate",
    "evaluate_retriever": ".retriever",
    "aevaluate_retriever": ".retriever",
    "corpus_nodes": ".retriever",
    "clear_embedding_cache": ".evaluate",
    "compare": ".report",
    "Comparison": ".report",
    "metrics": ".metrics",
    "stats": ".stats",
    "PairedDifference": ".stats",
    "SmallSetWarning": ".set_size",
}

__all__ = [
    "Comparison",
    "PairedDifference",
    "EvaluationResult",
    "SmallSetWarning",
    "aevaluate_embedding",
    "aevaluate_retriever",
    "clear_embedding_cache",
    "compare",
    "corpus_nodes",
    "evaluate_embedding",
    "evaluate_retriever",
    "metrics",
    "score_embeddings",
    "stats",
]
assert sorted(__all__) == sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from . import metrics, stats
    from .evaluate import (
        aevaluate_embedding,
        clear_embedding_cache,
        evaluate_embedding,
        score_embeddings,
    )
    from .report import Comparison, compare
    from .result import EvaluationResult
    from .retriever import aevaluate_retriever, corpus_nodes, evaluate_retriever
    from .set_size import SmallSetWarning
    from .stats import PairedDifference


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod = importlib.import_module(module, __name__)
    value = mod if name in ("metrics", "stats") else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
