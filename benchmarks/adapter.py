"""Adapter finetuning: the 0.4 engine's loop vs EmbeddingAdapterFinetuneEngine, in one run.

Reproduce:  flock /tmp/bench.lock .venv/bin/python benchmarks/adapter.py

Data: the SmolLM2-generated pairs under benchmarks/data/ (Lyft 2021 10-K = train, Uber 2021
10-K = validation), or --train / --val. Base model: all-MiniLM-L6-v2 (the bundled offline
folder, HuggingFaceEmbedding on the CPU), and OpenAIEmbedding against the tests' local
OpenAI-compatible server, which sleeps 100 ms in every /v1/embeddings request.

BASELINE (labelled so everywhere): a re-implementation of what llama-index-finetuning 0.4's
EmbeddingAdapterFinetuneEngine does: a DataLoader over (query, first relevant chunk) in
dataset order, batch 10, whose collate function embeds each query with
``get_query_embedding`` and each chunk with ``get_text_embedding``, one text per call, for
every batch of every epoch; MNRL (scale 20, cosine) of adapter(query) against the chunks;
AdamW lr 2e-5, linear warmup over 10% of the steps, gradient clipping at 1; the last step's
adapter is kept. OURS: EmbeddingAdapterFinetuneEngine with its defaults (embed each unique
text once, cached on disk; train on the tensors). Both start from the same adapter weights.

Settings (the tutorial's): a linear adapter for 4 epochs and TwoLayerNN(dim, 1024, dim,
bias=True, add_residual=True) for 25 epochs, both on MiniLM; the linear setting again with the
API model on a subsample (--api-queries) so that the baseline's per-text requests finish.
Retrieval is scored on the validation pairs with the project's ``score_embeddings``.
Finally the defaults are chosen by a sweep of OURS on a chunk-disjoint 80/20 split of the
Lyft pairs (the Uber pairs are not used to choose anything).
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
from openai_server import FakeOpenAIServer  # noqa: E402
from sentence_transformers.util import cos_sim  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from llama_index.embeddings.adapter import LinearLayer, TwoLayerNN  # noqa: E402
from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset  # noqa: E402
from llama_index.finetuning.embeddings.cache import EmbeddingCache  # noqa: E402
from llama_index.finetuning.evaluation import score_embeddings  # noqa: E402
from llama_index.finetuning.resources import offline_base_model_path  # noqa: E402

TOP_K = [5, 10]
SHOWN = ["hit_rate@5", "mrr@5", "ndcg@10"]


# ---- BASELINE: the 0.4 engine's training loop, re-implemented -------------------------


def baseline_finetune(
    ds, embed_model, adapter, epochs: int, batch_size: int = 10, replay=None
) -> dict:
    """BASELINE. Returns wall seconds and the seconds spent inside the embedding calls.

    ``replay``: (query text -> vector, chunk text -> vector) to use instead of calling the
    model: the same loop, order and updates on the vectors the calls would return, to score
    the baseline on more data than its calls can cover in time (not timed).
    """
    examples = [(q, ds.corpus[ds.relevant_docs[qid][0]]) for qid, q in ds.queries.items()]
    embed_seconds = 0.0
    query_vec = replay[0].__getitem__ if replay else embed_model.get_query_embedding
    text_vec = replay[1].__getitem__ if replay else embed_model.get_text_embedding

    def collate(batch):
        nonlocal embed_seconds
        t0 = time.perf_counter()
        queries = [torch.tensor(query_vec(q)) for q, _ in batch]
        texts = [torch.tensor(text_vec(t)) for _, t in batch]
        embed_seconds += time.perf_counter() - t0
        return torch.stack(queries), torch.stack(texts)

    t0 = time.perf_counter()
    loader = DataLoader(examples, batch_size=batch_size, collate_fn=collate)
    optimizer = torch.optim.AdamW(adapter.parameters(), lr=2e-5)
    total = len(loader) * epochs
    import transformers

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


# ---- measuring ---------------------------------------------------------------------------


class EncodeCounter:
    """Counts SentenceTransformer.encode calls (the base model's forward passes) and texts."""

    def __init__(self, hf_model) -> None:
        self.calls = self.texts = 0
        st = hf_model._model
        original = st.encode

        def encode(sentences, *args, **kwargs):
            self.calls += 1
            self.texts += 1 if isinstance(sentences, str) else len(sentences)
            return original(sentences, *args, **kwargs)

        st.encode = encode

    def snapshot(self) -> tuple[int, int]:
        return self.calls, self.texts


class ServerCounter:
    def __init__(self, server) -> None:
        self.server = server

    def snapshot(self) -> tuple[int, int]:
        return self.server.embedding_requests, self.server.embedded_texts


def val_scores(adapter, val_base) -> dict:
    val, q, c = val_base
    with torch.no_grad():
        adapter.eval()
        adapted = adapter(q).numpy()
    return score_embeddings(val, adapted, c, top_k=TOP_K).summary


def run_setting(
    label, ds, embed_model, make_adapter, epochs, counter, val_base, cache_root
) -> list:
    rows = []
    base = score_embeddings(val_base[0], val_base[1], val_base[2], top_k=TOP_K).summary
    rows.append({"setting": label, "method": "base model, no adapter", **base})

    before = counter.snapshot()
    adapter = make_adapter()
    result = baseline_finetune(ds, embed_model, adapter, epochs)
    after = counter.snapshot()
    rows.append({"setting": label, "method": "BASELINE: 0.4 loop (re-embed per batch per epoch)",
                 "seconds": result["seconds"], "calls": after[0] - before[0],
                 "texts": after[1] - before[1], **val_scores(adapter, val_base),
                 "where": f"embedding {result['embed_seconds']:.1f} s, rest "
                          f"{result['seconds'] - result['embed_seconds']:.1f} s"})  # fmt: skip
    print(rows[-1], flush=True)

    cache_dir = tempfile.mkdtemp(dir=cache_root)
    for method in ("ours: EmbeddingAdapterFinetuneEngine (cold cache)", "ours: rerun (warm cache)"):
        adapter = make_adapter()
        engine = EmbeddingAdapterFinetuneEngine(
            ds, embed_model, adapter_model=adapter, epochs=epochs, cache_dir=cache_dir,
            model_output_path=str(Path(cache_dir) / "out"),
        )  # fmt: skip
        before = counter.snapshot()
        t0 = time.perf_counter()
        engine.finetune()
        seconds = time.perf_counter() - t0
        after = counter.snapshot()
        rows.append({"setting": label, "method": method, "seconds": seconds,
                     "calls": after[0] - before[0], "texts": after[1] - before[1],
                     **val_scores(adapter, val_base), "where": f"{engine.global_step} steps"})  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def full_scale(label, ds, embed_model, make_adapter, epochs, val_base, cache_dir) -> list:
    """Retrieval after training on all the pairs: BASELINE replayed on cached vectors, OURS."""
    with EmbeddingCache(embed_model, cache_dir) as cache:
        queries = list(ds.queries.values())
        chunks = list(ds.corpus.values())
        q_vecs, c_vecs = cache.embed_queries(queries), cache.embed_texts(chunks)
    replay = (
        dict(zip(queries, q_vecs.tolist(), strict=True)),
        dict(zip(chunks, c_vecs.tolist(), strict=True)),
    )
    base = score_embeddings(val_base[0], val_base[1], val_base[2], top_k=TOP_K).summary
    rows = [{"setting": label, "method": "base model, no adapter", **base}]
    adapter = make_adapter()
    baseline_finetune(ds, embed_model, adapter, epochs, replay=replay)
    rows.append({"setting": label, "method": "BASELINE (replayed on the same vectors)",
                 **val_scores(adapter, val_base)})  # fmt: skip
    adapter = make_adapter()
    engine = EmbeddingAdapterFinetuneEngine(
        ds, embed_model, adapter_model=adapter, epochs=epochs, cache_dir=cache_dir,
        model_output_path=str(Path(cache_dir) / "full"),
    )  # fmt: skip
    engine.finetune()
    rows.append({"setting": label, "method": "ours (defaults)", **val_scores(adapter, val_base)})
    for row in rows:
        print(row, flush=True)
    return rows


def base_val(val, embed_model, cache_dir) -> tuple:
    """The validation set's base embeddings, once (not timed; shared by every row)."""
    with EmbeddingCache(embed_model, cache_dir) as cache:
        q = torch.from_numpy(cache.embed_queries(list(val.queries.values())).copy())
        c = cache.embed_texts(list(val.corpus.values()))
    return val, q, c


def sweep(train, embed_model, cache_dir, dim, splits=(0, 1, 2)) -> list:
    """OURS with other settings: trained on 80% of the Lyft chunks, scored on the other 20%,
    averaged over three random chunk-disjoint splits."""
    folds = []
    for seed in splits:
        fit, dev = train.split(0.2, seed=seed)
        folds.append((fit, base_val(dev, embed_model, cache_dir)))
    two_layer = lambda: seeded(lambda: TwoLayerNN(dim, 1024, dim, bias=True, add_residual=True))  # noqa: E731
    adapters = {"linear, 4 epochs": (lambda: LinearLayer(dim, dim), 4),
                "two-layer, 25 epochs": (two_layer, 25)}  # fmt: skip
    grid = [(None, None)] + [(lr, n) for lr in (2e-5, 1e-4, 3e-4, 1e-3, 3e-3) for n in (0, 1, 3)]
    rows = []
    for name, (make, epochs) in adapters.items():
        for lr, negatives in grid:
            scores = []
            for fit, dev_base in folds:
                adapter = make()
                if lr is not None:
                    EmbeddingAdapterFinetuneEngine(
                        fit, embed_model, adapter_model=adapter, epochs=epochs, cache_dir=cache_dir,
                        optimizer_params={"lr": lr}, hard_negatives=negatives,
                        model_output_path=str(Path(cache_dir) / "sweep"),
                    ).finetune()  # fmt: skip
                scores.append(val_scores(adapter, dev_base))
            mean = {k: sum(s[k] for s in scores) / len(scores) for k in SHOWN}
            label = name if lr is not None else f"{name}: untrained (= base model)"
            rows.append({"adapter": label, "lr": lr, "hard_negatives": negatives, **mean})
            print(rows[-1], flush=True)
    return rows


def best_settings(rows: list) -> list[str]:
    trained = [r for r in rows if r["lr"] is not None]
    lines = []
    for name in dict.fromkeys(r["adapter"] for r in trained):
        best = max((r for r in trained if r["adapter"] == name), key=lambda r: r["ndcg@10"])
        lines.append(f"- best for {name}: lr {best['lr']:g}, {best['hard_negatives']} hard "
                     f"negatives (ndcg@10 {best['ndcg@10']:.4f})")  # fmt: skip
    settings = {(r["lr"], r["hard_negatives"]) for r in trained}
    mean = {
        key: sum(r["ndcg@10"] for r in trained if (r["lr"], r["hard_negatives"]) == key)
        / sum(1 for r in trained if (r["lr"], r["hard_negatives"]) == key)
        for key in settings
    }
    (lr, negatives), score = max(mean.items(), key=lambda kv: kv[1])
    lines.append(f"- best single setting for both (mean ndcg@10): lr {lr:g}, {negatives} hard "
                 f"negatives ({score:.4f})")  # fmt: skip
    return lines


def seeded(make, seed: int = 0):
    torch.manual_seed(seed)
    return make()


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
        f"{platform.machine()}, {os.cpu_count()} CPU cores visible (shared), torch "
        f"{torch.__version__} with {torch.get_num_threads()} threads, Python {platform.python_version()}"
    )


def fmt(value, spec=".2f") -> str:
    return "" if value is None else format(value, spec)


def table(rows: list, timed: bool) -> list[str]:
    cols = ["wall time (s)", "base-model calls", "texts embedded", "speed-up"] if timed else []
    lines = [
        "| setting | method | " + " | ".join(cols + SHOWN) + (" | notes |" if timed else " |"),
        "|---|---|" + "---:|" * (len(cols) + len(SHOWN)) + ("---|" if timed else ""),
    ]
    baseline = {}
    for row in rows:
        if row["method"].startswith("BASELINE"):
            baseline[row["setting"]] = row
        ref = baseline.get(row["setting"])
        cells = []
        if timed:
            speed = f"{ref['seconds'] / row['seconds']:.1f}x" if ref and "seconds" in row else ""
            cells = [
                fmt(row.get("seconds")),
                str(row.get("calls", "")),
                str(row.get("texts", "")),
                speed,
            ]
        cells += [f"{row[k]:.4f}" for k in SHOWN]
        if timed:
            cells.append(row.get("where", ""))
        lines.append(f"| {row['setting']} | {row['method']} | " + " | ".join(cells) + " |")
    return lines


def verdicts(timed: list, full: list) -> list[str]:
    out = []
    for setting in dict.fromkeys(r["setting"] for r in timed):
        n_epochs = int(setting.split(", ")[-1].split()[0])
        group = [r for r in timed if r["setting"] == setting]
        base = next(r for r in group if r["method"].startswith("BASELINE"))
        ours = next(r for r in group if "cold" in r["method"])
        rerun = next(r for r in group if "warm" in r["method"])
        cut = base["calls"] / max(ours["calls"], 1)
        speed = base["seconds"] / ours["seconds"]
        line = (
            f"- **{setting}**: base-model calls {base['calls']} -> {ours['calls']} ({cut:.0f}x "
            f"fewer; target >= {n_epochs}x (the epochs): {'met' if cut >= n_epochs else 'NOT met'}); "
            f"a rerun makes {rerun['calls']} calls; wall time {speed:.1f}x faster"
        )  # fmt: skip
        if n_epochs >= 25 or "API" in setting:
            line += f" (target >= 10x: {'met' if speed >= 10 else 'NOT met'})"
        fgroup = [r for r in full if r["setting"] == setting]
        if fgroup:
            fbase = next(r for r in fgroup if r["method"].startswith("BASELINE"))
            fours = next(r for r in fgroup if r["method"].startswith("ours"))
            delta = ", ".join(f"{k} {fours[k] - fbase[k]:+.4f}" for k in SHOWN)
            worse = any(fours[k] < fbase[k] for k in SHOWN)
            line += f"; retrieval at full scale, ours - baseline: {delta} ({'WORSE on some metric' if worse else 'no worse'})"
        out.append(line + ".")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", help="training pairs JSON (default: benchmarks/data/*lyft*)")
    parser.add_argument("--val", help="validation pairs JSON (default: benchmarks/data/*uber*)")
    parser.add_argument(
        "--queries", type=int, default=100, help="train queries of the timed MiniLM runs"
    )
    parser.add_argument(
        "--api-queries", type=int, default=150, help="train queries of the timed API run"
    )
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per embeddings request")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results" / "adapter.md"))
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    train_path, val_path = find(args.train, ("lyft", "train")), find(args.val, ("uber", "val"))
    train = EmbeddingQAFinetuneDataset.from_json(train_path)
    val = EmbeddingQAFinetuneDataset.from_json(val_path)
    small, api_small = head(train, args.queries), head(train, args.api_queries)
    print(
        f"train {len(train)} queries / {len(train.corpus)} chunks, val {len(val)} / {len(val.corpus)}"
    )

    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.embeddings.openai import OpenAIEmbedding

    root = tempfile.mkdtemp(prefix="adapter-bench-")
    minilm = HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")
    minilm.get_text_embedding_batch(list(train.corpus.values())[:10])  # warm-up, not timed
    dim = 384
    linear = ("MiniLM, linear, 4 epochs", lambda: LinearLayer(dim, dim), 4)
    two_layer = (
        "MiniLM, two-layer, 25 epochs",
        lambda: seeded(lambda: TwoLayerNN(dim, 1024, dim, bias=True, add_residual=True)),
        25,
    )
    counter = EncodeCounter(minilm)
    minilm_val = base_val(val, minilm, root)
    timed, full = [], []
    for label, make, epochs in (linear, two_layer):
        timed += run_setting(label, small, minilm, make, epochs, counter, minilm_val, root)
        full += full_scale(label, train, minilm, make, epochs, minilm_val, root)
    with FakeOpenAIServer(embed_latency=args.latency) as server:
        api = OpenAIEmbedding(model="text-embedding-3-small", api_base=server.url,
                              api_key="bench", max_retries=0)  # fmt: skip
        label = f"OpenAI API ({args.latency * 1000:.0f} ms), linear, 4 epochs"
        api_val = base_val(val, api, root)
        make = lambda: LinearLayer(64, 64)  # noqa: E731
        timed += run_setting(label, api_small, api, make, 4, ServerCounter(server), api_val, root)
        full += full_scale(label, train, api, make, 4, api_val, root)
    sweep_rows = [] if args.no_sweep else sweep(train, minilm, root, dim)
    write_report(
        args, timed, full, sweep_rows, (train, small, api_small, val), (train_path, val_path)
    )


def write_report(args, timed, full, sweep_rows, data, paths) -> None:
    train, small, api_small, val = data
    rel = [p.relative_to(HERE.parent) if p.is_relative_to(HERE.parent) else p for p in paths]
    lines = [
        "## Adapter finetuning: the 0.4 loop vs EmbeddingAdapterFinetuneEngine",
        "",
        f"Pairs: `{rel[0]}` (train: {len(train)} queries / {len(train.corpus)} chunks) and "
        f"`{rel[1]}` (validation: {len(val)} queries / {len(val.corpus)} chunks). "
        f"Machine: {machine()}.",
        "",
        "BASELINE = the 0.4 engine's loop, re-implemented in `benchmarks/adapter.py`: every "
        "query and chunk of every batch of every epoch embedded again, one text per call, "
        "AdamW lr 2e-5. OURS = `EmbeddingAdapterFinetuneEngine` with its defaults, timed from an "
        "empty embedding cache (embedding included), then rerun on the warm cache. Base-model "
        "calls = `SentenceTransformer.encode` calls (MiniLM) or `/v1/embeddings` requests "
        "(`OpenAIEmbedding`, the real client, against the tests' local server). Both start "
        "from the same adapter weights. Retrieval: validation pairs, `score_embeddings`.",
        "",
        f"### Time and base-model calls (subsample: the first {len(small)} train queries / "
        f"{len(small.corpus)} chunks for MiniLM, {len(api_small)} / {len(api_small.corpus)} "
        "for the API, so that the baseline finishes; both methods on the same subsample)",
        "",
        *table(timed, timed=True),
        "",
        f"### Retrieval after training on all {len(train)} train queries",
        "",
        "The baseline's embedding calls return the same vectors every epoch, so its training "
        "is replayed here on vectors embedded once (same order, batches, optimiser and "
        "schedule): only its wall time would differ.",
        "",
        *table(full, timed=False),
        "",
        "### Verdicts (computed from the tables)",
        "",
        *verdicts(timed, full),
        "",
    ]
    if sweep_rows:
        lines += [
            "### Choosing the defaults (OURS only)",
            "",
            "Trained on a chunk-disjoint 80% of the Lyft pairs, scored on the other 20% "
            "(final epoch, no selection), mean of three random splits; batch size 10 and 10% "
            "warmup. The Uber pairs are not used to choose anything.",
            "",
            "| adapter | lr | hard negatives | " + " | ".join(SHOWN) + " |",
            "|---|---:|---:|" + "---:|" * len(SHOWN),
        ]
        for r in sweep_rows:
            lines.append(f"| {r['adapter']} | {fmt(r['lr'], 'g')} | {fmt(r['hard_negatives'], 'd')} | "
                         + " | ".join(f"{r[k]:.4f}" for k in SHOWN) + " |")  # fmt: skip
        lines += ["", *best_settings(sweep_rows)]
    lines += ["", "Reproduce: `flock /tmp/bench.lock .venv/bin/python benchmarks/adapter.py`", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
