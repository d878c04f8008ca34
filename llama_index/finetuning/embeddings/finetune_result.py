"""FinetuneResult: what an engine's ``finetune()`` returns: what checked the result, the score
of the base model and of the trained model on it, and which of the two was saved.

Example::

    result = engine.finetune()          # also kept as engine.result
    print(result)                       # val ndcg@10: base 0.3896 -> saved 0.3910 (step 40) ...
    result.checked_by                   # "val_dataset", "holdout" or "none"
    if result.kept_untrained:
        ...                             # nothing beat the base model: the base was saved

Both scores are measured on the set that chose the kept checkpoint or epoch, so the kept
score favours the kept model. Report on data that chose nothing:
``select, report = val.split(0.5)``, train with ``val_dataset=select`` and
``compare(report, ...)``. The result is also saved in the output folder
(``finetune_settings.json``, key ``"result"``): :meth:`FinetuneResult.load` reads it back.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .checking_set import CheckingSplit

logger = logging.getLogger(__name__)

SETTINGS_FILE = "finetune_settings.json"
IDENTITY_NOTICE = "no epoch beat the base model; the saved adapter is the identity"
BASE_KEPT_NOTICE = "no finetuned checkpoint beat the base model; the saved model is the base model"
UNCHECKED_NOTICE = "nothing checked the result"


@dataclass(frozen=True)
class FinetuneResult:
    """The outcome of one ``finetune()`` call.

    Example::

        from llama_index.finetuning import FinetuneResult

        result = engine.finetune()              # either engine
        print(result)                           # what was saved, and how it scored against the base
        result.gain, result.kept_untrained      # on the checking set (it chose: flattering)
        FinetuneResult.load("my_model")         # the record saved beside the model

    Attributes:
        metric: the metric that chose the saved model (e.g. ``"ndcg@10"``); ``None`` when
            nothing checked the result.
        base_score: that metric before training (the base model, or the adapter as it was).
        best_score: that metric for the model saved (``base_score`` when the base was kept).
        best_epoch: the adapter engine's kept epoch (0 = the untrained start).
        best_step: the sentence-transformers engine's kept checkpoint (training step; 0 =
            the base model).
        kept_untrained: nothing trained scored above the start, so the start was saved.
        start_is_identity: the start was the identity (the base model unchanged).
        selected_on: the set that chose the saved model and scored both figures.
        output_path: the folder the model was saved to.
        checked_by: ``"val_dataset"`` (the user's), ``"holdout"`` (a part of the training
            pairs held out by chunk) or ``"none"`` (nothing checked the result).
        unchecked_reason: why nothing checked it.
        trained_score: the best trained candidate's score (after ``merge``), saved or not.
        comparison: that candidate against the start on the same questions: ``difference``,
            its 95% bootstrap interval ``low``/``high``, ``wins``, ``losses``, ``n_questions``.
        merge: the share of the finetuned weights in the saved model (sentence-transformers
            engine; ``None`` for adapters, which have no base weights to merge with).
        kind: ``"model"`` (sentence-transformers) or ``"adapter"``.
        merge_scores: with ``merge="auto"``, each weight tried and its score on the checking
            set (keys ``"1"``, ``"0.75"``, ``"0.5"``); ``merge`` is the best of them.
        ranked_among: chunks the checking questions were ranked among at each evaluation
            (the candidates, :mod:`.candidates`; the whole corpus when candidates are off).
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
    checked_by: str = "none"
    unchecked_reason: str | None = None
    trained_score: float | None = None
    comparison: dict[str, Any] | None = None
    merge: float | None = None
    kind: str = "model"
    merge_scores: dict[str, float] | None = None
    ranked_among: int | None = None

    @property
    def gain(self) -> float | None:
        """``best_score - base_score`` on the checking set (flattering: it chose the model)."""
        if self.base_score is None or self.best_score is None:
            return None
        return self.best_score - self.base_score

    @property
    def checked(self) -> bool:
        return self.checked_by != "none" and self.best_score is not None

    def _versus(self) -> str:
        """``ndcg@10 base 0.4100 vs finetuned 0.3900, -0.0200 [-0.0500, +0.0100]``"""
        trained = self.trained_score if self.trained_score is not None else self.best_score
        name = "best epoch" if self.kind == "adapter" else "finetuned"
        text = f"{self.metric} base {self.base_score:.4f} vs {name} {trained:.4f}"
        c = self.comparison
        if c:
            text += f", {c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}]"
        return text

    @property
    def checked_questions(self) -> int | None:
        """How many questions checked the result (None when nothing did)."""
        if not self.checked or not self.comparison:
            return None
        return int(self.comparison["n_questions"])

    @property
    def too_small(self) -> bool:
        """The checking set had too few questions to tell the trained model from the base
        (under ``checking_set.MIN_HOLDOUT_QUESTIONS``): its verdict is mostly noise."""
        from ..evaluation.set_size import too_small

        n = self.checked_questions
        return n is not None and too_small(n)

    @property
    def notice(self) -> str | None:
        """The warning a user must see, if any (a checking set too small to tell two models
        apart says so after the verdict)."""
        notice = self._verdict_notice()
        if not self.too_small:
            return notice
        from ..evaluation.set_size import small_set_notice

        small = f"the checking set is too small: {small_set_notice(self.checked_questions or 0)}"
        return f"{notice}; {small}" if notice else small

    def _verdict_notice(self) -> str | None:
        if not self.checked:
            return f"{UNCHECKED_NOTICE}: {self.unchecked_reason or 'no validation set'}"
        if self.kept_untrained:
            if self.kind == "model":
                notice = BASE_KEPT_NOTICE
            elif self.start_is_identity:
                notice = IDENTITY_NOTICE
            else:
                notice = "no epoch beat the adapter as it was before training; the saved adapter is that start"
            return f"{notice} ({self._versus()} on {self.selected_on})"
        if self.gain is not None and self.gain < 0:
            return (
                f"the kept model scores below the base model on the validation set "
                f"({self.metric} {self.best_score:.4f} < {self.base_score:.4f})"
            )
        return None

    def __str__(self) -> str:
        if not self.checked:
            return f"saved to {self.output_path}; {self.notice}"
        where = (
            f"epoch {self.best_epoch}"
            if self.best_epoch is not None
            else f"step {self.best_step}"
            if self.best_step is not None
            else "kept"
        )
        if self.merge is not None and self.merge != 1.0 and not self.kept_untrained:
            where += f", merged with the base at {self.merge:g}"
        base = "-" if self.base_score is None else f"{self.base_score:.4f}"
        text = f"val {self.metric}: base {base} -> saved {self.best_score:.4f} ({where})"
        if self.selected_on:
            text += f", selected and scored on {self.selected_on}"
        return text + (f"; {self.notice}" if self.notice else "")

    def ending(self, use: str | None = None) -> str:
        """One line that says what was saved and why, for the end of a command's output.

        ``use``: how to name the saved folder (``"local:tuned"``, ``"adapter:tuned"``). A
        checking set too small to tell two models apart says so at the end of the line.
        """
        line = self._ending_line(use)
        if self.too_small:
            from ..evaluation.set_size import small_set_notice

            small = small_set_notice(self.checked_questions or 0)
            line += f"; the checking set is too small: {small}"
        return line

    def _ending_line(self, use: str | None) -> str:
        output = self.output_path
        use_it = f" (use it as '{use}')" if use else ""
        if self.checked and self.kept_untrained:
            if self.kind == "adapter":
                what = "an adapter that changes nothing" if self.start_is_identity else "the start"
                return (
                    f"kept the untrained adapter: no epoch beat it on {self.selected_on} "
                    f"({self._versus()}); {output} holds {what}{use_it}"
                )
            return (
                f"kept the base model: no finetuned checkpoint beat it on {self.selected_on} "
                f"({self._versus()}); {output} holds the base model unchanged{use_it}"
            )
        thing = "adapter" if self.kind == "adapter" else "finetuned model"
        if not self.checked:
            return (
                f"{thing} saved to {output}{use_it}; {self.notice}: evaluate it on questions "
                "of your own before use"
            )
        c = self.comparison
        line = f"{thing} saved to {output}{use_it}: {self.metric} base {self.base_score:.4f} -> "
        line += f"{self.best_score:.4f}"
        if c:
            line += (
                f" ({c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}], "
                f"{c['wins']} wins / {c['losses']} losses)"
            )
        return line + f" on {self.selected_on}, the questions that chose it"

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "gain": self.gain,
            "notice": self.notice,
            "too_small": self.too_small,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinetuneResult:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_epochs(
        cls,
        records: list[dict[str, Any]],
        metric: str,
        best_epoch: int | None,
        split: CheckingSplit,
        output: str,
        comparison: dict[str, Any] | None = None,
        start_is_identity: bool = False,
    ) -> FinetuneResult:
        """The adapter engine's result from the ``records`` of one ``finetune()``.

        Example::

            from llama_index.finetuning.embeddings.checking_set import CheckingSplit

            records = [{"epoch": 0, "ndcg@10": 0.40}, {"epoch": 1, "ndcg@10": 0.42}]
            checked = CheckingSplit(train, val, "val_dataset", "val_dataset (40 questions)")
            FinetuneResult.from_epochs(records, "ndcg@10", 1, checked, "my_adapter").best_epoch

        ``records``: one per epoch, the untrained start's (epoch 0) first when a checking set
        scored them; without scores, nothing checked the result. ``best_epoch``: the kept
        one. ``start_is_identity``: a kept start changes no embedding.
        """
        scored = [r for r in records if metric in r]
        if not scored:
            return unchecked_result(split, output, "adapter")
        best = next((r for r in scored if r["epoch"] == best_epoch), scored[0])
        trained = max(scored[1:], key=lambda r: r[metric], default=scored[0])
        kept = best is scored[0]
        return cls(
            metric=metric,
            base_score=float(scored[0][metric]),
            best_score=float(best[metric]),
            best_epoch=0 if kept else int(best["epoch"]),
            kept_untrained=kept,
            start_is_identity=kept and start_is_identity,
            selected_on=split.description,
            output_path=output,
            checked_by=split.source,
            trained_score=float(trained[metric]),
            comparison=comparison,
            kind="adapter",
        )

    @classmethod
    def load(cls, folder: str | os.PathLike) -> FinetuneResult:
        """The result an engine saved in ``folder`` (its ``finetune_settings.json``)."""
        path = Path(folder) / SETTINGS_FILE
        record = json.loads(path.read_text(encoding="utf-8"))
        if "result" not in record:
            raise ValueError(f"{path} holds no result (written by an older version?)")
        return cls.from_dict({**record["result"], "output_path": str(folder)})

    def log(self, use: str | None = None) -> FinetuneResult:
        """Log the verdict once: :meth:`ending`, a warning when there is a notice (the base
        was kept, nothing checked it, ...), else an info line; returns ``self``.

        The record carries ``verdict=True``: a caller that prints the ending itself (the
        command line's last line) filters it out, so the verdict is said once.
        """
        line = self.ending(use)
        below = self.checked and not self.kept_untrained and (self.gain or 0.0) < 0
        if below:  # the ending has said a small set already
            line += f"; {self._verdict_notice()}"
        level = logging.WARNING if self.notice else logging.INFO
        logger.log(level, line, extra={"verdict": True})
        return self


def unchecked_result(split: CheckingSplit, output: str, kind: str, **kwargs: Any) -> FinetuneResult:
    """The result of a run that nothing checked."""
    return FinetuneResult(
        None, None, None, output_path=output, checked_by="none",
        unchecked_reason=split.unchecked_reason, kind=kind, **kwargs,
    )  # fmt: skip


def paired_check(trained: Any, base: Any, metric: str = "ndcg@10", seed: int = 0) -> dict:
    """The trained model against the base model on the same questions (per-query scores):
    mean difference, its 95% bootstrap interval, wins and losses, as a dict (what
    :attr:`FinetuneResult.comparison` holds).

    Example::

        paired_check([0.5, 1.0, 0.0], [0.5, 0.6, 0.3])["difference"]   # 0.0333...
    """
    from ..evaluation.stats import paired_difference

    diff = paired_difference(trained, base, metric=metric, seed=seed)
    keys = ("metric", "mean_a", "mean_b", "difference", "low", "high", "wins", "losses", "ties")
    out = {k: diff.to_dict()[k] for k in keys}
    out["trained"], out["base"] = out.pop("mean_a"), out.pop("mean_b")
    out["n_questions"] = diff.n_queries
    return out
