"""The README's code blocks run as written, offline, with the substitutions the README documents.

The README says: "A line that ends in ``# offline: CODE`` runs with no API key and no model
hub when CODE replaces it". Every python block runs here, in order, in one namespace (later
blocks use the names earlier ones define), with those replacements, except the LLM's: its
lines run against the local OpenAI-compatible test server (tests/support/openai_server.py) through
``api_base``, the README's "your own server", so that the blocks take seconds;
``test_offline_llm_lines_write_questions`` runs the LLM's ``# offline:`` lines themselves.
The command line's ``llamaindex-finetune`` lines run through the console script's ``main``,
with ``--llm openai:<model> --api-base`` (the same server) where they ask an LLM, and must
exit 0; the other bash lines (clone, install, download, make) need the network or a fresh
machine and are listed here, so that a new kind of line fails the test until it is run or
listed.

The only other change is the data's size: ``lyft_2021.pdf`` and ``uber_2021.pdf`` are small
PDFs of a few one-chunk pages, written by the test.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from support.paths import REPO

README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)

OFFLINE = re.compile(r"^(\s*)(\S.*?)\s+# offline: (.+)$", re.M)
LLM_LINES = ("from llama_index.llms.openai import OpenAI", 'llm = OpenAI(model="gpt-4o-mini")')
# bash lines that are not run: a fresh machine's setup, or downloads (the network)
SETUP = ("git clone ", "make ", "python -m venv ", "pip install ", "URL=", "mkdir -p data/10k ")

TOPICS = [
    f"{a} {b}"
    for a in ("northern", "coastal", "urban", "rural", "overnight", "airport", "scooter", "fleet")
    for b in ("freight", "rentals", "insurance", "payments", "advertising", "leasing", "transit")
]


def blocks(lang: str) -> list[str]:
    return [code for tag, code in FENCE.findall(README.read_text()) if tag == lang]


def write_filing(path: Path, company: str, topics: list[str]) -> None:
    """A made-up filing as a PDF of one short page a topic (one chunk a page)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:  # text, not curves
        for i, topic in enumerate(topics):
            fig = plt.figure(figsize=(8.5, 11))
            lines = (
                f"In 2021 the {topic} segment of {company} grew {10 + i} percent.",
                f"Its revenue reached {100 + 7 * i} million dollars across {3 + i % 5} regions.",
                f"Management attributes the {topic} growth to new contracts and pricing.",
            )
            fig.text(0.05, 0.95, "\n".join(lines), va="top")
            pdf.savefig(fig)
            plt.close(fig)


def answer(key: str, prompt: str, n: int) -> str:
    """Questions about the chunk in the prompt, as an LLM would write them."""
    found = re.findall(r"In 2021 the (\w+\s+\w+) segment of (\w+)", prompt)
    topic, company = found[-1] if found else ("company", "the")
    topic = " ".join(topic.split())
    asks = (
        f"How much did {company}'s {topic} segment grow in 2021?",
        f"What revenue did the {topic} segment of {company} reach?",
    )
    return "Here are the questions:\n" + "\n".join(f"{i + 1}. {q}" for i, q in enumerate(asks[:n]))


@pytest.fixture
def workdir(tmp_path, monkeypatch, fake_openai):
    """A folder holding the two small filings; the embedding cache kept inside it."""
    write_filing(tmp_path / "lyft_2021.pdf", "Lyft", TOPICS[:5])
    write_filing(tmp_path / "uber_2021.pdf", "Uber", TOPICS[5:9])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLAMA_INDEX_FINETUNING_CACHE", str(tmp_path / "cache"))
    server = fake_openai(answer=answer)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    return tmp_path, server


def offline(code: str, keep: tuple[str, ...] = ()) -> str:
    """``code`` with each ``CODE  # offline: NEW`` line replaced by ``NEW`` (but ``keep``)."""

    def replace(m: re.Match) -> str:
        return m.group(0) if m.group(2) in keep else m.group(1) + m.group(3)

    return OFFLINE.sub(replace, code)


def test_readme_documents_its_offline_lines():
    text = " ".join(README.read_text().split())
    assert "A line that ends in `# offline: CODE` runs with no API key and no model hub" in text
    lines = [m.group(2) for code in blocks("python") for m in OFFLINE.finditer(code)]
    assert set(LLM_LINES) <= set(lines) and len(lines) >= 4, lines
    assert "api_base=" in text and "--api-base" in text  # your own server, Python and CLI


def test_python_blocks_run_in_order(workdir):
    tmp_path, server = workdir
    llm = f'OpenAI(model="gpt-4o-mini", api_base="{server.url}", api_key="test")'
    namespace: dict = {"__name__": "readme"}
    for code in blocks("python"):
        code = offline(code, keep=LLM_LINES).replace('OpenAI(model="gpt-4o-mini")', llm)
        exec(compile(code, str(README), "exec"), namespace)

    assert server.completion_requests > 0
    assert namespace["BASE_MODEL"] == "offline"
    assert len(namespace["train"]) > 0 and len(namespace["report"]) > 0
    assert (tmp_path / "test_model" / "modules.json").exists()
    assert (tmp_path / "model_output_test").is_dir()
    table = (tmp_path / "report" / "comparison.md").read_text()
    assert all(name in table for name in ("base", "finetuned", "adapter"))

    # the report is searched among every chunk the index holds, and the index
    # embeds the text the pairs hold (the page label and path stay, as metadata)
    from llama_index.core.schema import MetadataMode

    uber_nodes, val = namespace["uber_nodes"], namespace["val"]
    assert f"searched among {len(uber_nodes)} chunks" in table.splitlines()[0]
    asked = [node for node in uber_nodes if node.node_id in val.corpus]
    assert asked and all(node.metadata.get("page_label") for node in asked)
    for node in asked:
        assert node.get_content(MetadataMode.EMBED) == val.corpus[node.node_id]


def test_offline_llm_lines_write_questions(workdir):
    """The LLM's ``# offline:`` lines, run as the README gives them, on one chunk."""
    from llama_index.core.schema import TextNode

    from llama_index.finetuning import generate_qa_embedding_pairs

    code = "\n".join(m.group(3) for c in blocks("python") for m in OFFLINE.finditer(c)
                     if m.group(2) in LLM_LINES)  # fmt: skip
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    text = "In 2021 Lyft's revenue grew 36 percent to 3.2 billion dollars, led by rideshare."
    ds, report = generate_qa_embedding_pairs(
        llm=namespace["llm"], nodes=[TextNode(id_="n0", text=text)], return_report=True,
        quality_filter=False,
    )  # fmt: skip
    assert type(namespace["llm"]).__name__ == "LocalLLM"
    assert report.failed == 0 and len(ds) >= 1


def first_table(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| model"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def test_headline_table_is_the_demo_report():
    """The README's table is the report-set table of benchmarks/results/demo.md, row for row."""
    demo = first_table((REPO / "benchmarks" / "results" / "demo.md").read_text())
    assert "uber_report.json" in demo[0]  # the questions that chose nothing
    readme = first_table(README.read_text())
    assert readme[1:] == demo[1:]  # the header's first cell may differ: it names the set


def cli_lines() -> list[str]:
    """Every command of the README's bash blocks, continuation lines joined."""
    lines = []
    for code in blocks("bash"):
        joined = re.sub(r"\\\n\s*", " ", code)
        for line in joined.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def test_bash_lines_are_run_or_setup():
    lines = cli_lines()
    assert any(line.startswith("llamaindex-finetune ") for line in lines)
    others = [line for line in lines if not line.startswith(("llamaindex-finetune ", *SETUP))]
    assert others == [], "a README bash line that is neither run nor listed as setup"


def test_cli_lines_run(workdir, capsys):
    tmp_path, server = workdir
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="llamaindex-finetune")
    assert script.value == "llama_index.finetuning.cli:main"  # what the installed command runs
    from llama_index.finetuning.cli import main

    showwarning = __import__("warnings").showwarning
    try:
        for line in cli_lines():
            if not line.startswith("llamaindex-finetune "):
                continue
            argv = shlex.split(line)[1:]
            if argv[0] in ("run", "generate"):
                argv += ["--llm", "openai:gpt-4o-mini", "--api-base", server.url]
            status = main(argv)
            assert status == 0, f"{line}: exit {status}\n{capsys.readouterr().err}"
    finally:
        __import__("warnings").showwarning = showwarning
    for path in ("out/report/comparison.md", "train.json", "val.json", "my_model/modules.json",
                 "my_adapter", "report/comparison.md"):  # fmt: skip
        assert (tmp_path / path).exists(), path
    sys.stdout.flush()
