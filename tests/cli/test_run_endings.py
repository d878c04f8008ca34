"""How a command line run ends, through the real command line: a missing key, an unreachable
server, a partial run, a rerun with other inputs, Ctrl-C, bad inputs, --help.

Each asserts the exit status the README states, one line of error and no traceback, and that
the user's files are unchanged. What is about a process runs in one (``cli``): a refusal's,
a partial run's and Ctrl-C's exit status, and --help; the rest runs the same ``main(argv)``
in this process (``in_process``), without a fresh interpreter importing torch each time.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest
from support.cli_proc import (
    ENV,
    assert_one_line_error,
    cli,
    default_sigint,
    in_process,
    small_dataset,
    snapshot,
    write_docs,
)

from llama_index.finetuning import EmbeddingQAFinetuneDataset


def test_openai_without_a_key_is_refused_before_any_work(tmp_path):
    docs = write_docs(tmp_path / "docs")
    before = snapshot(tmp_path)
    proc = cli("generate", docs, "--llm", "openai:gpt-4o-mini", "--output", tmp_path / "out.json")
    assert_one_line_error(proc, 2, "OPENAI_API_KEY", "--api-key")
    assert snapshot(tmp_path) == before  # no dataset, no journal


def test_an_unreachable_server_fails_with_one_line(tmp_path):
    proc = in_process("generate", write_docs(tmp_path / "docs", n=2), "--llm", "openai-like:none",
                      "--api-base", "http://127.0.0.1:9/v1", "--output", tmp_path / "fail.json")  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert err and "error:" in err[-1] and "127.0.0.1:9" in err[-1]
    assert sum("error" in line.lower() for line in err) == 1


def test_a_partial_run_exits_1_and_says_how_to_resume(tmp_path, fake_openai):
    # the CLI's OpenAI client does not retry by itself, so each of the 4 attempts reaches us;
    # a 429 says "again at once" (Retry-After: 0): no back-off waits, which are not under test
    server = fake_openai(faults={"CHUNK-2": [429, 429, 429, 429]})
    docs = write_docs(tmp_path / "docs")
    argv = ["generate", docs, "--llm", "openai-like:m", "--api-base", server.url,
            "--no-round-trip", "--output", tmp_path / "d.json"]  # fmt: skip
    proc = cli(*argv)  # a process: its exit status, the rerun line from its own argv
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "1 of 4 chunks got no questions" in last and "rerun the same command" in last
    assert "llamaindex-finetune generate" in last and "Traceback" not in proc.stderr
    assert len(EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json").corpus) == 3

    proc = in_process(*argv)  # the command it printed: asks the failed chunk only
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert server.requests_per_key["CHUNK-2"] == 5 and server.requests_per_key["CHUNK-0"] == 1
    assert len(EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json").corpus) == 4


def test_a_rerun_with_other_inputs_does_not_merge_into_the_output(tmp_path, fake_openai):
    """Finding 12.4: a quick run into a full run's output used to train on both."""
    server = fake_openai()
    out = tmp_path / "merged.json"
    base = ["--llm", "openai-like:m", "--api-base", server.url, "--no-round-trip", "--output", out]
    proc = in_process("generate", write_docs(tmp_path / "full", n=4), *base)
    assert proc.returncode == 0, proc.stderr[-2000:]
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("CHUNK-9: another company reported item 9 in 2022. " * 3)
    before = snapshot(tmp_path)
    proc = in_process("generate", other, *base)
    # a refusal: exit 2, as the README says
    assert_one_line_error(proc, 2, "merged.json", "already holds 4 chunks", "--append")
    assert snapshot(tmp_path) == before

    proc = in_process("generate", other, *base, "--append")  # said explicitly: both are kept
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(EmbeddingQAFinetuneDataset.from_json(out).corpus) == 5


# ---- 12.8 Ctrl-C ---------------------------------------------------------------------------


def test_ctrl_c_saves_says_so_in_one_line_and_exits_130(tmp_path, fake_openai):
    server = fake_openai(latency=0.5)
    docs = write_docs(tmp_path / "docs", n=12)
    out = tmp_path / "d.json"
    argv = [sys.executable, "-m", "llama_index.finetuning.cli", "generate", str(docs),
            "--llm", "openai-like:m", "--api-base", server.url, "--num-workers", "1",
            "--no-round-trip", "--output", str(out)]  # fmt: skip
    proc = subprocess.Popen(
        argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while server.completion_requests < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.completion_requests >= 3, "generation never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [line for line in err.strip().splitlines() if "interrupted" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "chunks saved to" in lines[0] and "rerun the same command to resume" in lines[0]
    saved = int(re.search(r"(\d+) chunks saved to", lines[0])[1])
    asked = server.completion_requests

    server.latency = 0  # it was there to catch the run in the middle
    proc = in_process(*argv[3:])  # the same command resumes: no finished chunk is asked again
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert server.completion_requests == asked + 12 - saved  # each unsaved chunk once
    assert len(EmbeddingQAFinetuneDataset.from_json(out).corpus) == 12


# ---- 12.10 inputs checked, one line each ----------------------------------------------------


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["generate", "{docs}", "--max-chunks", "0"], ["--max-chunks", "at least 1"]),
        (["generate", "{docs}", "--max-chunks", "-1"], ["--max-chunks", "at least 1"]),
        (["generate", "{bin}", "--generator", "pseudo"], ["a.bin: not a document (binary data)"]),
        (["generate", "{png}", "--generator", "pseudo"], ["x.png: an image, not a document"]),
        (["train", "{data}", "--output", "{file}"], ["existing.json: is a file"]),
        (["train", "{data}", "--output", "{file}", "--overwrite"], ["existing.json: is a file"]),
        (["train", "{data}", "--model", "no/such-model"], ["no/such-model", "--model offline"]),
        (
            [
                "run",
                "--train",
                "{docs}",
                "--val",
                "{missing}",
                "--generator",
                "pseudo",
                "--output-dir",
                "{out}",
            ],
            ["--val", "missing.pdf: no such file"],
        ),  # fmt: skip
        (
            [
                "run",
                "--train",
                "{docs}",
                "--val",
                "{docs}",
                "--test",
                "{png}",
                "--output-dir",
                "{out}",
            ],
            ["--test", "x.png: an image"],
        ),  # fmt: skip
        (["evaluate", "{empty}"], ["no questions", "llamaindex-finetune generate"]),
    ],
)
def test_bad_inputs_are_one_line_and_change_nothing(tmp_path, argv, needles):
    files = tmp_path / "files"
    write_docs(files / "docs")
    (files / "a.bin").write_bytes(bytes(range(256)) * 16)
    (files / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (files / "existing.json").write_text('{"keep": "me"}')
    (files / "empty.json").write_text(
        json.dumps({"queries": {}, "corpus": {}, "relevant_docs": {}})
    )
    small_dataset(files / "data.json")
    before = snapshot(files)
    names = {
        "docs": files / "docs", "bin": files / "a.bin", "png": files / "x.png",
        "file": files / "existing.json", "data": files / "data.json",
        "missing": files / "missing.pdf", "out": tmp_path / "run", "empty": files / "empty.json",
    }  # fmt: skip
    proc = in_process(*[a.format(**names) for a in argv], cwd=tmp_path)
    assert_one_line_error(proc, 2, *needles)
    assert snapshot(files) == before
    assert not (tmp_path / "run").exists()  # run checks every input before it makes its folder


def test_help_shows_defaults_and_verbose_and_version_work_anywhere():
    help_text = cli("generate", "--help").stdout
    assert "(default: 1024)" in help_text and "exit status:" in help_text
    for argv in (["-v", "generate", "--version"], ["generate", "-v", "--version"]):
        proc = cli(*argv)
        assert proc.returncode == 0 and proc.stdout.startswith("llamaindex-finetune")
