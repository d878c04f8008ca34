"""FinetuneResult: what an engine's ``finetune()`` returns: the validation score before
training, the score of the model it kept, where that model came from, and whether training
beat the start at all.

Example::

    result = engine.finetune()          # also kept as engine.result
    print(result)                       # val ndcg@10: base 0.3896 -> kept 0.3910 (epoch 3) ...
    if result.kept_untrained:
        ...                             # no epoch beat the base model

Both scores are measured on ``val_dataset``, the set that chose the kept epoch or
checkpoint, so the kept score favours the kept model. Report on data that chose nothing:
``select, report = val.split(0.5)``, train with ``val_dataset=select`` and
``compare(report, ...)``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

logger = logging.getLogger(__name__)

IDENTITY_NOTICE = "no epoch beat the base model; the saved adapter is the identity"
BASE_KEPT_NOTICE = (
    "no checkpoint beat the base model on the validation set; the saved model is the base model"
)


@dataclass(frozen=True)
class FinetuneResult:
    """The outcome of one ``finetune()`` call.

    Attributes:
        metric: the validation metric that selected the kept model (e.g. ``"ndcg@10"``);
            ``None`` without a val set.
        base_score: that metric before training (the base model, or the adapter as it was).
        best_score: that metric for the model saved.
        best_epoch: the adapter engine's kept epoch (0 = the untrained start).
        best_step: the sentence-transformers engine's kept checkpoint (training step).
        kept_untrained: no epoch scored above the start, so the start was saved.
        start_is_identity: the start was the identity (the base model unchanged).
        selected_on: the set that chose the kept model and scored both figures.
        output_path: the folder the model was saved to.
    """

    metric: str | None
    base_score: float | None
    best_score: float | None
    best_epoch: int | None = None
    best_step: int | None = None
    kept_untrained: bool = False
    start_is_identity: bool = False
    selected_on: str | None = None
    output_path: str | None = None

    @property
    def gain(self) -> float | None:
        """``best_score - base_score`` on the selection set (flattering: it chose the model)."""
        if self.base_score is None or self.best_score is None:
            return None
        return self.best_score - self.base_score

    @property
    def notice(self) -> str | None:
        """The warning a user must see, if any."""
        if self.kept_untrained:
            if self.best_step is not None:  # the sentence-transformers engine
                return BASE_KEPT_NOTICE
            if self.start_is_identity:
                return IDENTITY_NOTICE
            return "no epoch beat the adapter as it was before training; the saved adapter is that start"
        if self.gain is not None and self.gain < 0:
            return (
                f"the kept model scores below the base model on the validation set "
                f"({self.metric} {self.best_score:.4f} < {self.base_score:.4f})"
            )
        return None

    def __str__(self) -> str:
        if self.metric is None or self.best_score is None:
            return f"saved to {self.output_path} (no validation set: nothing measured)"
        where = (
            f"epoch {self.best_epoch}"
            if self.best_epoch is not None
            else f"step {self.best_step}"
            if self.best_step is not None
            else "kept"
        )
        base = "-" if self.base_score is None else f"{self.base_score:.4f}"
        text = f"val {self.metric}: base {base} -> kept {self.best_score:.4f} ({where})"
        if self.selected_on:
            text += f", selected and scored on {self.selected_on}"
        return text + (f"; {self.notice}" if self.notice else "")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gain": self.gain, "notice": self.notice}


def describe_val_set(dataset: Any) -> str | None:
    """``"val_dataset (49 questions, 40 chunks)"`` or None."""
    if dataset is None:
        return None
    return f"val_dataset ({len(dataset.queries)} questions, {len(dataset.corpus)} chunks)"


def adapter_result(engine: Any, first_record: int, val: Any) -> FinetuneResult:
    """The result of the adapter engine's last ``_train`` (its history from ``first_record``).

    ``val``: the (query, chunk) embedding tensors of the val set, or None; with it, the
    saved adapter is checked to be the identity when the start was kept. Logs the notice.
    """
    records = engine.history[first_record:]
    scored = [r for r in records if engine.val_metric in r]
    output = str(engine.model_output_path)
    if val is None or not scored:
        return FinetuneResult(None, None, None, output_path=output)
    base = scored[0][engine.val_metric]
    best = next((r for r in scored if r["epoch"] == engine.best_epoch), scored[0])
    kept = best is scored[0]
    identity = False
    if kept:
        import torch

        with torch.no_grad():
            queries = val[0][:256]
            identity = bool(torch.allclose(engine.model(queries), queries, atol=1e-6))
    result = FinetuneResult(
        metric=engine.val_metric,
        base_score=float(base),
        best_score=float(best[engine.val_metric]),
        best_epoch=0 if kept else int(best["epoch"]),
        kept_untrained=kept,
        start_is_identity=identity,
        selected_on=describe_val_set(engine.val_dataset),
        output_path=output,
    )
    if result.notice:
        logger.warning(result.notice)
    return result


def sentence_transformer_result(engine: Any) -> FinetuneResult:
    """The result of a SentenceTransformersFinetuneEngine run, from its ``val_metrics``.

    Logs a warning when the kept checkpoint scores below the base model.
    """
    metrics = engine.val_metrics
    output = str(engine.model_output_path)
    kept = metrics.get("finetuned")
    if not kept:
        return FinetuneResult(None, None, None, output_path=output)
    key = next((k for k in kept if k.endswith("ndcg@10")), None)
    if key is None:
        return FinetuneResult(None, None, None, output_path=output)
    base = metrics.get("base", {}).get(key)
    result = FinetuneResult(
        metric="ndcg@10",
        base_score=None if base is None else float(base),
        best_score=float(kept[key]),
        best_step=int(kept["step"]) if "step" in kept else None,
        kept_untrained=kept.get("step") == 0,
        start_is_identity=kept.get("step") == 0,
        selected_on=describe_val_set(engine.val_dataset),
        output_path=output,
    )
    if result.notice:
        logger.warning(result.notice)
    return result
