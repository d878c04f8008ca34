"""The guard: the checking set chooses the checkpoint and the merge, and the base may win.

Example::

    from llama_index.finetuning.embeddings.guard import checking_evaluator, judge

    found, evaluator = checking_evaluator(split, base_model, 50, ("", ""), 32, seed=0)
    ...                             # train with the evaluator: it keeps the best checkpoint
    verdict = judge(tuned, load_base, split, found, "auto", ("", ""), step=120,
                    output_path="my_model")
    verdict.result.kept_untrained   # True: the base model scored at least as well on the checking set
    verdict.model                   # what to save: tuned, merged at verdict.result.merge, or the base

Before training, the base model ranks the checking set's corpus once (its candidates,
:mod:`.candidates`), and the trainer's evaluator scores each checkpoint among them. After
training, the checkpoint the trainer kept (with a checking set: the best by NDCG@10; without:
the last step) is merged with the base model (``merge``, :mod:`.merge`; ``"auto"``: the best
of :data:`~.merge.MERGE_CHOICES` on the checking set), then scored beside the base model on
the checking set (:mod:`.checking_set`): per-question NDCG@10 of both, with the paired
difference's bootstrap interval. If it does not score above the base model, the base model
is kept instead, and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..outputs import remove_own_dir
from .candidates import base_candidates
from .checking_scores import CheckingEvaluator, score_model
from .checking_set import CheckingSplit, answer_chunks, describe_checking_set
from .finetune_result import FinetuneResult, paired_check, unchecked_result
from .merge import AUTO, MERGE_CHOICES, UNCHECKED_MERGE, merge_with_base
from .model_card import hub_base_model, write_finetune_card

if TYPE_CHECKING:
    import numpy as np

    from ..evaluation.result import EvaluationResult
    from .candidates import Candidates

METRIC = "ndcg@10"


def checking_evaluator(
    split: CheckingSplit,
    model: Any,
    per_question: int | None,
    prompts: tuple[str, str] = ("", ""),
    batch_size: int = 32,
    *,
    passage_vectors: dict[str, np.ndarray] | None = None,
    seed: int = 0,
) -> tuple[Candidates | None, Any]:
    """The checking set's candidates, ranked once by the base ``model``, and the evaluator
    that scores each checkpoint among them; ``(None, None)`` when nothing checks.

    Example::

        found, evaluator = checking_evaluator(split, base_model, 50, ("", ""), 32, seed=0)
        evaluator(base_model)["val_cosine_ndcg@10"]     # the base among the candidates
        evaluator.results[-1].per_query["ndcg@10"]      # each question's score (by step)

    ``per_question``: the base model's best chunks kept per checking question; ``None``
    ranks over the whole checking corpus. ``passage_vectors``: ``{chunk text: embedding}``
    the same model already made (the hard-negative mining pass).
    """
    if split.val is None:
        return None, None
    found = None
    if per_question is not None:  # every process: they must rank the same chunks
        found = base_candidates(
            split.val, model, per_question, prompts, batch_size,
            passage_vectors=passage_vectors, seed=seed,
        )  # fmt: skip
    ranked_on = found.checking if found else split.val
    return found, CheckingEvaluator(ranked_on, prompts, batch_size)


def checkpoint_arguments(
    evaluator: CheckingEvaluator | None, evaluation_steps: int
) -> dict[str, Any]:
    """The trainer's checkpoint settings: with an evaluator, the best checkpoint by its NDCG@10
    is kept and loaded at the end; without, only the latest (it is for resuming).

    Example::

        SentenceTransformerTrainingArguments("out", **checkpoint_arguments(evaluator, 50))
    """
    # without a val set a checkpoint is only for resuming: the latest one is enough
    kwargs: dict[str, Any] = dict(
        save_strategy="steps", save_steps=evaluation_steps, save_total_limit=1
    )
    if evaluator is not None:
        kwargs.update(
            eval_strategy="steps", eval_steps=evaluation_steps,
            load_best_model_at_end=True, greater_is_better=True,
            metric_for_best_model=evaluator.best_metric,
            # the only checkpoint used is the best: save when the val metric improves
            # (benchmarks/experiments/st_overhead.py measures what the other saves cost)
            save_strategy="best",
        )  # fmt: skip
    return kwargs


@dataclass
class Verdict:
    """What the guard decided: the result to report, the model to save, the scores behind it.

    Example::

        verdict = judge(tuned, load_base, split, None, "auto", step=120, output_path="out")
        verdict.model.save_pretrained("out")
        verdict.val_metrics["base"]["ndcg@10"]      # the base model on the checking set

    Attributes:
        result: the :class:`~.finetune_result.FinetuneResult` of the run.
        model: the model to save: the kept checkpoint (merged at ``result.merge``) or the base.
        val_metrics: ``{"base": summary, "finetuned": summary + step}`` on the checking set;
            empty when nothing was checked here.
    """

    result: FinetuneResult
    model: Any
    val_metrics: dict[str, dict[str, float]]

    def save(
        self,
        folder: str | Path,
        settings: dict[str, Any],
        prompts: tuple[str, str],
        base_model_id: str | None,
        selected_on: str | None,
        scratch_dir: str | None = None,
    ) -> None:
        """Save :attr:`model` to ``folder`` with a model card of the run's ``settings``; remove
        ``folder/scratch_dir`` if this package marked it as its own; log the result.

        Example::

            verdict.save("my_model", {"epochs": 2}, ("", ""), "BAAI/bge-small-en", None)
        """
        out = Path(folder)
        hub_base = hub_base_model(base_model_id)
        card = getattr(self.model, "model_card_data", None)
        if hub_base and card is not None and not card.base_model:  # else "Base model: Unknown"
            card.base_model = hub_base
        self.model.save_pretrained(str(out))
        write_finetune_card(
            out, settings, self.val_metrics, selected_on=selected_on, result=self.result,
            prompts=prompts, base_model=hub_base,
        )  # fmt: skip
        if scratch_dir is not None:
            remove_own_dir(out / scratch_dir)  # only the folder this engine marked
        self.result.log(f"local:{out}")


def judge(
    model: Any,
    load_base: Callable[[], Any],
    split: CheckingSplit,
    candidates: Candidates | None,
    merge: float | str,
    prompts: tuple[str, str] = ("", ""),
    *,
    step: int,
    output_path: str,
    seed: int = 0,
    batch_size: int = 32,
    checks: bool = True,
    evaluated: EvaluationResult | None = None,
) -> Verdict:
    """Merge the kept checkpoint, check it against the base model, and say which one to save.

    Example::

        verdict = judge(trainer.model, load_base, split, found, "auto", ("", ""),
                        step=kept_step(trainer), output_path="my_model", seed=42)
        verdict.model.save_pretrained("my_model")

    Args:
        model: the kept checkpoint; merged in place.
        load_base: returns a fresh base model; called only when a merge or a check needs it.
        split: the run's training and checking sets (``split.val`` checks).
        candidates: the checking set's candidates ranked once by the base, or ``None``
            (rank over the whole checking corpus).
        merge: a weight in [0, 1] or ``"auto"``.
        prompts: the (query, passage) prompts the models are scored with; the kept model
            gets them as its own (saved with it).
        step: the training step of ``model``.
        output_path: the folder the result names as saved to.
        seed: the seed of the paired bootstrap.
        batch_size: encoding batch size of the scoring.
        checks: ``False`` in the processes of a distributed run other than rank 0, which
            checks and saves: those merge at the unchecked weight and check nothing.
        evaluated: the trainer's evaluation of ``model`` as trained, on the same set
            (:attr:`.checking_scores.CheckingEvaluator.results`): it is not scored again.
    """
    checking = split.val is not None and checks
    weight = UNCHECKED_MERGE if merge == AUTO else float(merge)
    base = load_base() if weight < 1.0 or checking else None
    val_metrics: dict[str, dict[str, float]] = {}
    if not checking:
        if weight < 1.0:
            merge_with_base(model, base, weight, inplace=True)
        if split.val is not None:  # another process of a distributed run
            result = FinetuneResult(
                None, None, None, best_step=step, output_path=output_path,
                checked_by=split.source, merge=weight,
                unchecked_reason="the process of rank 0 checks and saves the model",
            )  # fmt: skip
        else:
            result = unchecked_result(split, output_path, "model", best_step=step, merge=weight)
    else:
        ranked_on = candidates.checking if candidates is not None else split.val
        assert ranked_on is not None
        base_eval = (
            candidates.base_scores
            if candidates is not None
            else score_model(base, ranked_on, prompts, batch_size)
        )
        weight, trained_eval, merge_scores = choose_merge(
            model,
            base,
            MERGE_CHOICES if merge == AUTO else (weight,),
            lambda m: score_model(m, ranked_on, prompts, batch_size),
            known={1.0: evaluated} if evaluated is not None else None,
        )
        base_score, trained_score = base_eval.summary[METRIC], trained_eval.summary[METRIC]
        keep_base = trained_score <= base_score
        val_metrics = {
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
            selected_on=split.description,
            output_path=output_path,
            checked_by=split.source,
            trained_score=float(trained_score),
            comparison=paired_check(
                trained_eval.per_query[METRIC].to_numpy(),
                base_eval.per_query[METRIC].to_numpy(),
                METRIC,
                seed=seed,
            ),
            merge=weight,
            merge_scores=merge_scores if merge == AUTO else None,
            ranked_among=len(ranked_on.corpus),
        )
        if keep_base:
            model = base
    query_prompt, passage_prompt = prompts
    model.prompts = {"query": query_prompt, "document": passage_prompt, "text": passage_prompt}
    return Verdict(result, model, val_metrics)


def checking_card_settings(
    split: CheckingSplit,
    holdout: float,
    candidates: Candidates | None,
    merge: float | str,
    training_rows: int,
) -> dict[str, Any]:
    """What trained and what checked the run, as the model card's settings table records it.

    Example::

        checking_card_settings(split, 0.0, found, "auto", 420)["checking questions"]  # 49
    """
    train, val = split.train, split.val
    return {
        "training questions": len(train.queries),
        "training chunks": len(answer_chunks(train)),
        "corpus chunks (with distractors)": len(train.corpus),
        "training rows": training_rows,
        "checking set": describe_checking_set(split, holdout),
        "checking questions": len(val.queries) if val else 0,
        "checking chunks searched": len(val.corpus) if val else 0,
        "checking chunks ranked by the base model before training (a sample if fewer)": (
            candidates.pool_size if candidates else "-"
        ),
        "checking chunks ranked at each evaluation": (
            len(candidates.checking.corpus) if candidates else (len(val.corpus) if val else 0)
        ),
        "merge (share of the finetuned weights)": merge,
    }


def kept_step(trainer: Any) -> int:
    """The training step of the model the trainer holds now (its best checkpoint if it kept one).

    Example::

        kept_step(trainer)   # 150: trainer.state.best_model_checkpoint ends in "checkpoint-150"
    """
    best = trainer.state.best_model_checkpoint
    return int(best.rsplit("-", 1)[-1]) if best else int(trainer.state.global_step)


def choose_merge(
    model: Any,
    base_model: Any,
    weights: Sequence[float],
    score: Callable[[Any], Any],
    known: dict[float, Any] | None = None,
) -> tuple[float, Any, dict[str, float]]:
    """Merge ``model`` at each weight from the highest down, score each with
    ``score(model) -> EvaluationResult``, and leave ``model`` merged at the best (by NDCG@10; a
    tie goes to the weight nearer the base).

    Example::

        weight, evaluation, scores = choose_merge(tuned, base, (1.0, 0.75, 0.5), on_checking_set)
        scores      # {"1": 0.61, "0.75": 0.63, "0.5": 0.62}; tuned is now merged at 0.75

    The descent stops at the first weight that scores below the best so far: along the line
    from the finetuned weights to the base the score rose to one peak and fell in every run
    recorded (``benchmarks/results/guard_cost.md``), so a weight past a drop is not scored.
    ``known``: evaluations already made (``{1.0: the trainer's evaluation of the checkpoint}``),
    used instead of scoring again.

    Returns:
        The chosen weight, its evaluation, and the NDCG@10 of every weight scored (keys as
        ``f"{w:g}"``).
    """
    import torch

    weights = sorted(weights, reverse=True)
    tuned = None
    if len(weights) > 1 or weights[0] < 1.0:
        tuned = {k: v.detach().clone() for k, v in model.state_dict().items()}
    evaluations: dict[float, Any] = {}
    merged_at = 1.0
    for weight in weights:
        if known and weight in known:
            evaluations[weight] = known[weight]
        else:
            if tuned is not None and merged_at != 1.0:
                with torch.no_grad():
                    model.load_state_dict(tuned)
            if weight < 1.0:
                merge_with_base(model, base_model, weight, inplace=True)
            merged_at = weight
            evaluations[weight] = score(model)
        ndcg = {w: float(e.summary["ndcg@10"]) for w, e in evaluations.items()}
        if ndcg[weight] < max(ndcg.values()):
            break
    best = max(sorted(ndcg), key=ndcg.__getitem__)  # ascending: a tie keeps the lower weight
    if best != merged_at:
        with torch.no_grad():
            model.load_state_dict(tuned)
        if best < 1.0:
            merge_with_base(model, base_model, best, inplace=True)
    return best, evaluations[best], {f"{w:g}": s for w, s in ndcg.items()}
