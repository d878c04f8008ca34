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
data it saw, with which settings, and the validation metrics before and after.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SECTION_TITLE = "## Finetuned with llama-index-finetuning-embeddings"
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
    settings: dict[str, Any], val_metrics: dict[str, dict[str, float]]
) -> str:
    """The markdown section: settings table, then validation metrics (if any)."""
    lines = [SECTION_TITLE, "", "| setting | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in settings.items()]
    lines.append("")
    if val_metrics:
        lines += ["### Validation retrieval metrics", ""] + _metrics_table(val_metrics)
    else:
        lines.append("No validation set was given: no validation metrics.")
    return "\n".join(lines) + "\n"


def write_finetune_card(
    model_path: str | os.PathLike,
    settings: dict[str, Any],
    val_metrics: dict[str, dict[str, float]],
) -> None:
    """Append the section to ``model_path/README.md`` and write ``finetune_settings.json`` beside it."""
    path = Path(model_path)
    readme = path / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if SECTION_TITLE in text:  # re-saving: replace our section, keep the library's card
        text = text[: text.index(SECTION_TITLE)].rstrip() + "\n"
    section = render_finetune_section(settings, val_metrics)
    readme.write_text((text + "\n" if text else "") + section, encoding="utf-8")
    (path / SETTINGS_FILE).write_text(
        json.dumps({"settings": settings, "validation": val_metrics}, indent=2, default=str),
        encoding="utf-8",
    )


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
        "training pairs/s": engine.train_metrics.get("train_samples_per_second", "-"),
    }
