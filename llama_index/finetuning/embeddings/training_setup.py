"""The sentence-transformers pieces the engine hands to the trainer: loss, evaluator, devices.

Example::

    from llama_index.finetuning.embeddings.training_setup import build_loss, ir_evaluator

    loss = build_loss(model, "cached_mnrl", mini_batch_size=16, matryoshka_dims=[384, 128])
    evaluator = ir_evaluator(val_dataset, model, prompts=("query: ", "passage: "))
    evaluator(model)["val_cosine_ndcg@10"]

Each function maps one engine setting to the library object that implements it, so that
:mod:`.sentence_transformer` reads as configuration and nothing here re-implements training.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..dataset import EmbeddingQAFinetuneDataset

LOSSES = ("mnrl", "cached_mnrl")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
VAL_NAME = "val"


def build_loss(
    model: Any,
    loss: Any = None,
    mini_batch_size: int = 32,
    matryoshka_dims: Sequence[int] | None = None,
) -> Any:
    """``None``/``"mnrl"``, ``"cached_mnrl"``, a loss module or a ``model -> module`` factory.

    With ``matryoshka_dims`` the loss is wrapped in ``MatryoshkaLoss``, so that embeddings
    truncated to each of those sizes are trained too.
    """
    from sentence_transformers.sentence_transformer import losses

    if loss is None or loss == "mnrl":
        loss = losses.MultipleNegativesRankingLoss(model)
    elif loss == "cached_mnrl":
        loss = losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=mini_batch_size, show_progress_bar=False
        )
    # otherwise a module (the trainer points it at its own model) or a factory
    if matryoshka_dims:
        if callable(loss) and not hasattr(loss, "forward"):
            loss = loss(model)
        loss = losses.MatryoshkaLoss(model, loss, matryoshka_dims=list(matryoshka_dims))
    return loss


def loss_name(loss: Any) -> str:
    if loss is None or loss == "mnrl":
        return "MultipleNegativesRankingLoss"
    if loss == "cached_mnrl":
        return "CachedMultipleNegativesRankingLoss"
    if hasattr(loss, "forward"):
        return type(loss).__name__
    return getattr(loss, "__name__", str(loss))


def ir_evaluator(
    val_dataset: EmbeddingQAFinetuneDataset,
    model: Any,
    prompts: tuple[str, str] = ("", ""),
    batch_size: int = 32,
):
    """sentence-transformers' InformationRetrievalEvaluator on ``val_dataset``, with the prompts.

    Its primary metric is NDCG@10 under the model's similarity function, named
    ``val_<function>_ndcg@10`` (the trainer logs it as ``eval_val_<function>_ndcg@10``).
    """
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    query_prompt, passage_prompt = prompts
    return InformationRetrievalEvaluator(
        queries=val_dataset.queries,
        corpus=val_dataset.corpus,
        relevant_docs={q: set(docs) for q, docs in val_dataset.relevant_docs.items()},
        accuracy_at_k=[1, 5, 10],
        precision_recall_at_k=[5, 10],
        mrr_at_k=[10],
        ndcg_at_k=[10],
        map_at_k=[10],
        batch_size=batch_size,
        name=VAL_NAME,
        main_score_function=model.similarity_fn_name or "cosine",
        query_prompt=query_prompt or None,
        corpus_prompt=passage_prompt or None,
        show_progress_bar=False,
    )


def best_metric_name(evaluator: Any) -> str:
    return f"eval_{VAL_NAME}_{evaluator.main_score_function.value}_ndcg@10"


def load_device(device: str | None) -> str | None:
    """Where to load the model: under torchrun each process takes its own GPU, or the CPU."""
    if device is not None:
        return device
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is None:
        return None
    import torch

    return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"


def precision_flags(precision: str, device: str | None) -> tuple[bool, bool]:
    """``(bf16, fp16)`` for the trainer; ``"auto"`` is bf16, else fp16, on CUDA and fp32 elsewhere."""
    import torch

    on_cuda = (device or "cuda").startswith("cuda") and torch.cuda.is_available()
    if precision == "auto":
        if not on_cuda:
            return False, False
        return (True, False) if torch.cuda.is_bf16_supported() else (False, True)
    if precision == "fp16" and not on_cuda:
        raise ValueError("precision='fp16' needs a CUDA GPU; use 'bf16' or 'fp32' on this device")
    return precision == "bf16", precision == "fp16"


def warmup_kwargs(ratio: float) -> dict[str, float]:
    """The warmup ratio, spelled as the installed transformers wants it."""
    import transformers
    from packaging.version import Version

    if Version(transformers.__version__) >= Version("5.0.0"):
        return {"warmup_steps": float(ratio)}  # since v5 a float below 1 is a ratio
    return {"warmup_ratio": float(ratio)}


def val_metrics_from_log(trainer: Any, base: dict[str, float] | None = None) -> dict:
    """Validation metrics of the base model (``base``: the evaluator's output before training)
    and of the checkpoint the trainer kept (the best one by NDCG@10)."""
    prefix = f"eval_{VAL_NAME}_"
    evals = [e for e in trainer.state.log_history if any(k.startswith(prefix) for k in e)]
    out: dict[str, dict[str, float]] = {}
    if base:
        out["base"] = {k[len(VAL_NAME) + 1 :]: v for k, v in base.items()}
    if not evals:
        return out
    kept_step = evals[-1]["step"]
    if trainer.state.best_model_checkpoint:
        kept_step = int(trainer.state.best_model_checkpoint.rsplit("-", 1)[-1])
    kept = next((e for e in evals if e["step"] == kept_step), evals[-1])
    out["finetuned"] = {k[len(prefix) :]: v for k, v in kept.items() if k.startswith(prefix)}
    out["finetuned"]["step"] = kept["step"]
    return out


def barrier() -> None:
    """Wait for every process (no-op when training in a single process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
