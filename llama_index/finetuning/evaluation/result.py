"""EvaluationResult: the summary and the per-query table of one model's (or retriever's) run.

Example::

    from llama_index.finetuning.evaluation import evaluate_embedding

    result = evaluate_embedding(val_dataset, "local:my_finetuned_model", top_k=[1, 5, 10])
    result.summary["mrr@10"]                       # 0.71...
    result.per_query[result.per_query.first_hit_rank.isna()]   # the queries it missed
    result.save_json("finetuned_eval.json")
    same = EvaluationResult.from_json("finetuned_eval.json")
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dataset import EmbeddingQAFinetuneDataset, atomic_write_text
from . import metrics as M
from .set_size import small_set_notice, too_small

_LIST_COLUMNS = ("expected_ids", "retrieved_ids", "retrieved_scores")


@dataclass
class EvaluationResult:
    """Metrics of one model on one dataset.

    Example::

        from llama_index.finetuning import evaluate_embedding

        result = evaluate_embedding(val, "offline")     # an EvaluationResult
        result.summary["ndcg@10"], result.per_query.head()

    Attributes:
        name: the model's label (e.g. ``"finetuned"``).
        summary: ``{"<metric>@<k>": mean over queries}``, e.g. ``{"hit_rate@5": 0.83}``.
        per_query: one row per query: ``query_id``, ``query``, ``expected_ids``,
            ``retrieved_ids`` (best first, up to the largest k), ``retrieved_scores``,
            ``first_hit_rank`` (1-based, ``<NA>`` when no relevant chunk was retrieved)
            and one column per summary key.
        top_k: the k values of the summary.
        metrics: the metric names of the summary.
        info: how the numbers were obtained: sizes (``n_queries``, ``n_corpus``: the chunks
            searched), timings, embedding counts.

    ``searched_chunks`` says what the questions were searched among, ``too_small`` whether
    they are too few to tell two models apart (``notice`` says it in words).
    """

    name: str
    summary: dict[str, float]
    per_query: pd.DataFrame
    top_k: list[int]
    metrics: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in self.summary.items())
        searched = f", searched among {self.searched_chunks} chunks" if self.searched_chunks else ""
        small = ", too small to tell two models apart" if self.too_small else ""
        return (
            f"EvaluationResult(name={self.name!r}, queries={self.n_queries}{searched}{small}, "
            f"{shown})"
        )

    @property
    def n_queries(self) -> int:
        """The questions scored."""
        return int(self.info.get("n_queries", len(self.per_query)))

    @property
    def searched_chunks(self) -> int | None:
        """How many chunks each question was searched among (None if not recorded)."""
        n = self.info.get("n_corpus")
        return None if n is None else int(n)

    @property
    def too_small(self) -> bool:
        """Too few questions to tell two models apart (``set_size.MIN_QUESTIONS``)."""
        return too_small(self.n_queries)

    @property
    def notice(self) -> str | None:
        """What a reader must know before trusting a difference on this set, if anything."""
        return small_set_notice(self.n_queries)

    def to_dict(self, per_query: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; ``per_query=False`` leaves out the per-query rows."""
        out: dict[str, Any] = {
            "name": self.name,
            "summary": dict(self.summary),
            "top_k": list(self.top_k),
            "metrics": list(self.metrics),
            "info": dict(self.info),
        }
        if per_query:
            frame = self.per_query.astype(object).where(self.per_query.notna(), None)
            out["per_query"] = frame.to_dict(orient="records")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        missing = {"name", "summary", "top_k", "metrics"} - data.keys()
        if missing:
            raise ValueError(f"not an EvaluationResult dict: missing the keys {sorted(missing)}")
        per_query = pd.DataFrame(data.get("per_query") or [])
        if "first_hit_rank" in per_query:
            per_query["first_hit_rank"] = per_query["first_hit_rank"].astype("Int64")
        return cls(
            name=data["name"],
            summary={k: float(v) for k, v in data["summary"].items()},
            per_query=per_query,
            top_k=list(data["top_k"]),
            metrics=list(data["metrics"]),
            info=dict(data.get("info") or {}),
        )

    def save_json(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2))

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> EvaluationResult:
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, ValueError) as e:
            raise ValueError(f"{path}: cannot read an EvaluationResult ({e})") from None


def build_result(
    dataset: EmbeddingQAFinetuneDataset,
    retrieved_ids: Sequence[Sequence[str]],
    retrieved_scores: Sequence[Sequence[float]] | None,
    top_k: int | Sequence[int],
    metrics: Sequence[str] | None,
    name: str,
    info: dict[str, Any] | None = None,
    extra_scores: dict[str, np.ndarray] | None = None,
) -> EvaluationResult:
    """Score ranked ids (one list per query, in ``dataset.queries`` order) with :mod:`.metrics`."""
    ks = M.normalize_top_k(top_k)
    names = M.normalize_metrics(metrics) if metrics is None or list(metrics) else []
    query_ids = list(dataset.queries)
    expected = [list(dataset.relevant_docs[q]) for q in query_ids]
    rel = M.relevance(retrieved_ids, expected, depth=max(ks))
    scores = M.per_query_scores(rel, ks, names)
    scores.update(extra_scores or {})
    order = list(M.METRICS)
    scores = dict(
        sorted(
            scores.items(),
            key=lambda kv: (
                order.index(kv[0].split("@")[0]) if kv[0].split("@")[0] in order else len(order),
                int(kv[0].rsplit("@", 1)[1]),
            ),
        )
    )
    first = M.first_hit_rank(rel)
    per_query = pd.DataFrame(
        {
            "query_id": query_ids,
            "query": [dataset.queries[q] for q in query_ids],
            "expected_ids": expected,
            "retrieved_ids": [list(r[: max(ks)]) for r in retrieved_ids],
            "retrieved_scores": (
                [[float(s) for s in row[: max(ks)]] for row in retrieved_scores]
                if retrieved_scores is not None
                else [None] * len(query_ids)
            ),
            "first_hit_rank": pd.array(np.where(first > 0, first, pd.NA), dtype="Int64"),
            **scores,
        }
    )
    summary = {k: float(v.mean()) if len(v) else 0.0 for k, v in scores.items()}
    info = {"n_queries": len(query_ids), "n_corpus": len(dataset.corpus), **(info or {})}
    return EvaluationResult(
        name=name, summary=summary, per_query=per_query, top_k=ks, metrics=names, info=info
    )
