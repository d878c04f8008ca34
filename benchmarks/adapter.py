"""Adapter finetuning: the 0.4 engine's loop vs EmbeddingAdapterFinetuneEngine, in one run.

Reproduce:  flock /tmp/bench.lock .venv/bin/python benchmarks/adapter.py

Data: the SmolLM2-generated pairs under benchmarks/data/ (Lyft 2021 10-K = train, Uber 2021
10-K = validation), or --train / --val. The Uber pairs are split by chunk into two halves:
"Uber-select" chooses the engine's defaults (and is the engine's val_dataset where one is
used) and "Uber-report" is where every retrieval figure of the main tables is measured, so
nothing is reported on the data it was chosen on. Base models: all-MiniLM-L6-v2 (bundled
offline folder, HuggingFaceEmbedding on the CPU) and OpenAIEmbedding against the tests'
local OpenAI-compatible server, which sleeps 100 ms in every /v1/embeddings request.

BASELINE (labelled so everywhere): a re-implementation of what llama-index-finetuning 0.4's
EmbeddingAdapterFinetuneEngine does: a DataLoader over (query, first relevant chunk) in
dataset order, batch 10, whose collate function embeds each query with
``get_query_embedding`` and each chunk with ``get_text_embedding``, one text per call, for
every batch of every epoch; MNRL (scale 20, cosine) of adapter(query) against the chunks;
AdamW lr 2e-5, linear warmup over 10% of the steps, gradient clipping at 1; the last step's
adapter is kept. OURS: EmbeddingAdapterFinetuneEngine with its defaults (each unique text
embedded once and cached on disk; training on the tensors). Same starting weights for both.

Settings (the tutorial's): a linear adapter for 4 epochs and TwoLayerNN(dim, 1024, dim,
bias=True, add_residual=True) for 25 epochs on MiniLM; the linear one again with the API
model. Time and calls are measured on a subsample (--queries, --api-queries) so that the
baseline's per-text calls finish; retrieval after training on all train pairs replays the
baseline's loop on the vectors its calls return (they are the same every epoch).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers.util import cos_sim  # noqa: E402
from support.openai_server import FakeOpenAIServer  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from llama_index.embeddings.adapter import LinearLayer, TwoLayerNN  # noqa: E402
from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset  # noqa: E402
from llama_index.finetuning.embeddings import adapter as engine_module  # noqa: E402
from llama_index.finetuning.embeddings.cache import EmbeddingCache  # noqa: E402
from llama_index.finetuning.evaluation import score_embeddings  # noqa: E402
from llama_index.finetuning.resources import offline_base_model_path  # noqa: E402

TOP_K = [5, 10]
SHOWN = ["hit_rate@5", "mrr@5", "ndcg@10"]
LRS = (2e-5, 1e-4, 3e-4, 1e-3, 3e-3)
NEGATIVES = (0, 1, 3)


def baseline_finetune(ds, embed_model, adapter, epochs: int, replay=None) -> dict:
    """BASELINE. ``replay``: (query -> vector, chunk -> vector) used instead of calling the
    model: the same loop, order and updates, to score it on data its calls cannot cover in time.
    """
    examples = [(q, ds.corpus[ds.relevant_docs[qid][0]]) for qid, q in ds.queries.items()]
    query_vec = replay[0].__getitem__ if replay else embed_model.get_query_embedding
    text_vec = replay[1].__getitem__ if replay else embed_model.get_text_embedding
    embed_seconds = 0.0

    def collate(batch):
        nonlocal embed_seconds
        t0 = time.perf_counter()
        queries = [torch.tensor(query_vec(q)) for q, _ in batch]
        texts = [torch.tensor(text_vec(t)) for _, t in batch]
        embed_seconds += time.perf_counter() - t0
        return torch.stack(queries), torch.stack(texts)

    t0 = time.perf_counter()
    loader = DataLoader(examples, batch_size=10, collate_fn=collate)
    optimizer = torch.optim.AdamW(adapter.parameters(), lr=2e-5)
    total = len(loader) * epochs
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, int(total * 0.1), total)
    adapter.train()
    for _ in range(epochs):
        for query, context in loader:
            scores = cos_sim(adapter(query), context) * 20.0
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(scores)))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(adapter.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
            scheduler.step()
    with tempfile.TemporaryDirectory() as out:
        adapter.save(out)
    return {"seconds": time.perf_counter() - t0, "embed_seconds": embed_seconds}


class EncodeCounter:
    """Counts SentenceTransformer.encode calls (the base model's forward passes) and texts."""

    def __init__(self, hf_model) -> None:
        self.calls = self.texts = 0
        original = hf_model._model.encode

        def encode(sentences, *args, **kwargs):
            self.calls += 1
            self.texts += 1 if isinstance(sentences, str) else len(sentences)
            return original(sentences, *args, **kwargs)

        hf_model._model.encode = encode

    def snapshot(self) -> tuple[int, int]:
        return self.calls, self.texts


class ServerCounter:
    def __init__(self, server) -> None:
        self.server = server

    def snapshot(self) -> tuple[int, int]:
        return self.server.embedding_requests, self.server.embedded_texts


def embedded(ds, embed_model, cache_dir) -> tuple:
    """(dataset, query vectors, chunk vectors) from the base model, once (not timed)."""
    with EmbeddingCache(embed_model, cache_dir) as cache:
        q = torch.from_numpy(cache.embed_queries(list(ds.queries.values())).copy())
        c = cache.embed_texts(list(ds.corpus.values()))
    return ds, q, c


def scores(adapter, evaluation) -> dict:
    ds, q, c = evaluation
    if adapter is not None:
        with torch.no_grad():
            adapter.eval()
            q = adapter(q)
    return score_embeddings(ds, q.numpy(), c, top_k=TOP_K).summary


def ours(ds, embed_model, adapter, epochs, cache_dir, **kwargs) -> EmbeddingAdapterFinetuneEngine:
    engine = EmbeddingAdapterFinetuneEngine(
        ds, embed_model, adapter_model=adapter, epochs=epochs, cache_dir=cache_dir,
        model_output_path=str(Path(cache_dir) / "out"), **kwargs,
    )  # fmt: skip
    engine.finetune()
    return engine


def timed_rows(label, ds, embed_model, make, epochs, counter, report, root) -> list:
    rows = [{"setting": label, "method": "base model, no adapter", **scores(None, report)}]
    before, adapter = counter.snapshot(), make()
    result = baseline_finetune(ds, embed_model, adapter, epochs)
    after = counter.snapshot()
    rest = result["seconds"] - result["embed_seconds"]
    rows.append({"setting": label, "method": "BASELINE: 0.4 loop (re-embed per batch per epoch)",
                 "seconds": result["seconds"], "calls": after[0] - before[0],
                 "texts": after[1] - before[1], **scores(adapter, report),
                 "where": f"embedding {result['embed_seconds']:.1f} s, rest {rest:.1f} s"})  # fmt: skip
    cache_dir = tempfile.mkdtemp(dir=root)
    for method in ("ours: EmbeddingAdapterFinetuneEngine (cold cache)", "ours: rerun (warm cache)"):
        before, adapter, t0 = counter.snapshot(), make(), time.perf_counter()
        engine = ours(ds, embed_model, adapter, epochs, cache_dir)
        seconds, after = time.perf_counter() - t0, counter.snapshot()
        rows.append({"setting": label, "method": method, "seconds": seconds,
                     "calls": after[0] - before[0], "texts": after[1] - before[1],
                     **scores(adapter, report), "where": f"{engine.global_step} steps"})  # fmt: skip
    for row in rows:
        print(row, flush=True)
    return rows


def full_rows(label, ds, embed_model, make, epochs, select, report, cache_dir) -> list:
    """Retrieval on Uber-report after training on all pairs."""
    _, q, c = embedded(ds, embed_model, cache_dir)
    replay = (dict(zip(ds.queries.values(), q.tolist(), strict=True)),
              dict(zip(ds.corpus.values(), c.tolist(), strict=True)))  # fmt: skip
    rows = [{"setting": label, "method": "base model, no adapter", **scores(None, report)}]
    adapter = make()
    baseline_finetune(ds, embed_model, adapter, epochs, replay=replay)
    rows.append({"setting": label, "method": "BASELINE (replayed)", **scores(adapter, report)})
    adapter = make()
    ours(ds, embed_model, adapter, epochs, cache_dir)
    rows.append({"setting": label, "method": "ours (defaults)", **scores(adapter, report)})
    adapter = make()
    engine = ours(ds, embed_model, adapter, epochs, cache_dir, val_dataset=select[0])
    rows.append({"setting": label, "method": f"ours + val_dataset=Uber-select (kept epoch "
                 f"{engine.best_epoch} of {epochs})", **scores(adapter, report)})  # fmt: skip
    for row in rows:
        print(row, flush=True)
    return rows


def sweep(train, embed_model, cache_dir, adapters, select) -> list:
    """OURS with other lr / hard negatives: trained on all Lyft pairs and scored on
    Uber-select, and (in-domain, for reference) on a 20% Lyft hold-out, mean of 3 splits."""
    folds = [train.split(0.2, seed=seed) for seed in (0, 1, 2)]
    folds = [(fit, embedded(dev, embed_model, cache_dir)) for fit, dev in folds]
    rows = []
    for name, (make, epochs) in adapters.items():
        for lr, negatives in [(None, None)] + [(lr, n) for lr in LRS for n in NEGATIVES]:
            kwargs = {"optimizer_params": {"lr": lr}, "hard_negatives": negatives}
            in_domain = []
            for fit, dev in folds:
                adapter = make()
                if lr is not None:
                    ours(fit, embed_model, adapter, epochs, cache_dir, **kwargs)
                in_domain.append(scores(adapter, dev)["ndcg@10"])
            adapter = make()
            if lr is not None:
                ours(train, embed_model, adapter, epochs, cache_dir, **kwargs)
            rows.append({"adapter": name if lr else f"{name}: untrained (= base model)", "lr": lr,
                         "hard_negatives": negatives, "lyft": sum(in_domain) / len(in_domain),
                         **scores(adapter, select)})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def chosen(rows: list) -> tuple[tuple, float]:
    """The (lr, hard negatives) with the best Uber-select ndcg@10, averaged over the adapters."""
    trained = [r for r in rows if r["lr"] is not None]
    keys = dict.fromkeys((r["lr"], r["hard_negatives"]) for r in trained)
    mean = {k: [r["ndcg@10"] for r in trained if (r["lr"], r["hard_negatives"]) == k] for k in keys}
    return max(((k, sum(v) / len(v)) for k, v in mean.items()), key=lambda kv: kv[1])


# ---- data and report --------------------------------------------------------------------


def find(explicit: str | None, words: tuple[str, ...]) -> Path:
    if explicit:
        return Path(explicit)
    files = sorted((HERE / "data").glob("*.json")) if (HERE / "data").is_dir() else []
    for word in words:
        for path in files:
            if word in path.name.lower():
                return path
    raise SystemExit(f"no dataset matching {words} under {HERE / 'data'}: pass --train / --val")


def head(ds: EmbeddingQAFinetuneDataset, n: int | None) -> EmbeddingQAFinetuneDataset:
    return ds if n is None or n >= len(ds) else ds.subset(list(ds.queries)[:n])


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores visible (shared with other jobs), "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"Python {platform.python_version()}"
    )


def table(rows: list, timed: bool) -> list[str]:
    cols = ["wall time (s)", "base-model calls", "texts embedded", "speed-up"] if timed else []
    lines = [
        "| setting | method | " + " | ".join(cols + SHOWN) + (" | notes |" if timed else " |"),
        "|---|---|" + "---:|" * (len(cols) + len(SHOWN)) + ("---|" if timed else ""),
    ]
    baseline: dict = {}
    for row in rows:
        if row["method"].startswith("BASELINE"):
            baseline[row["setting"]] = row
        cells = []
        if timed:
            ref = baseline.get(row["setting"])
            speed = f"{ref['seconds'] / row['seconds']:.1f}x" if ref and "seconds" in row else ""
            seconds = f"{row['seconds']:.2f}" if "seconds" in row else ""
            cells = [seconds, str(row.get("calls", "")), str(row.get("texts", "")), speed]
        cells += [f"{row[k]:.4f}" for k in SHOWN] + ([row.get("where", "")] if timed else [])
        lines.append(f"| {row['setting']} | {row['method']} | " + " | ".join(cells) + " |")
    return lines


def pick(rows: list, setting: str, method_start: str) -> dict:
    return next(r for r in rows if r["setting"] == setting and r["method"].startswith(method_start))


def verdicts(timed: list, full: list) -> list[str]:
    out = []
    for setting in dict.fromkeys(r["setting"] for r in timed):
        n_epochs = int(setting.split(", ")[-1].split()[0])
        base, cold, warm = (
            pick(timed, setting, "BASELINE"),
            pick(timed, setting, "ours: Embedding"),
            pick(timed, setting, "ours: rerun"),
        )
        cut, speed = base["calls"] / max(cold["calls"], 1), base["seconds"] / cold["seconds"]
        line = (
            f"- **{setting}**: base-model calls {base['calls']} -> {cold['calls']} ({cut:.0f}x "
            f"fewer; target >= {n_epochs}x, the epochs: {'met' if cut >= n_epochs else 'NOT met'}), "
            f"{warm['calls']} on a rerun; wall time {speed:.1f}x faster"
        )  # fmt: skip
        if n_epochs >= 25 or "API" in setting:
            line += f" (target >= 10x: {'met' if speed >= 10 else 'NOT met'})"
        fbase, fours = pick(full, setting, "BASELINE"), pick(full, setting, "ours (defaults)")
        delta = ", ".join(f"{k} {fours[k] - fbase[k]:+.4f}" for k in SHOWN)
        worse = [k for k in SHOWN if fours[k] < fbase[k]]
        line += f"; retrieval, ours (defaults) - baseline: {delta} ({'worse on ' + ', '.join(worse) if worse else 'no worse'})"
        out.append(line + ".")
    return out


def write_report(args, timed, full, sweep_rows, data, paths) -> None:
    train, small, api_small, select, report = data
    rel = [p.relative_to(HERE.parent) if p.is_relative_to(HERE.parent) else p for p in paths]
    lines = [
        "## Adapter finetuning: the 0.4 loop vs EmbeddingAdapterFinetuneEngine",
        "",
        f"Train: `{rel[0]}` ({len(train)} queries / {len(train.corpus)} chunks). Validation: "
        f"`{rel[1]}`, split by chunk into Uber-select ({len(select[0])} queries / "
        f"{len(select[0].corpus)} chunks: chooses defaults, and is the val_dataset where one is "
        f"used) and Uber-report ({len(report[0])} / {len(report[0].corpus)}: every retrieval "
        f"figure in the first two tables). Machine: {machine()}.",
        "",
        "BASELINE = the 0.4 engine's loop, re-implemented in `benchmarks/adapter.py`: every "
        "query and chunk of every batch of every epoch embedded again, one text per call, "
        "AdamW lr 2e-5. OURS = `EmbeddingAdapterFinetuneEngine` with its defaults "
        f"(lr {engine_module.DEFAULT_LR:g}, {engine_module.DEFAULT_HARD_NEGATIVES} hard "
        "negatives), timed from an empty embedding cache (embedding included), then rerun on "
        "the warm cache. Base-model calls = `SentenceTransformer.encode` calls (MiniLM) or "
        "`/v1/embeddings` requests (`OpenAIEmbedding`, the real client, local server). Both "
        "start from the same adapter weights.",
        "",
        f"### Time and base-model calls (the first {len(small)} train queries / "
        f"{len(small.corpus)} chunks for MiniLM, {len(api_small)} / {len(api_small.corpus)} for "
        "the API, so that the baseline finishes; both methods on the same subsample)",
        "",
        *table(timed, timed=True),
        "",
        f"### Retrieval after training on all {len(train)} train queries",
        "",
        "The baseline's calls return the same vectors every epoch, so its loop is replayed on "
        "vectors embedded once (same order, batches, optimiser, schedule): only its time differs.",
        "",
        *table(full, timed=False),
        "",
        "### Verdicts (computed from the tables above)",
        "",
        *verdicts(timed, full),
        "",
    ]
    if sweep_rows:
        (lr, negatives), score = chosen(sweep_rows)
        same = (lr, negatives) == (engine_module.DEFAULT_LR, engine_module.DEFAULT_HARD_NEGATIVES)
        lines += [
            "### Choosing the defaults (OURS on MiniLM, batch size 10, 10% warmup)",
            "",
            "Each setting trained on all Lyft pairs and scored on Uber-select; the Lyft column is "
            "in-domain for reference (trained on 80% of the Lyft chunks, ndcg@10 on the other "
            "20%, mean of three splits).",
            "",
            "| adapter | lr | hard negatives | Lyft hold-out ndcg@10 | "
            + " | ".join(f"Uber-select {k}" for k in SHOWN) + " |",
            "|---|---:|---:|---:|" + "---:|" * len(SHOWN),
        ]  # fmt: skip
        for r in sweep_rows:
            lr_cell = f"{r['lr']:g}" if r["lr"] is not None else ""
            neg_cell = "" if r["hard_negatives"] is None else str(r["hard_negatives"])
            lines.append(f"| {r['adapter']} | {lr_cell} | {neg_cell} | {r['lyft']:.4f} | "
                         + " | ".join(f"{r[k]:.4f}" for k in SHOWN) + " |")  # fmt: skip
        lines += [
            "",
            f"Best Uber-select ndcg@10 averaged over both adapters: lr {lr:g} with {negatives} "
            f"hard negatives ({score:.4f}); the engine's defaults are "
            f"{'this setting' if same else 'NOT this setting'}.",
        ]
    command = "flock /tmp/bench.lock .venv/bin/python benchmarks/adapter.py"
    lines += ["", f"Reproduce: `{command}{' --no-sweep' if args.no_sweep else ''}`", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", help="training pairs JSON (default: benchmarks/data/*lyft*)")
    parser.add_argument("--val", help="validation pairs JSON (default: benchmarks/data/*uber*)")
    parser.add_argument("--queries", type=int, default=100, help="timed MiniLM runs: train queries")
    parser.add_argument("--api-queries", type=int, default=150, help="timed API run: train queries")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per embeddings request")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results" / "adapter.md"))
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    paths = find(args.train, ("lyft", "train")), find(args.val, ("uber", "val"))
    train, val = (EmbeddingQAFinetuneDataset.from_json(p) for p in paths)
    val_select, val_report = val.split(0.5, seed=0)
    small, api_small = head(train, args.queries), head(train, args.api_queries)

    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.embeddings.openai import OpenAIEmbedding

    root = tempfile.mkdtemp(prefix="adapter-bench-")
    minilm = HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")
    minilm.get_text_embedding_batch(list(train.corpus.values())[:10])  # warm-up, not timed
    counter = EncodeCounter(minilm)
    select, report = (embedded(ds, minilm, root) for ds in (val_select, val_report))
    two_layer = lambda: seeded(lambda: TwoLayerNN(384, 1024, 384, bias=True, add_residual=True))  # noqa: E731
    adapters = {"linear, 4 epochs": (lambda: LinearLayer(384, 384), 4),
                "two-layer, 25 epochs": (two_layer, 25)}  # fmt: skip
    timed, full = [], []
    for name, (make, epochs) in adapters.items():
        label = f"MiniLM, {name}"
        timed += timed_rows(label, small, minilm, make, epochs, counter, report, root)
        full += full_rows(label, train, minilm, make, epochs, select, report, root)
    with FakeOpenAIServer(embed_latency=args.latency) as server:
        api = OpenAIEmbedding(model="text-embedding-3-small", api_base=server.url,
                              api_key="bench", max_retries=0)  # fmt: skip
        label = f"OpenAI API ({args.latency * 1000:.0f} ms), linear, 4 epochs"
        api_select, api_report = (embedded(ds, api, root) for ds in (val_select, val_report))
        make = lambda: LinearLayer(64, 64)  # noqa: E731
        timed += timed_rows(label, api_small, api, make, 4, ServerCounter(server), api_report, root)
        full += full_rows(label, train, api, make, 4, api_select, api_report, root)
    sweep_rows = [] if args.no_sweep else sweep(train, minilm, root, adapters, select)
    data = (train, small, api_small, select, report)
    write_report(args, timed, full, sweep_rows, data, paths)


def seeded(make, seed: int = 0):
    torch.manual_seed(seed)
    return make()


if __name__ == "__main__":
    main()
