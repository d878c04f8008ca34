"""Adapter engine on a corpus 5x its positives: texts embedded, base-model calls, wall time.

Reproduce:  flock /tmp/bench.lock .venv/bin/python benchmarks/experiments/adapter_corpus.py

Data: benchmarks/data/lyft_train.json (SmolLM2 questions on the Lyft 2021 10-K chunks). The
corpus is every Lyft chunk of that file; the questions are restricted to those whose chunks
all lie in the first fifth of the chunks, so the corpus is about 5x the chunks that answer a
question (a labelled set where only some chunks got questions).

BASELINE (labelled so): the landed engine's data loading, reproduced by a subclass whose
training set is the whole dataset: it embeds every corpus value through the same
EmbeddingCache, then trains exactly as ours. OURS: EmbeddingAdapterFinetuneEngine as it is
(the queries and their chunks; the rest of the corpus only for hard negatives, shown as a
third row). Each run starts with an empty cache; base model all-MiniLM-L6-v2 (the bundled
offline folder, HuggingFaceEmbedding on the CPU), linear adapter, 4 epochs, batch 10.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
BENCH = HERE.parent  # benchmarks/: the shared data sets

import torch  # noqa: E402
from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # noqa: E402

from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset  # noqa: E402
from llama_index.finetuning.resources import offline_base_model_path  # noqa: E402


class LandedEngine(EmbeddingAdapterFinetuneEngine):
    """BASELINE: the landed engine's data loading (every corpus value embedded)."""

    def _training_set(self) -> EmbeddingQAFinetuneDataset:
        return self.dataset


class EncodeCounter:
    """Counts the base model's forward calls (SentenceTransformer.encode) and texts."""

    def __init__(self, hf_model: HuggingFaceEmbedding) -> None:
        self.calls = self.texts = 0
        original = hf_model._model.encode

        def encode(sentences, *args, **kwargs):
            self.calls += 1
            self.texts += 1 if isinstance(sentences, str) else len(sentences)
            return original(sentences, *args, **kwargs)

        hf_model._model.encode = encode

    def snapshot(self) -> tuple[int, int]:
        return self.calls, self.texts


def sparse_dataset(path: Path, fraction: float) -> EmbeddingQAFinetuneDataset:
    full = EmbeddingQAFinetuneDataset.from_json(str(path))
    chunks = list(full.corpus)
    kept = set(chunks[: max(1, int(len(chunks) * fraction))])
    queries = [q for q, docs in full.relevant_docs.items() if set(docs) <= kept]
    sub = full.subset(queries)
    return EmbeddingQAFinetuneDataset(
        queries=sub.queries, corpus=full.corpus, relevant_docs=sub.relevant_docs
    )


def run(label, engine_cls, ds, model, counter, root, **kwargs) -> dict:
    calls0, texts0 = counter.snapshot()
    engine = engine_cls(
        ds, model, epochs=4, model_output_path=str(root / label), cache_dir=root / f"c-{label}",
        **kwargs,
    )  # fmt: skip
    started = time.perf_counter()
    engine.finetune()
    seconds = time.perf_counter() - started
    calls, texts = counter.snapshot()
    return {
        "label": label,
        "texts": texts - texts0,
        "calls": calls - calls0,
        "seconds": seconds,
        "computed": engine.embedding_stats["computed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(BENCH / "data" / "lyft_train.json"))
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--out", default=str(HERE / "results" / "adapter_corpus.md"))
    args = parser.parse_args()

    ds = sparse_dataset(Path(args.train), args.fraction)
    used = {d for docs in ds.relevant_docs.values() for d in docs}
    model = HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")
    counter = EncodeCounter(model)
    model.get_text_embedding("warm-up")  # load and first-call costs outside every row
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows.append(run("baseline", LandedEngine, ds, model, counter, root))
        rows.append(run("ours", EmbeddingAdapterFinetuneEngine, ds, model, counter, root))
        rows.append(
            run("ours-hn", EmbeddingAdapterFinetuneEngine, ds, model, counter, root,
                hard_negatives=1)
        )  # fmt: skip
    names = {
        "baseline": "BASELINE: landed loading (whole corpus embedded), 0 hard negatives",
        "ours": "ours, 0 hard negatives (default)",
        "ours-hn": "ours, 1 hard negative (mining needs the corpus)",
    }
    base, ours = rows[0], rows[1]
    expected = len(set(ds.queries.values())) + len({ds.corpus[d] for d in used})
    lines = [
        "## Adapter engine: a corpus 5x its positives",
        "",
        f"Lyft train pairs restricted to the first {args.fraction:.0%} of the chunks: "
        f"{len(ds.queries)} questions on {len(used)} chunks, corpus {len(ds.corpus)} chunks "
        f"({len(ds.corpus) / len(used):.1f}x). Base model all-MiniLM-L6-v2 (CPU), linear "
        "adapter, 4 epochs, batch 10, empty cache for each row. Texts and calls are counted at "
        "the base model (SentenceTransformer.encode). "
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs: "
        f"busy), torch {torch.__version__}, Python {platform.python_version()}.",
        "",
        "| run | texts embedded | base-model calls | wall time (s) |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {names[r['label']]} | {r['texts']} | {r['calls']} | {r['seconds']:.1f} |")
    lines += [
        "",
        f"Ours embeds {ours['texts']} texts: the distinct texts of the {len(ds.queries)} "
        f"questions and their {len(used)} chunks number {expected}. The baseline embeds "
        f"{base['texts']} "
        f"({base['texts'] / max(1, ours['texts']):.1f}x); wall time "
        f"{base['seconds'] / ours['seconds']:.2f}x faster. Unique texts only: duplicates in "
        "the data are embedded once by both.",
        "",
        "Reproduce: `flock /tmp/bench.lock .venv/bin/python benchmarks/experiments/adapter_corpus.py`",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
