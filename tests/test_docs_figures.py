"""Figures the docs quote are the figures the benchmarks wrote (docs/evaluation.md once
said the demo's gain "held at +0.035 to +0.038 across runs" when most runs kept the base).

A signed figure in README.md or docs/*.md (a gain such as ``+0.029`` or ``-0.0021``) must be
in benchmarks/results/: in the page its paragraph names (``benchmarks/results/X.md``, or
``demo.md`` for a paragraph about ``make demo``), as that page is now or at the commit the
paragraph cites; without a named page, in any of them. Fenced code blocks are examples of
output, not claims, and are left out. The time a chunk takes the bundled writer is quoted in
one place and matches the demo's stage times.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIGURE = re.compile(r"(?<![\w.])[+-]0\.\d{3,4}(?!\d)")
NUMBER = re.compile(r"[+-]?\d+\.\d+")
COMMIT = re.compile(r"\b(?:at|commit) ([0-9a-f]{7,40})\b")
PAGE = re.compile(r"(?<![\w/])(?:benchmarks/results/)?([a-z_]+)\.md\b")
PER_CHUNK = re.compile(r"(\d+(?:\.\d+)?) s a\s+chunk")


def _numbers(text: str) -> set[float]:
    return {float(n) for n in NUMBER.findall(text)}


def _page_at(page: str, commit: str) -> str:
    done = subprocess.run(
        ["git", "show", f"{commit}:benchmarks/results/{page}.md"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout if done.returncode == 0 else ""


def _known(paragraph: str) -> set[float]:
    pages = [p for p in PAGE.findall(paragraph) if (RESULTS / f"{p}.md").is_file()]
    if "make demo" in paragraph and "demo" not in pages:
        pages.append("demo")
    pages = pages or [p.stem for p in RESULTS.glob("*.md")]
    known: set[float] = set()
    for page in pages:
        known |= _numbers((RESULTS / f"{page}.md").read_text(encoding="utf-8"))
        for commit in COMMIT.findall(paragraph):
            known |= _numbers(_page_at(page, commit))
    return known


def _paragraphs(doc: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
    return text.split("\n\n")


def _unfounded(doc: Path) -> list[str]:
    missing = []
    for paragraph in _paragraphs(doc):
        figures = FIGURE.findall(paragraph)
        if not figures:
            continue
        known = _known(paragraph)
        for figure in figures:
            half = 0.5 * 10 ** -len(figure.split(".")[1]) + 1e-9  # rounded either way at .5
            if not any(abs(x - float(figure)) <= half for x in known):
                missing.append(f"{figure} in: {' '.join(paragraph.split())[:120]}")
    return missing


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_figures_quoted_in_docs_are_in_the_benchmark_results(doc):
    assert _unfounded(doc) == []


def test_a_stale_figure_is_caught(tmp_path):
    """The check itself: a stale sentence the docs once held is refused."""
    stale = (
        "- Two runs of the bundled writer differ: in `make demo` the finetuned model's gain "
        "held at +0.091 to +0.094 across runs."
    )
    doc = tmp_path / "stale.md"
    doc.write_text(stale, encoding="utf-8")
    assert [m.split(" in: ")[0] for m in _unfounded(doc)] == ["+0.091", "+0.094"]


def test_the_time_a_chunk_takes_is_quoted_once_and_is_the_demos():
    """Three different per-chunk costs stood in three places (README/docs, Makefile, code)."""
    quoted = [
        (path.name, float(m))
        for path in [*DOCS, ROOT / "Makefile"]
        for m in PER_CHUNK.findall(path.read_text(encoding="utf-8"))
    ]
    assert [name for name, _ in quoted] == ["index.md"], quoted
    demo = (RESULTS / "demo.md").read_text(encoding="utf-8")
    minutes = float(re.search(r"\| questions for the training files \| ([\d.]+) \|", demo)[1])
    chunks = int(re.search(r"--max-chunks (\d+)", demo)[1])
    assert quoted[0][1] == pytest.approx(minutes * 60 / chunks, abs=0.05)
