"""The finetuning record appended to a saved model's README.md (its model card).

Example::

    from llama_index.finetuning.embeddings.model_card import write_finetune_card

    write_finetune_card(
        "test_model",
        settings={"training questions": 320, "epochs": 2, "batch size (per device)": 10},
        val_metrics={"base": {"cosine_ndcg@10": 0.61}, "finetuned": {"cosine_ndcg@10": 0.70, "step": 64}},
    )

sentence-transformers writes the card itself (architecture, usage, its own training log);
this adds, in one place, what a reader of a finetuned retrieval model wants first: how much
data it saw, with which settings, the validation metrics before and after, and which set
chose the checkpoint (the same set those metrics come from, so they favour it).

Training text stays out of the card unless asked for: sentence-transformers puts training
rows (questions and whole chunks) in its widget, usage example and dataset samples, and a
model shared on the Hub would publish them. :func:`card_data` returns its card data with
``examples="none"`` (nothing from the data), ``"questions"`` (a few validation questions,
never a chunk) or ``"all"`` (the library's own choice, chunks included).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SECTION_TITLE = "## Finetuned with llama-index-finetuning-embeddings"
CARD_EXAMPLES = ("none", "questions", "all")
SETTINGS_FILE = "finetune_settings.json"

# validation metrics shown, in this order, with their display names (suffixes of the
# InformationRetrievalEvaluator keys, after the score function name)
_SHOWN = [
    ("accuracy@1", "hit rate@1"),
    ("accuracy@5", "hit rate@5"),
    ("accuracy@10", "hit rate@10"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "NDCG@10"),
    ("recall@10", "recall@10"),
]


def display_model_id(model_id: str | None) -> str:
    """The base model as a reader knows it (the bundled MiniLM by its hub name, not its path)."""
    from ..resources import offline_base_model_path

    try:
        if model_id == str(offline_base_model_path()):
            return "sentence-transformers/all-MiniLM-L6-v2 (bundled offline copy)"
    except FileNotFoundError:
        pass
    return str(model_id)


def _metric(values: dict[str, float], suffix: str) -> float | None:
    return next((v for k, v in values.items() if k.endswith("_" + suffix)), None)


def _metrics_table(val_metrics: dict[str, dict[str, float]]) -> list[str]:
    columns = [c for c in ("base", "finetuned") if c in val_metrics]
    header = "| metric | " + " | ".join(
        "base model" if c == "base" else f"finetuned (step {val_metrics[c].get('step', '?')})"
        for c in columns
    )
    lines = [header + " |", "|---" * (len(columns) + 1) + "|"]
    for suffix, label in _SHOWN:
        values = [_metric(val_metrics[c], suffix) for c in columns]
        if all(v is None for v in values):
            continue
        cells = " | ".join("-" if v is None else f"{v:.4f}" for v in values)
        lines.append(f"| {label} | {cells} |")
    return lines


def render_finetune_section(
    settings: dict[str, Any],
    val_metrics: dict[str, dict[str, float]],
    selected_on: str | None = None,
) -> str:
    """The markdown section: settings table, then validation metrics (if any) and the set
    they come from (``selected_on``: the set that also chose the checkpoint)."""
    lines = [SECTION_TITLE, "", "| setting | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in settings.items()]
    lines.append("")
    if val_metrics:
        where = selected_on or "the validation set"
        lines += [
            "### Validation retrieval metrics",
            "",
            f"Checkpoint selected on {where}; the figures below are measured on that same "
            "set, so they favour the saved checkpoint. For figures on data that chose "
            "nothing, evaluate on a held-out set (e.g. the other part of "
            "`EmbeddingQAFinetuneDataset.split`).",
            "",
            *_metrics_table(val_metrics),
        ]
    else:
        lines.append(
            "No validation set was given: no validation metrics; the saved model is the last step."
        )
    return "\n".join(lines) + "\n"


def write_finetune_card(
    model_path: str | os.PathLike,
    settings: dict[str, Any],
    val_metrics: dict[str, dict[str, float]],
    selected_on: str | None = None,
) -> None:
    """Append the section to ``model_path/README.md`` and write ``finetune_settings.json`` beside it."""
    path = Path(model_path)
    readme = path / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if SECTION_TITLE in text:  # re-saving: replace our section, keep the library's card
        text = text[: text.index(SECTION_TITLE)].rstrip() + "\n"
    section = render_finetune_section(settings, val_metrics, selected_on)
    readme.write_text((text + "\n" if text else "") + section, encoding="utf-8")
    record = {"settings": settings, "validation": val_metrics, "selected_on": selected_on}
    (path / SETTINGS_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")


def check_card_examples(value: str) -> str:
    if value not in CARD_EXAMPLES:
        raise ValueError(
            f"card_examples={value!r} is not one of {CARD_EXAMPLES}: 'none' keeps training text "
            "out of the model card, 'questions' shows a few validation questions, 'all' lets "
            "sentence-transformers show training rows (chunks included)"
        )
    return value


def card_data(examples: str = "none", questions: list[str] | None = None, **kwargs: Any) -> Any:
    """sentence-transformers' ``SentenceTransformerModelCardData`` that keeps training text out.

    Example::

        model = SentenceTransformer(model_id, model_card_data=card_data("questions", val_qs))

    Args:
        examples: ``"none"``: no widget, usage example or dataset samples from the data
            (the library's generic usage example instead); ``"questions"``: widget and usage
            example from ``questions`` (pass validation questions, never chunks), no dataset
            samples; ``"all"``: the library's default (training rows, chunks included).
        questions: the texts ``"questions"`` may show.
        **kwargs: passed to ``SentenceTransformerModelCardData`` (e.g. ``local_files_only``).
    """
    check_card_examples(examples)
    return _private_card_class()(
        card_examples=examples, example_questions=list(questions or [])[:4], **kwargs
    )


_CARD_CLASS: list[type] = []


def _private_card_class() -> type:
    if _CARD_CLASS:
        return _CARD_CLASS[0]
    from dataclasses import dataclass, field

    from sentence_transformers import SentenceTransformerModelCardData

    @dataclass
    class PrivateModelCardData(SentenceTransformerModelCardData):
        card_examples: str = "none"
        example_questions: list[str] = field(default_factory=list)

        def set_widget_examples(self, dataset: Any) -> None:
            if self.card_examples == "all":
                super().set_widget_examples(dataset)
            elif self.card_examples == "questions" and len(self.example_questions) >= 2:
                first, *rest = self.example_questions
                # the Hub's widget takes a list here (sentence-transformers annotates str)
                self.widget = [{"source_sentence": first, "sentences": rest}]  # type: ignore[dict-item]
                self.usage_examples = list(self.example_questions)

        def compute_dataset_metrics(self, dataset, dataset_info, loss, router_mapping=None):
            info = super().compute_dataset_metrics(dataset, dataset_info, loss, router_mapping)
            if self.card_examples != "all" and info:
                for key in ("examples", "examples_table", "_example_columns"):
                    info.pop(key, None)
            return info

    _CARD_CLASS.append(PrivateModelCardData)
    return PrivateModelCardData


def engine_card_settings(engine: Any, trainer: Any) -> dict[str, Any]:
    """The settings of a SentenceTransformersFinetuneEngine run, as the card records them."""
    from .training_setup import loss_name

    query_prompt, passage_prompt = engine.prompts
    n_rows = len(trainer.train_dataset)
    val = engine.val_dataset
    return {
        "base model": display_model_id(engine.base_model_id),
        "training questions": len(engine.dataset.queries),
        "training chunks": len(engine.dataset.corpus),
        "training rows": n_rows,
        "validation questions": len(val.queries) if val else 0,
        "validation chunks": len(val.corpus) if val else 0,
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
