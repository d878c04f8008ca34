"""The model cards of saved models: this package's section first, then the library's card.

Example::

    from llama_index.finetuning.embeddings.model_card import write_finetune_card

    write_finetune_card(
        "test_model",
        settings={"base model": "BAAI/bge-small-en", "training questions": 320, "epochs": 2},
        val_metrics={"base": {"ndcg@10": 0.61}, "finetuned": {"ndcg@10": 0.70, "step": 64}},
        result=engine.result,
    )

A reader of a finetuned retrieval model wants first: what was trained on what (sizes, never
text), from which base model, whether it beat that base model on questions that checked it
(with the interval of the difference), the merge weight, and how to load it in LlamaIndex.
That section leads the README.md (after the Hub's YAML metadata); the card
sentence-transformers writes follows it (for a saved base model, that is the base model's
own card). Adapters get a card of their own (:func:`write_adapter_card`). No absolute
local path is written: local models are named by their folder, the bundled MiniLM by its
hub name and package version.

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
from typing import TYPE_CHECKING, Any

from .finetune_result import SETTINGS_FILE

if TYPE_CHECKING:
    from .finetune_result import FinetuneResult

BEGIN = "<!-- llama-index-finetuning-embeddings: begin -->"
END = "<!-- llama-index-finetuning-embeddings: end -->"
CARD_EXAMPLES = ("none", "questions", "all")

# validation metrics shown, in this order, with their display names
_SHOWN = [
    ("hit_rate@1", "hit rate@1"),
    ("hit_rate@5", "hit rate@5"),
    ("hit_rate@10", "hit rate@10"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "NDCG@10"),
    ("recall@10", "recall@10"),
]


def display_model_id(model_id: str | None) -> str:
    """The base model as a reader knows it, never as an absolute local path: the bundled
    MiniLM by its hub name and package version, another local folder by its name."""
    from llama_index.embeddings.adapter.record import portable_name

    name, package = portable_name(model_id)
    if package:
        return f"{name} (the copy bundled in {package})"
    if name != model_id:
        return f"{name} (a local folder)"
    return str(model_id)


def hub_base_model(model_id: str | None) -> str | None:
    """The base model's Hugging Face Hub id, for a card's ``base_model:`` (the bundled MiniLM
    by its hub name); None for a local folder, which has no hub page.

    Example::

        hub_base_model("BAAI/bge-small-en")   # "BAAI/bge-small-en"
        hub_base_model("./my_base")           # None
    """
    from llama_index.embeddings.adapter.record import portable_name

    name, package = portable_name(model_id)
    if package:
        return str(name)
    if name != model_id or not model_id or "/" not in str(model_id):
        return None
    return str(model_id)


def shown_path(path: Path) -> str:
    """A saved folder as the user named it (``run_openai/finetuned_model``), never as an
    absolute local path (then its name alone)."""
    return path.name if path.is_absolute() else path.as_posix()


def _with_base_model(front: str, base_model: str | None) -> str:
    """The card's YAML front matter with ``base_model:`` (the Hub links the model to it)."""
    if not base_model:
        return front
    if not front:
        return f"---\nbase_model: {base_model}\n---\n"
    if any(line.startswith("base_model:") for line in front.splitlines()):
        return front
    return f"---\nbase_model: {base_model}\n" + front[len("---\n") :]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _metrics_table(val_metrics: dict[str, dict[str, float]], names: dict[str, str]) -> list[str]:
    columns = [c for c in names if c in val_metrics]
    lines = ["| metric | " + " | ".join(names[c] for c in columns) + " |"]
    lines.append("|---" * (len(columns) + 1) + "|")
    for key, label in _SHOWN:
        values = [val_metrics[c].get(key) for c in columns]
        if all(v is None for v in values):
            continue
        cells = " | ".join("-" if v is None else f"{v:.4f}" for v in values)
        lines.append(f"| {label} | {cells} |")
    return lines


def _result_rows(result: FinetuneResult | None) -> list[tuple[str, str]]:
    """The checking set and the comparison, as rows of the lead table."""
    if result is None or not result.checked:
        reason = result.unchecked_reason if result is not None else "no validation set"
        return [("checked on", f"nothing: {reason}")]
    rows = [("checked on", str(result.selected_on))]
    versus = f"base {result.base_score:.4f}, trained {result.trained_score:.4f}"
    c = result.comparison
    if c:
        versus += (
            f": {c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}] (95% bootstrap "
            f"interval over {c['n_questions']} questions; {c['wins']} wins, {c['losses']} losses)"
        )
    rows.append((f"{result.metric} on it", versus))
    return rows


def _verdict(result: FinetuneResult | None, base: str, thing: str) -> str:
    if result is None or not result.checked:
        reason = result.unchecked_reason if result else "no validation result was recorded"
        return (
            f"**Nothing checked this {thing}**: {reason}. "
            "Evaluate it on questions of your own before use."
        )
    if result.kept_untrained:
        if thing == "adapter":
            return (
                "**This adapter changes nothing** (the untrained start was kept): no epoch "
                f"beat the base model on {result.selected_on}."
            )
        return (
            "**The saved model is the base model, unchanged**: no checkpoint finetuned with "
            f"llama-index-finetuning-embeddings beat it on {result.selected_on}."
        )
    return (
        f"It scored above {base} on {result.selected_on}, which chose it (so the figure "
        "favours it: measure on questions that chose nothing before relying on the gain)."
    )


def render_lead(
    title: str,
    intro: str,
    rows: list[tuple[str, Any]],
    usage: str,
    settings: dict[str, Any],
    metrics: list[str],
    follows: str | None = None,
) -> str:
    """This package's section of a card, between the :data:`BEGIN` and :data:`END` markers
    (``follows``: a line introducing the card that comes after it, if any)."""
    lines = [BEGIN, f"# {title}", "", intro, "", "| | |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in rows]
    lines += ["", "## Use it in LlamaIndex", "", "```python", usage.strip(), "```", ""]
    lines += ["## Training settings", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in settings.items()]
    if metrics:
        lines += ["", *metrics]
    if follows:
        lines += ["", "---", "", f"> {follows}"]
    return "\n".join(lines) + "\n" + END + "\n"


def _validation_section(
    val_metrics: dict[str, dict[str, float]],
    selected_on: str | None,
    names: dict[str, str],
    chosen: str = "Checkpoint",
) -> list[str]:
    if not val_metrics:
        return []
    where = selected_on or "the validation set"
    return [
        "## Validation retrieval metrics",
        "",
        f"{chosen} selected on {where}; the figures below are measured on that same set, so "
        "they favour the saved checkpoint. For figures on data that chose nothing, evaluate "
        "on a held-out set (e.g. the other part of `EmbeddingQAFinetuneDataset.split`).",
        "",
        *_metrics_table(val_metrics, names),
    ]


def _split_card(text: str) -> tuple[str, str]:
    """(YAML front matter with its fences, the rest), without an earlier section of ours."""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + text[text.index(END) + len(END) :].lstrip("\n")
    front = ""
    if text.startswith("---\n") and "\n---\n" in text[4:]:
        end = text.index("\n---\n", 4) + len("\n---\n")
        front, text = text[:end], text[end:]
    return front, text.strip("\n")


def _write_record(path: Path, record: dict[str, Any], result: FinetuneResult | None) -> None:
    """``finetune_settings.json``; the result's folder by its name (no local path is saved:
    :meth:`FinetuneResult.load` puts back the folder it reads from)."""
    if result is not None:
        record["result"] = {**result.to_dict(), "output_path": path.name}
    (path / SETTINGS_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")


def write_finetune_card(
    model_path: str | os.PathLike,
    settings: dict[str, Any],
    val_metrics: dict[str, dict[str, float]],
    selected_on: str | None = None,
    result: FinetuneResult | None = None,
    prompts: tuple[str, str] = ("", ""),
    base_model: str | None = None,
) -> None:
    """Put this package's section first in ``model_path/README.md`` (after its metadata,
    which gets ``base_model:``, the hub id, when there is one), the card sentence-transformers
    wrote after it; write ``finetune_settings.json`` beside it."""
    path = Path(model_path)
    readme = path / "README.md"
    front, library_card = _split_card(readme.read_text(encoding="utf-8") if readme.exists() else "")
    front = _with_base_model(front, base_model)
    base = settings.get("base model", "the base model")
    kept_base = result is not None and result.checked and result.kept_untrained
    names = {"base": "base model"}
    if "finetuned" in val_metrics:
        step = val_metrics["finetuned"].get("step", "?")
        merged = (
            f", merged at {result.merge:g}" if result and result.merge not in (None, 1.0) else ""
        )
        names["finetuned"] = f"finetuned (step {step}{merged})"
    shown = "base" if kept_base else "finetuned"
    if shown in names:
        names[shown] += ": saved"
    saved = "the base model, unchanged" if kept_base else "the finetuned model"
    if result is not None and not kept_base and result.best_step is not None:
        saved = f"the finetuned checkpoint of step {result.best_step}"
    rows: list[tuple[str, Any]] = [
        ("base model", base),
        ("trained on", f"{settings.get('training questions')} questions, "
         f"{settings.get('training chunks')} chunks"),
        *_result_rows(result),
        ("saved", saved),
    ]  # fmt: skip
    if result is not None and result.merge is not None and not kept_base:
        chosen = ""
        if result.merge_scores:
            tried = ", ".join(f"{w}: {v:.4f}" for w, v in result.merge_scores.items())
            chosen = f"; chosen on the checking set by {result.metric} among {tried}"
        rows.append(
            ("merge", f"{result.merge:g} (share of the finetuned weights; 1 = as trained{chosen})")
        )
    query_prompt, passage_prompt = prompts
    args = "".join(
        f", {name}={value!r}"
        for name, value in (
            ("query_instruction", query_prompt),
            ("text_instruction", passage_prompt),
        )
        if value
    )
    usage = (
        "from llama_index.embeddings.huggingface import HuggingFaceEmbedding\n\n"
        f'embed_model = HuggingFaceEmbedding(model_name="{shown_path(path)}"{args})  # this folder\n'
        f'# or: Settings.embed_model = "local:{shown_path(path)}"'
    )
    if kept_base:
        intro = _verdict(result, base, "model")
    else:
        intro = f"Finetuned from **{base}** with llama-index-finetuning-embeddings. "
        intro += _verdict(result, "the base model", "model")
    follows = "the base model's own card" if kept_base else "the card sentence-transformers wrote"
    lead = render_lead(
        path.name, intro, rows, usage, settings,
        _validation_section(val_metrics, selected_on, names),
        follows=f"Below: {follows}." if library_card else None,
    )  # fmt: skip
    text = (front + "\n" if front else "") + lead
    if library_card:
        text += f"\n{library_card}\n"
    readme.write_text(text, encoding="utf-8")
    record = {"settings": settings, "validation": val_metrics, "selected_on": selected_on}
    _write_record(path, record, result)


def write_adapter_card(
    folder: str | os.PathLike,
    settings: dict[str, Any],
    base_record: dict[str, Any],
    result: FinetuneResult,
    val_metrics: dict[str, dict[str, float]],
) -> None:
    """The adapter folder's README.md (its card) and ``finetune_settings.json``."""
    path = Path(folder)
    base = describe_base(base_record)
    names = {"base": "before training", "finetuned": "saved adapter"}
    intro = (
        f"A {settings.get('adapter')} adapter over **{base}**, trained with "
        f"llama-index-finetuning-embeddings: it maps the base model's query embeddings. "
        + _verdict(result, "the base model", "adapter")
    )
    saved = "the untrained start" if result.kept_untrained else "the trained adapter"
    if result.best_epoch:
        saved = f"the adapter after epoch {result.best_epoch}"
    rows = [
        ("base model", base),
        ("trained on", f"{settings.get('training questions')} questions, "
         f"{settings.get('training chunks')} chunks"),
        *_result_rows(result),
        ("saved", saved),
    ]  # fmt: skip
    usage = (
        "from llama_index.embeddings.adapter import AdapterEmbeddingModel\n"
        f"{base_loader(base_record)}\n\n"
        f'embed_model = AdapterEmbeddingModel(base, "{shown_path(path)}")  # this folder\n'
        "# the base must be the model it was trained over (base_model.json, checked on load)"
    )
    text = render_lead(
        path.name, intro, rows, usage, settings,
        _validation_section(val_metrics, result.selected_on, names, "Epoch"),
    )  # fmt: skip
    (path / "README.md").write_text(text, encoding="utf-8")
    record = {"settings": settings, "validation": val_metrics, "selected_on": result.selected_on}
    _write_record(path, {**record, "base_model": base_record}, result)


def describe_base(record: dict[str, Any]) -> str:
    """The base model of an adapter record in words."""
    name = record.get("model_name")
    if record.get("package"):
        return f"{name} (the copy bundled in {record['package']})"
    return f"{name} ({record.get('class')})"


def base_loader(record: dict[str, Any]) -> str:
    """Python lines that load the base model of an adapter record as ``base``."""
    name, cls = record.get("model_name"), record.get("class")
    if cls == "HuggingFaceEmbedding" and record.get("package"):
        return (
            "from llama_index.embeddings.huggingface import HuggingFaceEmbedding\n"
            "from llama_index.finetuning.resources import offline_base_model_path\n\n"
            "base = HuggingFaceEmbedding(model_name=str(offline_base_model_path()))"
        )
    if cls == "HuggingFaceEmbedding":
        return (
            "from llama_index.embeddings.huggingface import HuggingFaceEmbedding\n\n"
            f"base = HuggingFaceEmbedding(model_name={name!r})"
        )
    if cls == "OpenAIEmbedding":
        return (
            "from llama_index.embeddings.openai import OpenAIEmbedding\n\n"
            f"base = OpenAIEmbedding(model={name!r})"
        )
    return f"base = ...  # the {cls} {name!r} the adapter was trained over"


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
