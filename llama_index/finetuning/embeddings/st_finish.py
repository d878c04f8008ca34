"""What the sentence-transformers engine saves once training ends.

Example::

    trainer.train()
    result = finish(engine, trainer)   # the chosen checkpoint, merged, checked, saved, carded

The checkpoint the trainer kept (with a checking set: the best by NDCG@10; without: the last
step) is merged with the base model (``engine.merge``; ``"auto"``: the best of 1.0, 0.75 and
0.5 on the checking set), then scored beside the base model on the checking set
(:mod:`.selection`; ranked among its candidates, :mod:`.candidates`, whose base scores were
computed once before training): per-question NDCG@10 of both, with the paired difference's
bootstrap interval. If it does not score above the base model, the base model
is saved instead, and the result, the log and the model card say so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..dataset import EmbeddingQAFinetuneDataset
from ..outputs import remove_own_dir
from .candidates import encode as encode_texts
from .finetune_result import FinetuneResult, unchecked_result
from .merge import AUTO, MERGE_CHOICES, UNCHECKED_MERGE, choose_merge, merge_with_base
from .model_card import display_model_id, hub_base_model, write_finetune_card
from .selection import answer_chunks, checking_set, paired_check
from .training_setup import barrier

logger = logging.getLogger(__name__)

METRIC = "ndcg@10"


def score_model(
    model: Any,
    dataset: EmbeddingQAFinetuneDataset,
    prompts: tuple[str, str] = ("", ""),
    batch_size: int = 32,
) -> Any:
    """An :class:`~llama_index.finetuning.evaluation.EvaluationResult` of a SentenceTransformer
    on ``dataset`` (cosine similarity; hit rate, MRR, NDCG... at 1, 5 and 10, per question)."""
    from ..evaluation import score_embeddings

    query_prompt, passage_prompt = prompts

    def encode(texts: dict[str, str], prompt: str):
        return encode_texts(model, list(texts.values()), prompt, batch_size)

    return score_embeddings(
        dataset,
        encode(dataset.queries, query_prompt),
        encode(dataset.corpus, passage_prompt),
        top_k=[1, 5, 10],
    )


def kept_step(trainer: Any) -> int:
    """The training step of the model the trainer holds now (its best checkpoint if it kept one)."""
    best = trainer.state.best_model_checkpoint
    return int(best.rsplit("-", 1)[-1]) if best else int(trainer.state.global_step)


def finish(engine: Any, trainer: Any, checkpoint_dir: str) -> FinetuneResult:
    """Merge, check against the base model, save the winner with its card; returns the result."""
    selection, output = engine.selection, str(engine.model_output_path)
    model, step = trainer.model, kept_step(trainer)
    rank0 = trainer.is_world_process_zero()
    checking = selection.val is not None and rank0
    weight = UNCHECKED_MERGE if engine.merge == AUTO else engine.merge
    base = engine._load_model() if weight < 1.0 or checking else None
    if weight < 1.0 and not checking:
        merge_with_base(model, base, weight, inplace=True)
    engine.val_metrics = {}
    if checking:
        batch_size = max(32, engine.batch_size)
        found = engine.checking  # the candidates, ranked once by the base
        ranked_on = found.checking if found is not None else selection.val
        base_eval = (
            found.base_scores
            if found is not None
            else score_model(base, selection.val, engine.prompts, batch_size)
        )
        weight, trained_eval, merge_scores = choose_merge(
            model,
            base,
            MERGE_CHOICES if engine.merge == AUTO else (weight,),
            lambda m: score_model(m, ranked_on, engine.prompts, batch_size),
        )
        base_score, trained_score = base_eval.summary[METRIC], trained_eval.summary[METRIC]
        keep_base = trained_score <= base_score
        engine.val_metrics = {
            "base": dict(base_eval.summary),
            "finetuned": {**trained_eval.summary, "step": step},
        }
        result = FinetuneResult(
            metric=METRIC,
            base_score=float(base_score),
            best_score=float(base_score if keep_base else trained_score),
            best_step=0 if keep_base else step,
            kept_untrained=keep_base,
            start_is_identity=keep_base,
            selected_on=selection.description,
            output_path=output,
            checked_by=selection.source,
            trained_score=float(trained_score),
            comparison=paired_check(
                trained_eval.per_query[METRIC].to_numpy(),
                base_eval.per_query[METRIC].to_numpy(),
                METRIC,
                seed=engine.seed,
            ),
            merge=weight,
            merge_scores=merge_scores if engine.merge == AUTO else None,
            ranked_among=len(ranked_on.corpus),
        )
        if keep_base:
            model = base
    elif selection.val is not None:  # another process of a distributed run
        result = FinetuneResult(
            None, None, None, best_step=step, output_path=output, checked_by=selection.source,
            unchecked_reason="the process of rank 0 checks and saves the model", merge=weight,
        )  # fmt: skip
    else:
        result = unchecked_result(selection, output, "model", best_step=step, merge=weight)
    query_prompt, passage_prompt = engine.prompts
    model.prompts = {"query": query_prompt, "document": passage_prompt, "text": passage_prompt}
    engine.model = model
    if rank0:
        out = Path(output)
        hub_base = hub_base_model(engine.base_model_id)
        card = getattr(model, "model_card_data", None)
        if hub_base and card is not None and not card.base_model:  # else "Base model: Unknown"
            card.base_model = hub_base
        model.save_pretrained(str(out))
        write_finetune_card(
            out, engine_card_settings(engine, trainer), engine.val_metrics,
            selected_on=selection.description, result=result, prompts=engine.prompts,
            base_model=hub_base,
        )  # fmt: skip
        remove_own_dir(out / checkpoint_dir)  # only the folder this engine marked
        result.log(f"local:{out}")
    barrier()
    return result


def engine_card_settings(engine: Any, trainer: Any) -> dict[str, Any]:
    """The settings of a SentenceTransformersFinetuneEngine run, as the card records them."""
    from .training_setup import loss_name

    query_prompt, passage_prompt = engine.prompts
    selection = engine.selection
    train, val = selection.train, selection.val
    return {
        "base model": display_model_id(engine.base_model_id),
        "training questions": len(train.queries),
        "training chunks": len(answer_chunks(train)),
        "corpus chunks (with distractors)": len(train.corpus),
        "training rows": len(trainer.train_dataset),
        "checking set": checking_set(selection, engine.holdout),
        "checking questions": len(val.queries) if val else 0,
        "checking chunks searched": len(val.corpus) if val else 0,
        "checking chunks ranked by the base model before training (a sample if fewer)": (
            engine.checking.pool_size if engine.checking else "-"
        ),
        "checking chunks ranked at each evaluation": (
            len(engine.checking.checking.corpus)
            if engine.checking
            else (len(val.corpus) if val else 0)
        ),
        "merge (share of the finetuned weights)": engine.merge,
        "epochs": engine.epochs,
        "batch size (per device)": engine.batch_size,
        "processes (data parallel)": trainer.args.world_size,
        "learning rate": engine.learning_rate,
        "warmup ratio": engine.warmup_ratio,
        "weight decay": engine.weight_decay,
        "loss": loss_name(engine.loss)
        + (f" + Matryoshka{engine.matryoshka_dims}" if engine.matryoshka_dims else ""),
        "batch sampler": "no duplicates" if engine.no_duplicates else "plain random",
        "hard negatives per question": engine.hard_negatives,
        "negative margin (relative)": engine.negative_margin if engine.hard_negatives else "-",
        "use_all_docs": engine.use_all_docs,
        "max sequence length": engine.model.max_seq_length,
        "precision": engine.precision,
        "query prompt": repr(query_prompt),
        "passage prompt": repr(passage_prompt),
        "seed": engine.seed,
        "examples from the data in this card": getattr(engine, "card_examples", "none"),
        "training pairs/s": engine.train_metrics.get("train_samples_per_second", "-"),
    }
