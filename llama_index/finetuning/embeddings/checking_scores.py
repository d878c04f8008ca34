"""Scores on the checking set: one scorer for the trainer's evaluations and the guard's checks.

Example::

    from llama_index.finetuning.embeddings.checking_scores import CheckingEvaluator, score_model

    evaluator = CheckingEvaluator(val, prompts=("", ""), batch_size=32)
    evaluator(model, steps=50)["val_cosine_ndcg@10"]   # what the trainer logs (eval_ prefixed)
    evaluator.results[50].per_query["ndcg@10"]         # every question's score, kept by step
    score_model(model, val).summary["ndcg@10"]          # the same number, computed again

sentence-transformers' ``InformationRetrievalEvaluator`` reports averages only; the guard
needs each question's score for its paired comparison with the base model. This evaluator
scores with :func:`score_model` (the package's metrics, equal to sentence-transformers' on the
same ranking: ``tests/test_evaluation.py``) and keeps each evaluation by training step, so the
checkpoint the trainer kept is not scored a second time when the guard checks it as trained.
Metric names are sentence-transformers' (``val_cosine_ndcg@10``, ``val_cosine_accuracy@1``),
so logs and ``metric_for_best_model`` read as they did with its evaluator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

if TYPE_CHECKING:
    from ..dataset import EmbeddingQAFinetuneDataset
    from ..evaluation.result import EvaluationResult

VAL_NAME = "val"
# the package's metric names -> sentence-transformers' (InformationRetrievalEvaluator)
_LIBRARY_NAMES = {"hit_rate": "accuracy"}


def score_model(
    model: Any,
    dataset: EmbeddingQAFinetuneDataset,
    prompts: tuple[str, str] = ("", ""),
    batch_size: int = 32,
) -> EvaluationResult:
    """An :class:`~llama_index.finetuning.evaluation.EvaluationResult` of a SentenceTransformer
    on ``dataset`` (cosine similarity; hit rate, MRR, NDCG... at 1, 5 and 10, per question).

    Example::

        score_model(load_sentence_transformer("offline"), val).summary["ndcg@10"]
    """
    from ..evaluation import score_embeddings
    from .candidates import encode as encode_texts

    query_prompt, passage_prompt = prompts

    def encode(texts: dict[str, str], prompt: str):
        return encode_texts(model, list(texts.values()), prompt, batch_size)

    return score_embeddings(
        dataset,
        encode(dataset.queries, query_prompt),
        encode(dataset.corpus, passage_prompt),
        top_k=[1, 5, 10],
    )


class CheckingEvaluator(InformationRetrievalEvaluator):
    """The trainer's evaluator on the checking set: NDCG@10 and company, per question, by step.

    An ``InformationRetrievalEvaluator`` (model cards describe it as one) that scores with
    :func:`score_model` and keeps every evaluation.

    Example::

        evaluator = CheckingEvaluator(val, ("query: ", "passage: "), batch_size=32)
        SentenceTransformerTrainer(model, args, train_dataset=rows, evaluator=evaluator)
        ...
        evaluator.results[kept_step]       # the kept checkpoint's EvaluationResult

    Args:
        dataset: the checking set (its corpus: what each question is ranked among).
        prompts: the (query, passage) prompts the model is scored with.
        batch_size: encoding batch size.
    """

    def __init__(
        self,
        dataset: EmbeddingQAFinetuneDataset,
        prompts: tuple[str, str] = ("", ""),
        batch_size: int = 32,
    ) -> None:
        query_prompt, passage_prompt = prompts
        super().__init__(
            queries=dict(dataset.queries), corpus=dict(dataset.corpus),
            relevant_docs={q: set(docs) for q, docs in dataset.relevant_docs.items()},
            accuracy_at_k=[1, 5, 10], precision_recall_at_k=[1, 5, 10], mrr_at_k=[1, 5, 10],
            ndcg_at_k=[1, 5, 10], map_at_k=[1, 5, 10], batch_size=batch_size, name=VAL_NAME,
            main_score_function="cosine", query_prompt=query_prompt or None,
            corpus_prompt=passage_prompt or None, show_progress_bar=False,
        )  # fmt: skip
        self.dataset = dataset
        self.prompts = prompts
        self.primary_metric = f"{VAL_NAME}_cosine_ndcg@10"
        #: every evaluation of this run, by the training step it was made at
        self.results: dict[int, EvaluationResult] = {}

    def __call__(
        self,
        model: Any,
        output_path: str | None = None,
        epoch: int = -1,
        steps: int = -1,
        *args: Any,
        **kwargs: Any,
    ) -> dict[str, float]:
        result = score_model(model, self.dataset, self.prompts, self.batch_size)
        self.results[int(steps)] = result
        metrics = {f"cosine_{library_name(k)}": float(v) for k, v in result.summary.items()}
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    @property
    def best_metric(self) -> str:
        """The trainer's name for the metric that chooses the checkpoint."""
        return f"eval_{self.primary_metric}"


def library_name(metric: str) -> str:
    """``"hit_rate@5"`` -> ``"accuracy@5"``: sentence-transformers' name for a metric."""
    name, _, k = metric.partition("@")
    return f"{_LIBRARY_NAMES.get(name, name)}@{k}" if k else _LIBRARY_NAMES.get(name, name)
