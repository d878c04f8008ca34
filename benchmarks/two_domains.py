"""The two evaluation domains, and the training and scoring the benchmarks on them share.

Example::

    from two_domains import DOMAINS, merged, ndcg, train

    folder = train(pairs, Path("out/seed0"), seed=42)          # the model as trained
    model = HuggingFaceEmbedding(model_name=merged(folder, base_st, 0.75))

``synthetic_only.py`` (does the bundled writer's data help or harm?) and
``prompt_variety.py`` (which prompt should it get?) train and score the same way, on the
hand-written selection and report sets of each domain: the 10-K (Uber queries, see
``data/uber_reference.md``) and Python's language reference (``data/pyref.md``).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from llama_index.finetuning import EmbeddingQAFinetuneDataset, SentenceTransformersFinetuneEngine

DATA = Path(__file__).resolve().parent / "data"
DOMAINS = {
    "10k": {
        # the Makefile's DEMO_ARGS
        "generate": "--chunk-size 512 --chunk-overlap 64 --max-chunks 110 --num-questions 1".split(),
        "select": DATA / "uber_reference.json",
        "report": DATA / "uber_report.json",
    },
    "pyref": {
        "generate": "--chunk-size 512 --chunk-overlap 64".split(),
        "select": DATA / "pyref_select.json",
        "report": DATA / "pyref_report.json",
    },
}


def train(pairs: EmbeddingQAFinetuneDataset, folder: Path, seed: int) -> Path:
    """The engine with ``train``'s defaults, nothing held out or merged: the model as trained."""
    kwargs = {"model_id": "offline", "model_output_path": str(folder), "seed": seed,
              "show_progress_bar": False, "overwrite": True}  # fmt: skip
    accepted = inspect.signature(SentenceTransformersFinetuneEngine.__init__).parameters
    kwargs.update({k: v for k, v in (("holdout", 0.0), ("merge", 1.0)) if k in accepted})
    SentenceTransformersFinetuneEngine(pairs, **kwargs).finetune()
    return folder


def merged(folder: Path, base, weight: float) -> str:
    """The folder of ``folder``'s model merged with the base at ``weight`` (made once)."""
    if weight == 1.0:
        return str(folder)
    out = folder.parent / f"{folder.name}_merge{weight}"
    if not (out / "modules.json").exists():
        from llama_index.finetuning.embeddings.merge import merge_with_base

        merge_with_base(str(folder), base, weight).save_pretrained(str(out))
    return str(out)


def ndcg(comparison, name: str) -> np.ndarray:
    return comparison.results[name].per_query["ndcg@10"].to_numpy(dtype=float)
