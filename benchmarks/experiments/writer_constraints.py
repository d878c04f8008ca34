"""Do prompting or decoding constraints rescue SmolLM2-135M's questions? Five ways, one table.

Reproduce (waits for the benchmark lock; about 7 min on 2 quiet cores):

    flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/experiments/writer_constraints.py
    ... benchmarks/experiments/writer_constraints.py --chunks 2 --out /tmp/wc.md    # a quick look

The bundled writer asks for 2 questions on the 20 Lyft chunks writers.py and `make demo`
sample: the package's two prompts as generation sends them, then three ways it does not
offer (request fields that LocalLLM passes on to llama.cpp's server): a GBNF grammar + logit_bias, keyword-guided
calls, an InPars-style few-shot completion. Counted: what the package's `parse_questions`
pulls out and how many of those pass `rule_reason` (the gate's per-question rules).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import re
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llama_index.core.llms import ChatMessage

from llama_index.finetuning.documents import load_nodes
from llama_index.finetuning.generation.filters import content_words, normalise, rule_reason
from llama_index.finetuning.generation.parsing import PROMPTS, parse_questions
from llama_index.finetuning.llms.local import LocalLLM

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent  # benchmarks/: the shared data sets
PDFS = BENCH.parent.parent / "shared" / "data" / "10k"
ASKED = 2
TARGET = 0.95  # issue 11: >= 95% of asked chunks get the asked number of questions
GRAMMAR = r"""
root ::= q "\n" q
q ::= ("What" | "How" | "Which" | "When" | "Who" | "Why" | "Where" | "Does" | "Did" | "Is" | "Are" | "Can") " " [^\n?]{10,140} "?"
"""  # noqa: E501
# Each is one SmolLM2 token with its leading space; "excerpt" alone would split into "ex" +
# "cerpt" and ban "ex" everywhere, so it is left out.
BANNED = [" document", " documents", " Document", " excerpt", " excerpts", " passage",
          " text", " article", " section", " above", " provided", " given", " author",
          " paragraph", "document"]  # fmt: skip
KEYWORD = '{context_str}\n\nWrite one question about "{topic}" that the text above answers.'
# Made up, not Lyft's or Uber's: a copied example names what its chunk lacks (prompt_echo).
FEW_SHOT = """\
Document: Revenue increased 18% to $4.2 billion in 2020, driven primarily by growth in \
subscription fees from enterprise customers and higher usage of our payments platform.
Query: How much did revenue grow in 2020 and what drove it?

Document: We are subject to the General Data Protection Regulation in the European Union, \
which imposes strict requirements on how we collect and process personal data, with fines \
of up to 4% of annual revenue.
Query: What fines can the company face under GDPR?

Document: As of December 31, 2020, we had approximately 3,100 full-time employees, of whom \
1,200 worked in research and development. None of our employees are represented by a labor \
union.
Query: How many employees work in research and development?

Document: {context_str}
Query:"""


def top_words(texts: list[str], k: int = ASKED) -> list[list[str]]:
    """Each chunk's ``k`` content words of highest TF-IDF over all the document's chunks."""
    df = Counter(w for t in texts for w in content_words(t))
    tops = []
    for text in texts:
        words = content_words(text)
        tf = Counter(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z\-]+", text))
        score = {w: c * math.log(len(texts) / df[w]) for w, c in tf.items() if w in words}
        tops.append(sorted(score, key=lambda w: (-score[w], w))[:k])
    return tops


def variants(topics: dict[str, list[str]]) -> dict[str, tuple[str, object]]:
    """Name -> (the template ``rule_reason`` checks echoes against, chunk -> LLM answers)."""
    default, small = PROMPTS["default"], PROMPTS["small"]

    def package(template):
        return lambda llm, text: [
            llm.complete(template.format(context_str=text, num_questions_per_chunk=ASKED)).text
        ]

    def constrained(llm, text):
        prompt = default.format(context_str=text, num_questions_per_chunk=ASKED)
        bias = [[w, -100] for w in BANNED]
        messages = [ChatMessage(role="user", content=prompt)]
        return [llm.chat(messages, grammar=GRAMMAR, logit_bias=bias).message.content]

    def keyword(llm, text):
        prompts = [KEYWORD.format(context_str=text, topic=t) for t in topics[text]]
        return [llm.complete(p).text for p in prompts]  # one question kept from each

    def few_shot(llm, text):
        prompt = FEW_SHOT.replace("{context_str}", text.strip())
        ask = dict(formatted=True, max_tokens=40, stop=["\n"], top_p=0.95)
        return [
            llm.complete(prompt, **ask, temperature=t, seed=s).text for t, s in ((0, 0), (0.8, 1))
        ]

    return {
        "`default` prompt (today)": (default, package(default)),
        "`small` prompt": (small, package(small)),
        "`default` + grammar + logit_bias": (default, constrained),
        "keyword-guided (2 calls)": (KEYWORD, keyword),
        "few-shot completion (greedy + T=0.8)": (FEW_SHOT, few_shot),
    }


def run_variant(template: str, write, texts: list[str], threads: int) -> dict:
    llm = LocalLLM(num_threads=threads).load()  # a fresh server: no prompt cache from before
    one_each = write.__name__ in ("keyword", "few_shot")

    def questions(text: str) -> list[str]:
        found: dict[str, str] = {}
        for answer in write(llm, text):
            parsed = parse_questions(answer, text, prompt_tmpl=template)
            for q in parsed[:1] if one_each else parsed:
                found.setdefault(normalise(q), q)
        return list(found.values())

    started = time.perf_counter()
    with ThreadPoolExecutor(llm.max_parallel_requests) as pool:
        per_chunk = list(pool.map(questions, texts))
    seconds = time.perf_counter() - started
    llm.close()  # frees the model and its KV cache
    passed, failed, dropped, full = [], [], Counter(), 0
    for text, qs in zip(texts, per_chunk, strict=True):
        reasons = [rule_reason(q, text, template) for q in qs]
        full += sum(r is None for r in reasons) >= ASKED
        passed += [q for q, r in zip(qs, reasons, strict=True) if r is None]
        failed += [(q, r) for q, r in zip(qs, reasons, strict=True) if r is not None]
        dropped.update(r for r in reasons if r is not None)
    n = sum(len(qs) for qs in per_chunk)
    return {
        "s_per_chunk": seconds / len(texts), "parsed": n, "passed": len(passed),
        "share": len(passed) / n if n else 0.0, "full": full, "dropped": dict(dropped),
        "load": os.getloadavg()[0], "passed_q": passed, "failed_q": failed,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20, help="the first N of make demo's 50")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "writer_constraints.md"))
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip()  # fmt: skip
    nodes = load_nodes([PDFS / "lyft_2021.pdf"], chunk_size=512, chunk_overlap=64)
    all_texts = [n.get_content() for n in nodes]
    picked = sorted(random.Random(0).sample(range(len(nodes)), 50))[: args.chunks]
    texts = [all_texts[i] for i in picked]
    topics = dict(zip(all_texts, top_words(all_texts), strict=True))
    rows = {}
    for name, (template, write) in variants(topics).items():
        print(f"== {name}", flush=True)
        rows[name] = run_variant(template, write, texts, args.threads)
        print({k: v for k, v in rows[name].items() if not k.endswith("_q")}, flush=True)
    write_fragment(args, rows, len(texts), load_at_start, commit)


def write_fragment(args, rows: dict, chunks: int, load_at_start: float, commit: str) -> None:
    best = max(rows, key=lambda k: (rows[k]["full"], rows[k]["passed"]))
    most = max(rows, key=lambda k: rows[k]["passed"])
    top = rows[best]["full"] / chunks
    verdict = f"is short of issue 11's target ({TARGET:.0%}) by {(TARGET - top) * 100:.0f} points"
    if top >= TARGET:
        verdict = f"reaches issue 11's target ({TARGET:.0%} of chunks with the asked number)."
    elif top < TARGET - 0.15:
        verdict += ": no variant tried here brings SmolLM2-135M near it."
    lines = [
        "## SmolLM2-135M under prompting and decoding constraints",
        "",
        f"The bundled writer (SmolLM2-135M-Instruct on llama.cpp, {args.threads} threads, "
        f"{LocalLLM().max_parallel_requests} slots, a fresh server per row) asked for {ASKED} "
        f"questions on each of {chunks} Lyft 2021 10-K chunks (512 tokens, the sample of "
        "`make demo` and writers.py), five ways: the package's two prompts in chat, as "
        "generation sends them; `default` under a GBNF grammar (two lines, each a wh-/aux "
        "word, 10-140 characters, '?') with logit_bias -100 on words naming the source "
        '(" document", " excerpt", " text", ...); one chat call per top-2 TF-IDF word of the '
        'chunk ("Write one question about "{word}" that the text above answers."); three '
        "made-up 10-K examples + `Document: <chunk>\\nQuery:` as a raw completion cut at "
        "the newline, greedy and once at temperature 0.8. Questions parsed by the package's "
        "`parse_questions` (all of an answer for the prompts, the first of each call for the "
        "last two; repeats within a chunk counted once); passing = `rule_reason(...) "
        "is None`, the quality gate's per-question rules (no round trip, no cross-chunk "
        f"repeat count). Code at {commit}. Machine: {platform.machine()}, {os.cpu_count()} CPU "
        f"cores, 1-min load {load_at_start:.1f} at the start (other jobs may have been "
        "running; the last column is the load as each row ended), no GPU. The slots batch "
        "concurrent requests, so greedy answers are not bit-for-bit repeatable: a rerun moves "
        "these counts by a few questions and chunks, and a difference of a few chunks "
        "between two rows is within that noise.",
        "",
        f"| variant | s / chunk | questions parsed | passing the rules | passing share | "
        f"chunks with {ASKED} passing | 1-min load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['s_per_chunk']:.2f} | {r['parsed']} | {r['passed']} | "
            f"{r['share']:.0%} | {r['full']} of {chunks} ({r['full'] / chunks:.0%}) | "
            f"{r['load']:.1f} |"
        )
    lines += [
        "",
        f"Most passing questions: {most} ({rows[most]['passed']} of {rows[most]['parsed']}). "
        f"Most chunks with {ASKED} passing: {best} ({rows[best]['full']} of {chunks}), which "
        f"{verdict.rstrip('.')}.",
        "",
        "Dropped by the rules, and examples (3 passing, 3 failing per variant):",
        "",
    ]
    for name, r in rows.items():
        lines.append(f"- {name}: dropped {r['dropped'] or 'none'}")
        lines += [f"  - passes: {q!r}" for q in r["passed_q"][:3]]
        first: dict[str, tuple[str, str]] = {}  # one example of each reason before repeats
        for q, why in r["failed_q"]:
            first.setdefault(why, (q, why))
        shown = ([*first.values()] + [f for f in r["failed_q"] if f not in first.values()])[:3]
        lines += [f"  - fails ({why}): {q!r}" for q, why in shown]
    lines += [
        "",
        "Reproduce: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        "benchmarks/experiments/writer_constraints.py"
        + (f" --chunks {args.chunks}" if args.chunks != 20 else "")
        + (f" --out {args.out}" if Path(args.out).name != "writer_constraints.md" else "")
        + "`",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
