"""What asking for the excerpt's language costs in English: the bundled writer's kept questions.

Reproduce (from the repository root; ~5 min on 2 busy cores):

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/prompt_language.py --chunks 24
    # -> benchmarks/results/prompt_language.md

``DEFAULT_QA_GENERATE_PROMPT_TMPL`` says "Ask them in the language of the excerpt."
(issue 29). `make demo` writes its questions with the bundled SmolLM2-135M under that prompt,
one question a chunk, and the gate keeps what it keeps; this script asks the same seeded
sample of Lyft 10-K chunks (``benchmarks/data/lyft_train.json``) once with the prompt as it
was (the sentence taken out) and once as it is, greedy, in one run, and counts the chunks
whose question the gate keeps under each. The same chunk under both prompts is a pair; the
interval is a paired bootstrap of the difference in kept share.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

from llama_index.core.schema import TextNode

from llama_index.finetuning import generate_qa_embedding_pairs
from llama_index.finetuning.generation.parsing import DEFAULT_QA_GENERATE_PROMPT_TMPL

HERE = Path(__file__).resolve().parent
SENTENCE = " Ask them in the language of the excerpt."
PROMPTS = {
    "without the sentence (before)": DEFAULT_QA_GENERATE_PROMPT_TMPL.replace(SENTENCE, ""),
    "with the sentence (now)": DEFAULT_QA_GENERATE_PROMPT_TMPL,
}


def kept_chunks(llm, nodes, prompt: str) -> tuple[set[str], dict[str, list[str]]]:
    dataset, report = generate_qa_embedding_pairs(
        nodes=nodes, llm=llm, qa_generate_prompt_tmpl=prompt, num_questions_per_chunk=1,
        output_path=None, num_workers=llm.max_parallel_requests, request_timeout=None,
        verbose=False, return_report=True,
    )  # fmt: skip
    by_chunk: dict[str, list[str]] = {}
    for qid, (node_id,) in dataset.relevant_docs.items():
        by_chunk.setdefault(node_id, []).append(dataset.queries[qid])
    return set(by_chunk), by_chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=24)
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--note", default="", help="a line on the machine (e.g. who else ran)")
    args = parser.parse_args()
    from llama_index.finetuning.llms.local import LocalLLM

    corpus = json.loads((HERE / "data" / "lyft_train.json").read_text(encoding="utf-8"))["corpus"]
    ids = random.Random(args.seed).sample(sorted(corpus), args.chunks)
    nodes = [TextNode(id_=i, text=corpus[i]) for i in ids]
    llm = LocalLLM()
    started = time.perf_counter()
    results = {name: kept_chunks(llm, nodes, prompt) for name, prompt in PROMPTS.items()}
    seconds = time.perf_counter() - started
    (before, _), (now, now_questions) = results.values()
    flags = [(i in before, i in now) for i in ids]
    rng = random.Random(0)
    diffs = sorted(
        sum(b - a for a, b in rng.choices(flags, k=len(flags))) / len(flags) for _ in range(2000)
    )
    load = os.getloadavg()[0]
    lines = [
        "## Asking for the excerpt's language, in English (`benchmarks/prompt_language.py`)",
        "",
        f"The bundled writer (SmolLM2-135M, greedy) asked for 1 question on each of {len(ids)} "
        f"Lyft 10-K chunks (`lyft_train.json`, `random.Random({args.seed})`), under the default "
        'prompt without and with its sentence "Ask them in the language of the '
        "excerpt.\"; the gate (rules, library default) judges the answers. This is the demo's "
        "setting (`--llm local --prompt default --num-questions 1`) on a sample, not the demo.",
        "",
        "| prompt | chunks with a kept question |",
        "|---|---:|",
        *(f"| {name} | {len(kept)}/{len(ids)} |" for name, (kept, _) in results.items()),
        "",
        f"Difference (now - before): {len(now) - len(before):+d} chunks; paired bootstrap 95% "
        f"interval of the kept share's difference [{diffs[50]:+.3f}, {diffs[1949]:+.3f}]. "
        f"Chunks kept only before: {sum(a and not b for a, b in flags)}; only now: "
        f"{sum(b and not a for a, b in flags)}.",
        "",
        "A few questions kept now: "
        + "; ".join(repr(q) for qs in list(now_questions.values())[:4] for q in qs[:1]),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (1-min load {load:.1f}); "
        f"{seconds:.0f} s. {args.note}".rstrip(),
        "",
    ]
    out = HERE / "results" / "prompt_language.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
