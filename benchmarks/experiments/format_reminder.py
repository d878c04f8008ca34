"""Would asking again with a format reminder rescue chunks whose answer had no question?

Reproduce:  flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/experiments/format_reminder.py \
                --from-log demo.log          (or --chunks lyft_2021-28 uber_2021-136 ...)

The chunks are those that `make demo` (benchmarks/demo.py) logged as "failed after 4
attempts: no questions in the answer" (its retries resent the same prompt): they are rebuilt
by id (``load_nodes`` gives stable ``<file stem>-<i>`` ids). Each is asked with the default
prompt (a greedy model gives this same answer on every retry of the same prompt) and then
with the prompt plus ``FORMAT_REMINDER`` (a candidate retry), both with the offline LocalLLM.
The parser used by generation decides whether an answer holds questions; a question that
shares no content word (4+ letters) with its chunk is counted as junk. The outcome decided
what generation does: it stops retrying when the answer repeats, and adds no reminder.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from llama_index.finetuning.documents import load_nodes
from llama_index.finetuning.generation.parsing import (
    DEFAULT_QA_GENERATE_PROMPT_TMPL,
    parse_questions,
)
from llama_index.finetuning.llms.local import LocalLLM

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent  # benchmarks/: the shared data sets
PDFS = BENCH.parent.parent / "shared" / "data" / "10k"
FORMAT_REMINDER = (
    "\n\nYour previous answer had no question in it. Answer with the questions only, one per "
    "line, each ending with a question mark."
)
WORD = re.compile(r"[a-z]{4,}")
FAILED = re.compile(r"chunk (\S+) failed after \d+ attempts: no questions in the answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", nargs="*", default=[], help="chunk ids, e.g. lyft_2021-28")
    parser.add_argument("--from-log", help="a demo log: its 'failed ... no questions' chunks")
    parser.add_argument("--out", default=str(HERE / "results" / "format_reminder.md"))
    args = parser.parse_args()
    ids = list(args.chunks)
    if args.from_log:
        ids += FAILED.findall(Path(args.from_log).read_text(errors="replace").replace("\r", "\n"))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise SystemExit("no chunk ids: pass --chunks or a --from-log with failed chunks")
    stems = sorted({i.rpartition("-")[0] for i in ids})
    nodes = {n.node_id: n for n in load_nodes([str(PDFS / f"{s}.pdf") for s in stems])}
    missing = [i for i in ids if i not in nodes]
    if missing:
        raise SystemExit(f"no such chunk(s): {missing}")

    llm = LocalLLM()
    rows, started = [], time.perf_counter()
    for chunk_id in ids:
        text = nodes[chunk_id].get_content()
        prompt = DEFAULT_QA_GENERATE_PROMPT_TMPL.format(context_str=text, num_questions_per_chunk=2)
        plain = parse_questions(llm.complete(prompt).text, text, 2)
        reminded = parse_questions(llm.complete(prompt + FORMAT_REMINDER).text, text, 2)
        chunk_words = set(WORD.findall(text.lower()))
        on_topic = sum(1 for q in reminded if set(WORD.findall(q.lower())) & chunk_words)
        rows.append(
            (chunk_id, len(plain), len(reminded), on_topic, reminded[0] if reminded else "")
        )
        print(rows[-1], flush=True)
    rescued = sum(1 for _, p, _, t, _ in rows if p == 0 and t > 0)
    junk_only = sum(1 for _, p, r, t, _ in rows if p == 0 and r > 0 and t == 0)
    no_question_first = sum(1 for _, p, *_ in rows if p == 0)
    lines = [
        "## A second chance for answers without a question: the format reminder",
        "",
        f"{len(rows)} chunks that `make demo` logged as failing 4 times with no question in the "
        f"answer (retries then resent the same prompt); SmolLM2-135M, greedy. "
        f"{time.perf_counter() - started:.0f} s.",
        "",
        "| chunk | questions, same prompt | questions, prompt + reminder | of them on topic | "
        "first reminded question |",
        "|---|---:|---:|---:|---|",
        *(f"| {c} | {p} | {r} | {t} | {q[:90]} |" for c, p, r, t, q in rows),
        "",
        f"Same prompt: {no_question_first} of {len(rows)} answers still hold no question (a "
        f"greedy model repeats itself). With the reminder: {rescued} of those "
        f"{no_question_first} chunks get a question on topic, {junk_only} get only junk (a "
        "question sharing no content word with the chunk), which would enter the training "
        "pairs. So generation adds no reminder: it stops retrying a chunk when the answer "
        "repeats, and the chunk is asked again on the next run.",
        "",
        "Reproduce: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        f"benchmarks/experiments/format_reminder.py --chunks {' '.join(ids)}`",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
