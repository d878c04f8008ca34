"""Build the benchmark pair datasets with the offline question writer (SmolLM2-135M).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/make_datasets.py            # both
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/make_datasets.py --only uber

Writes benchmarks/data/lyft_train.json (every chunk of the Lyft 2021 10-K) and
benchmarks/data/uber_val.json (every ``--uber-every``-th chunk of the Uber 2021 10-K), with
``SentenceSplitter()`` defaults as in the tutorial, node ids ``lyft-<i>`` / ``uber-<i>`` (``i``:
the chunk's position among all chunks of its file), two questions per chunk, greedy decoding.
Beside each, ``<name>.meta.json`` records the command, the settings and the time taken.
A killed run resumes where it stopped (the generation journal), so rerun the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from llama_index.core import SimpleDirectoryReader
from llama_index.core.node_parser import SentenceSplitter

from llama_index.finetuning.generation import generate_qa_embedding_pairs
from llama_index.finetuning.llms import LocalLLM

HERE = Path(__file__).resolve().parent
PDFS = HERE.parent.parent / "shared" / "data" / "10k"
DATA = HERE / "data"


def load_nodes(pdf: Path, prefix: str, every: int = 1, limit: int | None = None) -> list:
    docs = SimpleDirectoryReader(input_files=[str(pdf)]).load_data()
    nodes = SentenceSplitter().get_nodes_from_documents(docs)
    for i, node in enumerate(nodes):
        node.id_ = f"{prefix}-{i}"
    picked = nodes[::every]
    return picked[:limit] if limit else picked


def build(name: str, pdf: Path, prefix: str, every: int, args: argparse.Namespace) -> None:
    out = DATA / f"{name}.json"
    nodes = load_nodes(pdf, prefix, every, args.limit)
    llm = LocalLLM(max_batch_size=args.batch_size, num_threads=args.num_threads)
    print(f"{name}: {len(nodes)} chunks of {pdf.name} -> {out}", flush=True)
    start = time.perf_counter()
    dataset, report = generate_qa_embedding_pairs(
        nodes=nodes,
        llm=llm,
        output_path=out,
        num_questions_per_chunk=2,
        num_workers=2 * args.batch_size,  # one batch queued while the other runs
        retry_limit=0,  # greedy decoding: a retry would write the same answer
        request_timeout=None,
        return_report=True,
    )
    seconds = time.perf_counter() - start
    meta = {
        "command": "HF_HUB_OFFLINE=1 .venv/bin/python " + " ".join(sys.argv),
        "source": pdf.name,
        "chunks_taken": f"every {every}-th chunk" if every > 1 else "all chunks",
        "chunks": len(nodes),
        "chunks_with_questions": len(dataset.corpus),
        "questions": len(dataset.queries),
        "resumed_chunks": report.resumed,
        "failed_chunks": report.failed,
        "llm": f"LocalLLM({llm.model_name}, greedy, max_new_tokens={llm.max_new_tokens}, "
        f"max_batch_size={llm.max_batch_size}, num_threads={llm.num_threads})",
        "seconds": round(seconds, 1),
        "seconds_per_generated_chunk": round(seconds / max(report.generated + report.failed, 1), 2),
        "bytes": out.stat().st_size,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        "shared with other jobs",
    }
    (DATA / f"{name}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["lyft", "uber"], help="build one of the two")
    parser.add_argument("--uber-every", type=int, default=2, help="take every k-th Uber chunk")
    parser.add_argument("--limit", type=int, help="at most this many chunks (a quick look)")
    parser.add_argument("--batch-size", type=int, default=4, help="prompts per model.generate")
    parser.add_argument("--num-threads", type=int, default=None, help="torch threads")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "lyft"):
        build("lyft_train", PDFS / "lyft_2021.pdf", "lyft", 1, args)
    if args.only in (None, "uber"):
        build("uber_val", PDFS / "uber_2021.pdf", "uber", args.uber_every, args)


if __name__ == "__main__":
    main()
