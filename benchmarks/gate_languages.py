"""The quality gate in other languages, and its rules before and after a commit.

Run by ``benchmarks/gate.py`` (which writes both into ``benchmarks/results/gate.md``):

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gate.py --before de9afaa

The multilingual set is ``benchmarks/data/multilingual_questions.jsonl`` (datasheet:
``multilingual_questions.md``): good questions and junk written by hand, in 12 languages,
from the chunks of ``multilingual_chunks.json``. ``--before <commit>`` measures the rules as
they were at that commit on the same rows, in the same run: the library of that commit is
unpacked (``git archive``) and imported in a subprocess.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from gate_rows import DATA, HERE, LABELS, gate_verdicts, read_rows, share, wilson

MULTILINGUAL = DATA / "multilingual_questions.jsonl"


def language_table(rows: list[dict], verdicts: list) -> list[str]:
    """Per language and part of the multilingual set: good kept, junk dropped, by which rule."""
    lines = [
        "| language | part | good kept | 95% interval | junk dropped | 95% interval | "
        "junk drop reasons |",
        "|---|---|---:|---|---:|---|---|",
    ]
    for language in sorted({r["language"] for r in rows}):
        for part in ("tune", "fresh", "all"):
            idx = [
                i for i, r in enumerate(rows)
                if r["language"] == language and part in ("all", r["split"])
            ]  # fmt: skip
            good = [i for i in idx if rows[i]["label"] == "good"]
            junk = [i for i in idx if rows[i]["label"] == "junk"]
            g = sum(verdicts[i][1] is None for i in good)
            j = sum(verdicts[i][1] is not None for i in junk)
            why = Counter(verdicts[i][1] for i in junk if verdicts[i][1] is not None)
            lines.append(
                f"| {language} | {part} | {share(g, len(good))} | {wilson(g, len(good))} | "
                f"{share(j, len(junk))} | {wilson(j, len(junk))} | "
                + (", ".join(f"{k} {v}" for k, v in why.most_common()) or "-")
                + " |"
            )
    return lines


def verdicts_at(commit: str, path: Path) -> list[tuple[str, str | None]]:
    """The rules' verdicts on the rows of ``path`` with the library (and its default prompt)
    as it was at ``commit``: the rows are measured by this script, the rules by that code."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", commit, "llama_index"], cwd=HERE.parent, check=True,
            capture_output=True,
        ).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        code = (
            f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import gate_rows as gate; "
            f"assert gate.filter_pairs.__module__ and sys.modules['llama_index.finetuning']"
            f".__file__.startswith({tmp!r}), 'not the library of the commit'; "
            f"print(json.dumps(gate.gate_verdicts(gate.read_rows(gate.Path({str(path)!r})))))"
        )
        env = {**os.environ, "PYTHONPATH": tmp}
        out = subprocess.run(  # run in tmp: the repository's own llama_index must not be found
            [sys.executable, "-c", code], env=env, cwd=tmp, check=True, capture_output=True,
            text=True,
        ).stdout  # fmt: skip
    return [(text, why) for text, why in json.loads(out.strip().splitlines()[-1])]


def before_after_table(commit: str, named: list[tuple[str, list[dict], list, list]]) -> list[str]:
    """Good kept and junk dropped by the rules at ``commit`` and now, for each named set."""
    lines = [
        f"| set | good kept at {commit} | good kept now | junk dropped at {commit} | "
        "junk dropped now |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rows, before, now in named:
        good = [i for i, r in enumerate(rows) if r["label"] == "good"]
        junk = [i for i, r in enumerate(rows) if r["label"] == "junk"]
        kept = [sum(v[i][1] is None for i in good) for v in (before, now)]
        dropped = [sum(v[i][1] is not None for i in junk) for v in (before, now)]
        lines.append(
            f"| {name} | {share(kept[0], len(good))} | {share(kept[1], len(good))} | "
            f"{share(dropped[0], len(junk))} | {share(dropped[1], len(junk))} |"
        )
    return lines


def multilingual_section() -> list[str]:
    rows = read_rows(MULTILINGUAL)
    verdicts = gate_verdicts(rows)
    labels = Counter(r["label"] for r in rows)
    wrong = [
        (r, v)
        for r, v in zip(rows, verdicts, strict=True)
        if (r["label"] == "good") != (v[1] is None)
    ]
    lines = [
        "## The gate in other languages",
        "",
        f"`benchmarks/data/multilingual_questions.jsonl`: {len(rows)} questions in "
        f"{len({r['language'] for r in rows})} languages ({labels['good']} good, "
        f"{labels['junk']} junk), written by hand from the chunks of "
        "`multilingual_chunks.json` (datasheet: `benchmarks/data/multilingual_questions.md`). "
        "The same gate (rules, the default prompt for echoes). Part `tune`: the rules for "
        "other scripts were written looking at it; `fresh`: a chunk per language written "
        "after they were frozen. Targets (issue 29): in every language >= 98% of good kept, "
        ">= 90% of junk dropped.",
        "",
        *language_table(rows, verdicts),
        "",
    ]
    if wrong:
        lines += ["Every error (language, part, label, kind: verdict, question):", ""]
        lines += [
            f"- {r['language']} ({r['split']}, {r['label']}, {r['kind']}): "
            f"{v[1] or 'kept'}: {r['question']!r}"
            for r, v in wrong
        ]
        lines.append("")
    return lines


def language_sections(rows: list[dict], verdicts: list, before: str | None) -> list[str]:
    """The multilingual section, and with ``before`` the before/after table (English and
    each language); ``rows``/``verdicts``: the English set and its verdicts now."""
    parts = multilingual_section()
    if before:
        named = [
            (
                "English (`gate_questions.jsonl`, all parts)",
                rows,
                verdicts_at(before, LABELS),
                verdicts,
            )
        ]
        ml_rows = read_rows(MULTILINGUAL)
        ml_before, ml_now = verdicts_at(before, MULTILINGUAL), gate_verdicts(ml_rows)
        for language in sorted({r["language"] for r in ml_rows}):
            idx = [i for i, r in enumerate(ml_rows) if r["language"] == language]
            named.append(
                (f"{language} (multilingual, all parts)", [ml_rows[i] for i in idx],
                 [ml_before[i] for i in idx], [ml_now[i] for i in idx])
            )  # fmt: skip
        parts += [
            "## Before and after (rules, library default, each with its own default prompt)",
            "",
            f"The rules as they were at commit `{before}` (before issue 29) and as they "
            "are now, on the same rows, in this run.",
            "",
            *before_after_table(before, named),
            "",
        ]
    return parts
