"""The offline question writers: SmolLM2-135M's speed and questions, and ICT pseudo-queries.

Reproduce (each part stores its numbers in benchmarks/results/local_llm.json; the fragment
benchmarks/results/local_llm.md is rewritten from all parts measured so far):

    flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/local_llm.py throughput
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/local_llm.py quality
    flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/local_llm.py retrieval

* ``throughput``: seconds per answer for real Lyft prompts, one ``complete`` at a time vs
  concurrent ``acomplete`` calls micro-batched into one ``generate``, per batch size and
  torch thread count.
* ``quality``: the questions of benchmarks/data/{lyft_train,uber_val}.json (made by
  benchmarks/make_datasets.py), counted: chunks with questions, copies, repeats, length; the
  same counts for ICT pseudo-queries of the Lyft chunks.
* ``retrieval``: the bundled all-MiniLM-L6-v2 finetuned with the project's engine (same
  settings, same number of pairs) on SmolLM2's Lyft questions vs on ICT pseudo-queries of
  the same Lyft chunks, scored by ``evaluate_embedding`` on uber_val.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from llama_index.core.schema import TextNode

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.generation import DEFAULT_QA_GENERATE_PROMPT_TMPL
from llama_index.finetuning.generation.pseudo_queries import generate_pseudo_query_pairs

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS_JSON = HERE / "results" / "local_llm.json"
RESULTS_MD = HERE / "results" / "local_llm.md"
METRICS = ("hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10")


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores shared with "
        f"other jobs (1-min load {load:.1f} at the start), no GPU, Python "
        f"{platform.python_version()}"
    )


@functools.cache
def lyft_nodes() -> tuple[TextNode, ...]:
    """The Lyft chunks with text, ids as in lyft_train.json (benchmarks/make_datasets.py)."""
    from make_datasets import PDFS, load_nodes

    return tuple(n for n in load_nodes(PDFS / "lyft_2021.pdf", "lyft") if n.text.strip())


# -- throughput ------------------------------------------------------------------------------


def throughput(args: argparse.Namespace) -> dict:
    import torch

    from llama_index.finetuning.llms import LocalLLM

    picked = random.Random(0).sample(lyft_nodes(), args.prompts)
    prompts = [
        DEFAULT_QA_GENERATE_PROMPT_TMPL.format(context_str=n.text, num_questions_per_chunk=2)
        for n in picked
    ]
    llm = LocalLLM(runtime="transformers")  # measures the transformers runtime
    started = time.perf_counter()
    llm.load()
    load_s = time.perf_counter() - started
    tokens = [len(llm.tokenizer(llm.format_prompt(p))["input_ids"]) for p in prompts]
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        llm.num_threads = threads
        reference = None
        for size in args.batch_sizes:
            llm.max_batch_size = size
            started = time.perf_counter()
            if size == 1:
                answers = [llm.complete(p).text for p in prompts]
            else:

                async def together() -> list[str]:
                    return [r.text for r in await asyncio.gather(*map(llm.acomplete, prompts))]

                answers = asyncio.run(together())
            seconds = time.perf_counter() - started
            reference = reference or answers
            same = sum(a == b for a, b in zip(answers, reference, strict=True))
            row = {
                "threads": threads,
                "batch_size": size,
                "s_per_answer": seconds / len(prompts),
                "same_as_sequential": f"{same}/{len(prompts)}",
            }
            print(row, flush=True)
            rows.append(row)
    return {
        "prompts": len(prompts),
        "prompt_tokens_mean": statistics.mean(tokens),
        "prompt_tokens_max": max(tokens),
        "max_new_tokens": llm.max_new_tokens,
        "load_s": load_s,
        "rows": rows,
        "machine": machine(),
        "command": "flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        + " ".join(["benchmarks/local_llm.py", *sys.argv[1:]]),
    }


# -- quality ---------------------------------------------------------------------------------

_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def _longest_copied_run(question: list[str], chunk: list[str]) -> int:
    """Length of the longest run of the question's words that appears in the chunk as is."""
    grams = {n: set() for n in range(1, len(question) + 1)}
    best = 0
    for n in range(1, len(question) + 1):
        grams[n] = {tuple(chunk[i : i + n]) for i in range(len(chunk) - n + 1)}
        if not any(tuple(question[i : i + n]) in grams[n] for i in range(len(question) - n + 1)):
            break
        best = n
    return best


def question_stats(ds: EmbeddingQAFinetuneDataset, chunks_asked: int, per_chunk: int) -> dict:
    from llama_index.core.utils import globals_helper

    stop = set(globals_helper.stopwords)
    questions = list(ds.queries.items())
    norm = Counter(" ".join(_words(q)) for _, q in questions)
    per_doc = Counter(docs[0] for docs in ds.relevant_docs.values())
    copies = ungrounded = 0
    for qid, q in questions:
        chunk_words = _words(ds.corpus[ds.relevant_docs[qid][0]])
        words = _words(q)
        copies += _longest_copied_run(words, chunk_words) >= 10
        content = {w for w in words if w not in stop and len(w) > 3}
        ungrounded += not (content & set(chunk_words))
    n = max(len(questions), 1)
    return {
        "chunks asked": chunks_asked,
        "chunks with questions": len(ds.corpus) / chunks_asked,
        f"chunks with {per_chunk}": sum(c >= per_chunk for c in per_doc.values()) / chunks_asked,
        "questions": len(questions),
        "end with ?": sum(q.endswith("?") for _, q in questions) / n,
        "repeated elsewhere": sum(norm[" ".join(_words(q))] > 1 for _, q in questions) / n,
        "copy 10+ words": copies / n,
        "no content word of chunk": ungrounded / n,
        "mean words": statistics.mean(len(q.split()) for _, q in questions) if questions else 0,
        "most repeated": [q for q, c in norm.most_common(3) if c > 1],
    }


def ict_pairs(removal_rate: float, seed: int = 0) -> EmbeddingQAFinetuneDataset:
    return generate_pseudo_query_pairs(
        lyft_nodes(),
        num_questions_per_chunk=2,
        seed=seed,
        removal_rate=removal_rate,
        show_progress=False,
    )


def quality(args: argparse.Namespace) -> dict:
    out = {"made": {}, "stats": {}}
    for name in ("lyft_train", "uber_val"):
        meta = json.loads((DATA / f"{name}.meta.json").read_text())
        ds = EmbeddingQAFinetuneDataset.from_json(DATA / f"{name}.json")
        out["made"][name] = meta
        out["stats"][f"SmolLM2, {name}.json"] = question_stats(ds, meta["chunks"], 2)
    ict = ict_pairs(1.0)
    out["stats"]["ICT pseudo-queries, Lyft chunks"] = question_stats(ict, len(lyft_nodes()), 2)
    return out


# -- retrieval -------------------------------------------------------------------------------


def same_size(ds: EmbeddingQAFinetuneDataset, n: int, seed: int) -> EmbeddingQAFinetuneDataset:
    """``n`` of the dataset's questions, chosen at random, with their chunks."""
    ids = sorted(ds.queries)
    return ds.subset(random.Random(seed).sample(ids, min(n, len(ids))))


def retrieval(args: argparse.Namespace) -> dict:
    from llama_index.finetuning import SentenceTransformersFinetuneEngine
    from llama_index.finetuning.evaluation import evaluate_embedding

    smol = EmbeddingQAFinetuneDataset.from_json(DATA / "lyft_train.json")
    val = EmbeddingQAFinetuneDataset.from_json(DATA / "uber_val.json")
    n = len(smol.queries)
    train_sets = {"SmolLM2 questions (lyft_train.json)": smol}
    for rate in args.removal_rates:
        train_sets[f"ICT pseudo-queries, removal_rate={rate:g}"] = same_size(
            ict_pairs(rate), n, args.seed
        )
    rows: dict[str, dict] = {}
    started = time.perf_counter()
    base = evaluate_embedding(val, "offline", top_k=[1, 5, 10], cache=False).summary
    rows["base all-MiniLM-L6-v2 (no training)"] = {m: base[m] for m in METRICS}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, train) in enumerate(train_sets.items()):
            engine = SentenceTransformersFinetuneEngine(
                train,
                model_id="offline",
                model_output_path=os.path.join(tmp, str(i)),
                epochs=args.epochs,
                batch_size=args.batch_size,
                seed=args.seed,
                max_seq_length=args.max_seq_length,
                show_progress_bar=False,
                training_args={"save_strategy": "no"},
            )
            engine.finetune()
            scores = evaluate_embedding(
                val, engine.get_finetuned_model(), top_k=[1, 5, 10], cache=False
            ).summary
            rows[name] = {m: scores[m] for m in METRICS} | {"train pairs": len(train.queries)}
            print(name, rows[name], flush=True)
    return {
        "rows": rows,
        "val": f"{len(val.queries)} questions on {len(val.corpus)} Uber chunks",
        "settings": f"epochs {args.epochs}, batch size {args.batch_size}, max_seq_length "
        f"{args.max_seq_length}, seed {args.seed}, engine defaults otherwise",
        "minutes": (time.perf_counter() - started) / 60,
        "machine": machine(),
        "command": "flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        + " ".join(["benchmarks/local_llm.py", *sys.argv[1:]]),
    }


# -- the fragment ----------------------------------------------------------------------------


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.1f}"
    return str(value)


def _table(rows: dict[str, dict], first: str, skip: tuple[str, ...] = ()) -> list[str]:
    cols = [c for c in dict.fromkeys(k for r in rows.values() for k in r) if c not in skip]
    lines = [f"| {first} | " + " | ".join(cols) + " |", "|---" + "|---:" * len(cols) + "|"]
    lines += [
        f"| {k} | " + " | ".join(_cell(r[c]) if c in r else "-" for c in cols) + " |"
        for k, r in rows.items()
    ]
    return lines


def _verdict(rows: dict[str, dict]) -> str:
    base_name, *trained = rows
    base = rows[base_name]["ndcg@10"]
    best = max(trained, key=lambda k: rows[k]["ndcg@10"])
    gains = ", ".join(f"{k}: {rows[k]['ndcg@10'] - base:+.3f}" for k in trained)
    return (
        f"NDCG@10 over the base model: {gains}. More retrieval gain from: **{best}**. Note that "
        "the validation questions were written by SmolLM2 too, which favours training on its "
        "questions; ICT queries are declarative sentences (their length: `mean words` above)."
    )


def render(results: dict) -> str:
    lines = ["## The offline question writers: SmolLM2-135M and ICT pseudo-queries", ""]
    if "quality" in results:
        q = results["quality"]
        lines += ["### How the benchmark datasets were made", ""]
        for name, meta in q["made"].items():
            lines.append(
                f"* `benchmarks/data/{name}.json`: {meta['chunks_taken']} of {meta['source']} "
                f"({meta['chunks']} chunks), {meta['questions']} questions on "
                f"{meta['chunks_with_questions']} chunks, {meta['bytes'] / 2**20:.2f} MiB; "
                f"{meta['llm']}; {meta['seconds'] / 60:.1f} min "
                f"({meta['seconds_per_generated_chunk']:.1f} s per chunk) on {meta['machine']}"
                + (f", {meta['resumed_chunks']} chunks resumed" if meta["resumed_chunks"] else "")
                + f". Command: `{meta['command']}`"
            )
        lines += ["", "### The questions, counted", ""]
        lines += _table(q["stats"], "pairs", skip=("most repeated",))
        for name, stats in q["stats"].items():
            if stats["most repeated"]:
                quoted = "; ".join(f"“{s}”" for s in stats["most repeated"])
                lines.append(f"\nMost repeated in {name} (normalised): {quoted}")
        lines += [
            "",
            "`copy 10+ words`: the question contains a run of 10 or more words of its chunk; "
            "`no content word of chunk`: it shares no word longer than 3 letters (stopwords "
            "aside) with its chunk. Reproduce: `HF_HUB_OFFLINE=1 .venv/bin/python "
            "benchmarks/local_llm.py quality`.",
            "",
        ]
    if "throughput" in results:
        t = results["throughput"]
        lines += [
            "### Speed: one call at a time vs micro-batched",
            "",
            f"{t['prompts']} prompts (the default question prompt on random Lyft chunks, "
            f"{t['prompt_tokens_mean']:.0f} tokens on average, at most {t['prompt_tokens_max']}), "
            f"greedy, max_new_tokens={t['max_new_tokens']}; model load {t['load_s']:.0f} s. "
            f"Batch size 1 is `complete` one prompt at a time; larger ones are concurrent "
            f"`acomplete` calls. Machine: {t['machine']}.",
            "",
            "| torch threads | batch size | s / answer | answers equal to batch size 1 |",
            "|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['threads']} | {r['batch_size']} | {r['s_per_answer']:.2f} | "
            f"{r['same_as_sequential']} |"
            for r in t["rows"]
        ]
        best = min(t["rows"], key=lambda r: r["s_per_answer"])
        lines += [
            "",
            f"Fastest: {best['threads']} thread(s), batch size {best['batch_size']}: "
            f"{best['s_per_answer']:.2f} s per answer, so the 344 tutorial chunks take about "
            f"{best['s_per_answer'] * 344 / 60:.0f} min (plus the model load) at this load. The prompt pass is most of the work and padding only "
            "adds to it, so batching does not pay on a CPU.",
            "",
            f"Reproduce: `{t['command']}`",
            "",
        ]
    if "retrieval" in results:
        r = results["retrieval"]
        lines += [
            "### Which generator improves retrieval more (Uber validation set)",
            "",
            f"all-MiniLM-L6-v2 finetuned by SentenceTransformersFinetuneEngine ({r['settings']}) "
            f"on the same number of Lyft pairs from each generator, scored on uber_val.json "
            f"({r['val']}). Machine: {r['machine']}; {r['minutes']:.1f} min.",
            "",
            *_table(r["rows"], "training pairs"),
            "",
            _verdict(r["rows"]),
            "",
            f"Reproduce: `{r['command']}`",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["throughput", "quality", "retrieval", "render"])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--removal-rates", type=float, nargs="+", default=[1.0, 0.0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if args.part != "render":
        results[args.part] = {"throughput": throughput, "quality": quality, "retrieval": retrieval}[
            args.part
        ](args)
        RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n")
    RESULTS_MD.write_text(render(results))
    print(f"wrote {RESULTS_MD}")


if __name__ == "__main__":
    main()
