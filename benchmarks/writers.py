"""Question writers side by side: speed, question quality, and the retrieval finetuning buys.

Reproduce (a quiet 2-core machine; about 15 min at the defaults):

    flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/writers.py
    ... benchmarks/writers.py --chunks 20 --out /tmp/writers.md     # a quick look

Every writer gets the same seeded sample of Lyft 2021 10-K chunks. For each one this
measures its load time and seconds per chunk (2 threads), how many questions it wrote and
how many of them are off-topic or repeated, then finetunes the bundled all-MiniLM-L6-v2 with
the engine's defaults on its pairs, without and with the quality gate (rule filters +
round trip through the base model, ``filter_pairs``), and scores every model on the fixed
reference set ``benchmarks/data/uber_reference.json`` (Uber 2021 10-K queries written once
by a stronger writer, see ``benchmarks/data/uber_reference.md``): no writer is scored on its
own questions. The reference set is the selection set: the writer settings of `make demo`
are chosen here, and the demo reports on another one, ``uber_report.json``, that chose
nothing. The base model is scored in
the same run; each gain comes with its 95% paired bootstrap interval over the reference
queries and the wins / losses against the base.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from llama_index.finetuning import EmbeddingQAFinetuneDataset, SentenceTransformersFinetuneEngine
from llama_index.finetuning.documents import load_nodes
from llama_index.finetuning.evaluation import compare
from llama_index.finetuning.generation import generate_qa_embedding_pairs
from llama_index.finetuning.generation.filters import content_words, filter_pairs, normalise
from llama_index.finetuning.generation.parsing import PROMPTS
from llama_index.finetuning.generation.pseudo_queries import generate_pseudo_query_pairs
from llama_index.finetuning.resources import offline_base_model_path

HERE = Path(__file__).resolve().parent
PDFS = HERE.parent.parent / "shared" / "data" / "10k"
REFERENCE = HERE / "data" / "uber_reference.json"
NUM_QUESTIONS = 2
ROUND_TRIP_K = 10


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores (1-min load {load:.1f} at the start), "
        f"no GPU, Python {platform.python_version()}"
    )


def question_quality(
    ds: EmbeddingQAFinetuneDataset, asked_chunks: int, asked: int = NUM_QUESTIONS
) -> dict[str, float]:
    """Counts over a dataset's questions: coverage, off-topic and repeated questions."""
    per_chunk = Counter(docs[0] for docs in ds.relevant_docs.values())
    chunks_by_text: dict[str, set[str]] = {}
    off_topic = 0
    for qid, question in ds.queries.items():
        chunk = ds.corpus[ds.relevant_docs[qid][0]]
        if not content_words(question) & content_words(chunk):
            off_topic += 1
        chunks_by_text.setdefault(normalise(question), set()).add(ds.relevant_docs[qid][0])
    n = max(len(ds.queries), 1)
    repeated = sum(
        len(chunks) for chunks in chunks_by_text.values() if len(chunks) > 2
    )  # questions whose text stands on more than 2 chunks
    return {
        "questions": len(ds.queries),
        "per_chunk": len(ds.queries) / asked_chunks,
        "chunks_with_all": sum(c >= asked for c in per_chunk.values()) / asked_chunks,
        "off_topic": off_topic / n,
        "repeated": repeated / n,
    }


def llm_writer(
    prompt: str, nodes, threads: int, follow_up: bool = False, asked: int = NUM_QUESTIONS
):
    from llama_index.finetuning.llms.local import LocalLLM

    def write() -> tuple[EmbeddingQAFinetuneDataset, dict[str, float]]:
        llm = LocalLLM(num_threads=threads)
        started = time.perf_counter()
        llm.complete("Say OK.")  # loads the model; counted as load time
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        ds = generate_qa_embedding_pairs(
            nodes=nodes,
            llm=llm,
            qa_generate_prompt_tmpl=prompt,
            num_questions_per_chunk=asked,
            output_path=None,
            quality_filter=False,
            follow_up=follow_up,
            num_workers=llm.max_parallel_requests,
            request_timeout=None,
            verbose=False,
        )
        seconds = time.perf_counter() - started
        speed = {"load_s": load_s, "s_per_chunk": seconds / len(nodes), "minutes": seconds / 60}
        return ds, {**speed, "asked": asked}

    return write


def pseudo_writer(nodes):
    def write() -> tuple[EmbeddingQAFinetuneDataset, dict[str, float]]:
        started = time.perf_counter()
        ds = generate_pseudo_query_pairs(
            nodes, num_questions_per_chunk=NUM_QUESTIONS, output_path=None, seed=0
        )
        seconds = time.perf_counter() - started
        speed = {"load_s": 0.0, "s_per_chunk": seconds / len(nodes), "minutes": seconds / 60}
        return ds, {**speed, "asked": NUM_QUESTIONS}

    return write


def finetune(ds: EmbeddingQAFinetuneDataset, folder: Path, seed: int = 42) -> str:
    engine = SentenceTransformersFinetuneEngine(
        ds, model_id="offline", model_output_path=str(folder), show_progress_bar=False,
        seed=seed,
    )  # fmt: skip
    engine.finetune()
    return str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=60, help="Lyft chunks each writer is asked")
    parser.add_argument("--chunk-size", type=int, default=512, help="as make demo")
    parser.add_argument("--chunk-overlap", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(HERE / "results" / "writers.md"))
    parser.add_argument(
        "--only", nargs="+", help="the writers whose name holds one of these strings"
    )
    parser.add_argument(
        "--train-seeds",
        type=int,
        default=1,
        help="finetune each writer's pairs this many times (seeds 42, 43, ...): the spread",
    )
    parser.add_argument("--gates", nargs="+", default=["no", "yes"], choices=["no", "yes"])
    args = parser.parse_args()

    where = machine()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip()  # fmt: skip
    nodes = load_nodes(
        [PDFS / "lyft_2021.pdf"], chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap
    )
    picked = sorted(random.Random(args.seed).sample(range(len(nodes)), args.chunks))
    sample = [nodes[i] for i in picked]
    reference = EmbeddingQAFinetuneDataset.from_json(REFERENCE)
    base_path = str(offline_base_model_path())
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    base = HuggingFaceEmbedding(model_name=base_path)
    writers = {
        "SmolLM2-135M, 0.4-style prompt (`default`), one request a chunk": llm_writer(
            "default", sample, args.threads
        ),
        "SmolLM2-135M, 0.4-style prompt (`default`), one question asked": llm_writer(
            "default", sample, args.threads, asked=1
        ),
        "SmolLM2-135M, 0.4-style prompt (`default`) + follow-up": llm_writer(
            "default", sample, args.threads, follow_up=True
        ),
        "SmolLM2-135M, small-model prompt (`small`) + follow-up": llm_writer(
            "small", sample, args.threads, follow_up=True
        ),
        "ICT pseudo-queries (no LLM)": pseudo_writer(sample),
    }
    if args.only:
        writers = {k: v for k, v in writers.items() if any(o in k for o in args.only)}
    rows: list[dict] = []
    models: dict[str, str] = {"base": base_path}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, write) in enumerate(writers.items()):
            print(f"== {name}", flush=True)
            raw, speed = write()
            prompt = PROMPTS.get(name.split("`")[1]) if "`" in name else None
            gated, report = filter_pairs(
                raw, round_trip_model=base, round_trip_top_k=ROUND_TRIP_K, prompt_tmpl=prompt
            )
            # ICT pseudo-queries are sentences, not questions: the rules would drop them all.
            variants = (("no", raw),) if "`" not in name else (("no", raw), ("yes", gated))
            for gate, ds in variants:
                if gate not in args.gates and "`" in name:
                    continue
                label = f"{name}, gate {gate}"
                started = time.perf_counter()
                for k in range(args.train_seeds):
                    folder = Path(tmp) / f"model_{i}_{gate}_{k}"
                    models[label + ("" if k == 0 else f", seed {k}")] = finetune(ds, folder, 42 + k)
                rows.append(
                    {
                        "writer": name,
                        "gate": gate,
                        **speed,
                        **question_quality(ds, len(sample), speed["asked"]),
                        "dropped": dict(report.dropped) if gate == "yes" else {},
                        "train_minutes": (time.perf_counter() - started) / 60 / args.train_seeds,
                        "label": label,
                    }
                )
        comparison = compare(
            reference,
            models,
            top_k=[1, 5, 10],
            baseline="base",
            dataset_name="Uber reference queries (benchmarks/data/uber_reference.json)",
        )
        table = comparison.table
        for row in rows:
            d = comparison.differences(row["label"], ["ndcg@10", "hit_rate@5"])
            row["ndcg@10"] = float(table.loc[row["label"], "ndcg@10"])
            row["hit_rate@5"] = float(table.loc[row["label"], "hit_rate@5"])
            row["gain"] = d["ndcg@10"].difference
            row["low"], row["high"] = d["ndcg@10"].low, d["ndcg@10"].high
            row["wl"] = f"{d['ndcg@10'].wins}/{d['ndcg@10'].losses}"
            row["hit5_gain"] = d["hit_rate@5"].difference
            row["seed_gains"] = [row["gain"]] + [
                comparison.differences(f"{row['label']}, seed {k}", ["ndcg@10"])[
                    "ndcg@10"
                ].difference
                for k in range(1, args.train_seeds)
            ]
    base_row = table.loc["base"]
    write_fragment(args, rows, base_row, len(reference.queries), where, commit)


def write_fragment(args, rows, base_row, n_queries, where, commit) -> None:
    lines = [
        "## Question writers: speed, questions, and what finetuning on them buys"
        + (f" ({', '.join(args.only)})" if args.only else ""),
        "",
        f"{args.chunks} Lyft 2021 10-K chunks of {args.chunk_size} tokens (seed {args.seed}, as "
        f"`make demo` asks), {NUM_QUESTIONS} questions "
        f"asked per chunk unless the row says one, {args.threads} threads. Each writer's pairs finetune all-MiniLM-L6-v2 "
        f"with the engine defaults (no validation set: nothing is selected), without and with "
        f"the quality gate (rules + round trip, k={ROUND_TRIP_K}); every model is scored on the "
        f"{n_queries} Uber reference queries (benchmarks/data/uber_reference.json)"
        + (
            f"; each is finetuned {args.train_seeds} times (seeds 42, 43, ...; the interval and "
            "wins/losses are seed 42's). "
            if args.train_seeds > 1
            else ". "
        )
        + f"Base model: "
        f"NDCG@10 {base_row['ndcg@10']:.4f}, hit@5 {base_row['hit_rate@5']:.4f}. "
        f"Code at {commit}. Machine: {where}.",
        "",
        "| writer | gate | load s | s / chunk | questions | chunks with all asked | off-topic | "
        "repeated >2 chunks | NDCG@10 | gain over base [95% CI] | wins/losses | hit@5 gain | "
        "gain per generation minute |"
        + (" gain, each training seed (mean) |" if args.train_seeds > 1 else ""),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
        + ("---|" if args.train_seeds > 1 else ""),
    ]
    for r in rows:
        seeds = r.get("seed_gains", [r["gain"]])
        each = " / ".join(f"{g:+.4f}" for g in seeds) + f" ({sum(seeds) / len(seeds):+.4f}) |"
        per_minute = r["gain"] / r["minutes"] if r["minutes"] > 0.05 else float("nan")
        lines.append(
            f"| {r['writer']} | {r['gate']} | {r['load_s']:.1f} | {r['s_per_chunk']:.2f} | "
            f"{r['questions']} | {r['chunks_with_all']:.2f} | {r['off_topic']:.2f} | "
            f"{r['repeated']:.2f} | {r['ndcg@10']:.4f} | {r['gain']:+.4f} "
            f"[{r['low']:+.4f}, {r['high']:+.4f}] | {r['wl']} | {r['hit5_gain']:+.4f} | "
            + ("-" if per_minute != per_minute else f"{per_minute:+.4f}")
            + " |"
            + (f" {each}" if args.train_seeds > 1 else "")
        )
    lines += ["", "Dropped by the gate (reason: questions):", ""]
    for r in rows:
        if r["gate"] == "yes":
            lines.append(f"- {r['writer']}: {json.dumps(r['dropped'])}")
    lines += [
        "",
        "Reproduce: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        f"benchmarks/writers.py --chunks {args.chunks} --chunk-size {args.chunk_size}"
        + (" --only " + " ".join(repr(o) for o in args.only) if args.only else "")
        + (f" --train-seeds {args.train_seeds}" if args.train_seeds > 1 else "")
        + (f" --gates {' '.join(args.gates)}" if args.gates != ["no", "yes"] else "")
        + (f" --out {args.out}" if Path(args.out).name != "writers.md" else "")
        + "`",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1, default=str))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
