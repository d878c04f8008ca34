"""Each bad input of issue 12, through the real command line in a subprocess.

Every test asserts what a user sees and keeps: the exit status, one line of error and no
traceback, and every file the user had before the command byte for byte the same after it.
No test needs the slow local LLM: ``--generator pseudo`` or the local OpenAI-compatible
server (``fake_openai``) write the questions.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import default_sigint

from llama_index.finetuning import EmbeddingQAFinetuneDataset

ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
ENV.pop("OPENAI_API_KEY", None)


def cli(*argv, cwd=None, umask=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llama_index.finetuning.cli", *map(str, argv)],
        env=ENV, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def assert_one_line_error(proc, status: int, *needles: str) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stderr[-2000:])
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def write_docs(folder: Path, n: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(
            f"CHUNK-{i}: the company reported revenue item {i} in 2021. "
            f"Drivers in city {i} were paid more than riders expected. " * 3
        )
    return folder


def small_dataset(path: Path, n: int = 12) -> Path:
    topics = ["revenue", "drivers", "insurance", "bikes", "scooters", "airports"]
    EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"What about {topics[i % 6]} number {i}?" for i in range(n)},
        corpus={f"c{i}": f"Section {i}: {topics[i % 6]} grew by {i} percent." for i in range(n)},
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(n)},
    ).save_json(path)
    return path


@pytest.fixture
def user_folder(tmp_path):
    """A folder of the user's own files, as in finding 12.1."""
    folder = tmp_path / "myproject"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes")
    (folder / "config.json").write_text('{"mine": true}')
    (folder / "README.md").write_text("# my project")
    (folder / "checkpoints" / "important.txt").write_text("do not delete")
    return folder


# ---- 12.1 never clobber ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "adapt", "evaluate"])
def test_a_users_folder_is_refused_by_every_command_that_writes_one(tmp_path, user_folder, command):
    before = snapshot(user_folder)
    proc = cli(command, small_dataset(tmp_path / "d.json"), "-o", user_folder)
    assert_one_line_error(proc, 2, str(user_folder), "--overwrite")
    assert snapshot(user_folder) == before


def test_run_refuses_a_users_folder_before_any_work(tmp_path, user_folder):
    before = snapshot(user_folder)
    docs = write_docs(tmp_path / "docs")
    proc = cli("run", "--train", docs, "--val", docs, "--generator", "pseudo",
               "--output-dir", user_folder)  # fmt: skip
    assert_one_line_error(proc, 2, str(user_folder), "--overwrite")
    assert snapshot(user_folder) == before


def test_overwrite_writes_the_model_but_deletes_nothing_of_the_users(tmp_path, user_folder):
    before = snapshot(user_folder)
    data = small_dataset(tmp_path / "d.json")
    # a user's checkpoints/ would be deleted with the working files: refused even so
    proc = cli("train", data, "--output", user_folder, "--overwrite", "--epochs", "1")
    assert_one_line_error(proc, 2, str(user_folder / "checkpoints"))
    assert snapshot(user_folder) == before

    (user_folder / "checkpoints" / "important.txt").rename(user_folder / "important.txt")
    (user_folder / "checkpoints").rmdir()
    before = snapshot(user_folder)
    proc = cli("train", data, "--output", user_folder, "--overwrite", "--epochs", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = snapshot(user_folder)
    for name in ("notes.txt", "important.txt"):  # the user's, not the model's: kept as they were
        assert after[name] == before[name]
    assert (user_folder / "modules.json").exists() and not (user_folder / "checkpoints").exists()

    # the folder is now the package's: a second run needs no flag
    proc = cli("train", data, "--output", user_folder, "--epochs", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert snapshot(user_folder)["notes.txt"] == before["notes.txt"]


# ---- 12.2 an unrelated file as the dataset output -----------------------------------------


@pytest.mark.parametrize("generator", ["pseudo", "llm"])
def test_generate_refuses_an_unrelated_json_file(tmp_path, fake_openai, generator):
    (tmp_path / "package.json").write_text('{"name": "my-package", "version": "1.0"}')
    docs = write_docs(tmp_path / "docs")
    before = snapshot(tmp_path)
    server = fake_openai()
    proc = cli("generate", docs, "--output", tmp_path / "package.json",
               "--generator", generator, "--llm", "openai-like:m", "--api-base", server.url)  # fmt: skip
    assert_one_line_error(proc, 2, "package.json", "--overwrite")
    assert snapshot(tmp_path) == before
    assert server.completion_requests == 0


# ---- 12.3 same file names in two folders ---------------------------------------------------


def test_files_of_the_same_name_in_two_folders_both_arrive(tmp_path):
    for year in ("2020", "2021"):
        (tmp_path / "dup" / year).mkdir(parents=True)
        (tmp_path / "dup" / year / "report.txt").write_text(
            f"Revenue in {year} grew as riders returned to the platform in many cities. "
            f"The company expanded its bike program in {year} and hired more drivers."
        )
    proc = cli("generate", tmp_path / "dup", "--generator", "pseudo", "--num-questions", "1",
               "--output", tmp_path / "d.json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    ds = EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json")
    assert sorted(ds.corpus) == ["2020/report-0", "2021/report-0"]


# ---- 12.4 / 12.5 exit codes that tell the truth ---------------------------------------------


def test_openai_without_a_key_is_refused_before_any_work(tmp_path):
    docs = write_docs(tmp_path / "docs")
    before = snapshot(tmp_path)
    proc = cli("generate", docs, "--llm", "openai:gpt-4o-mini", "--output", tmp_path / "out.json")
    assert_one_line_error(proc, 2, "OPENAI_API_KEY", "--api-key")
    assert snapshot(tmp_path) == before  # no dataset, no journal


def test_an_unreachable_server_fails_with_one_line(tmp_path):
    proc = cli("generate", write_docs(tmp_path / "docs", n=2), "--llm", "openai-like:none",
               "--api-base", "http://127.0.0.1:9/v1", "--output", tmp_path / "fail.json")  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert err and "error:" in err[-1] and "127.0.0.1:9" in err[-1]
    assert sum("error" in line.lower() for line in err) == 1


def test_a_partial_run_exits_1_and_says_how_to_resume(tmp_path, fake_openai):
    # 400: the OpenAI client does not retry it itself, so each of the 4 attempts reaches us
    server = fake_openai(faults={"CHUNK-2": [400, 400, 400, 400]})
    docs = write_docs(tmp_path / "docs")
    argv = ["generate", docs, "--llm", "openai-like:m", "--api-base", server.url,
            "--output", tmp_path / "d.json"]  # fmt: skip
    proc = cli(*argv)
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "1 of 4 chunks got no questions" in last and "rerun the same command" in last
    assert "llamaindex-finetune generate" in last and "Traceback" not in proc.stderr
    assert len(EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json").corpus) == 3

    proc = cli(*argv)  # the command it printed: asks the failed chunk only
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert server.requests_per_key["CHUNK-2"] == 5 and server.requests_per_key["CHUNK-0"] == 1
    assert len(EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json").corpus) == 4


def test_a_rerun_with_other_inputs_does_not_merge_into_the_output(tmp_path, fake_openai):
    """Finding 12.4: a quick run into a full run's output used to train on both."""
    server = fake_openai()
    out = tmp_path / "merged.json"
    base = ["--llm", "openai-like:m", "--api-base", server.url, "--no-round-trip", "--output", out]
    proc = cli("generate", write_docs(tmp_path / "full", n=4), *base)
    assert proc.returncode == 0, proc.stderr[-2000:]
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("CHUNK-9: another company reported item 9 in 2022. " * 3)
    before = snapshot(tmp_path)
    proc = cli("generate", other, *base)
    # a refusal (issue 20.1: it was exit 1, where the README says refusals are 2)
    assert_one_line_error(proc, 2, "merged.json", "already holds 4 chunks", "--append")
    assert snapshot(tmp_path) == before

    proc = cli("generate", other, *base, "--append")  # said explicitly: both are kept
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(EmbeddingQAFinetuneDataset.from_json(out).corpus) == 5


# ---- 12.7 the user's umask -------------------------------------------------------------------


def test_files_are_written_with_the_users_umask(tmp_path):
    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    proc = cli("generate", write_docs(tmp_path / "docs"), "--generator", "pseudo",
               "--output", tmp_path / "d.json", umask=0o022)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert mode(tmp_path / "d.json") == 0o644

    data = small_dataset(tmp_path / "small.json")
    proc = cli("adapt", data, "--output", tmp_path / "ad", "--adapter-epochs", "1", umask=0o027)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {mode(p) for p in (tmp_path / "ad").iterdir()} == {0o640}

    proc = cli("evaluate", data, "--output-dir", tmp_path / "ev", umask=0o022)
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = [p for p in (tmp_path / "ev").rglob("*") if p.is_file()]
    assert files and {mode(p) for p in files} == {0o644}


# ---- 12.8 Ctrl-C ---------------------------------------------------------------------------


def test_ctrl_c_saves_says_so_in_one_line_and_exits_130(tmp_path, fake_openai):
    server = fake_openai(latency=0.5)
    docs = write_docs(tmp_path / "docs", n=12)
    out = tmp_path / "d.json"
    argv = [sys.executable, "-m", "llama_index.finetuning.cli", "generate", str(docs),
            "--llm", "openai-like:m", "--api-base", server.url, "--num-workers", "1",
            "--output", str(out)]  # fmt: skip
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
    asked = server.completion_requests

    proc = cli(*argv[3:])  # the same command resumes: no finished chunk is asked again
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert server.completion_requests < asked + 12
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
    proc = cli(*[a.format(**names) for a in argv], cwd=tmp_path)
    assert_one_line_error(proc, 2, *needles)
    assert snapshot(files) == before
    assert not (tmp_path / "run").exists()  # run checks every input before it makes its folder


def test_help_shows_defaults_and_verbose_and_version_work_anywhere():
    help_text = cli("generate", "--help").stdout
    assert "(default: 1024)" in help_text and "exit status:" in help_text
    for argv in (["-v", "generate", "--version"], ["generate", "-v", "--version"]):
        proc = cli(*argv)
        assert proc.returncode == 0 and proc.stdout.startswith("llamaindex-finetune")


# ---- the same guarantees in Python ---------------------------------------------------------


def test_engines_and_compare_refuse_a_users_folder_before_any_work(tmp_path, user_folder):
    from llama_index.core.embeddings import MockEmbedding

    from llama_index.finetuning import (
        EmbeddingAdapterFinetuneEngine,
        SentenceTransformersFinetuneEngine,
        compare,
    )
    from llama_index.finetuning.outputs import OutputExistsError

    before = snapshot(user_folder)
    data = EmbeddingQAFinetuneDataset.from_json(small_dataset(tmp_path / "d.json"))
    engines = [
        SentenceTransformersFinetuneEngine(data, model_id="offline", model_output_path=str(user_folder)),
        EmbeddingAdapterFinetuneEngine(data, MockEmbedding(embed_dim=8), model_output_path=str(user_folder)),
    ]  # fmt: skip
    for engine in engines:
        with pytest.raises(OutputExistsError, match="overwrite"):
            engine.finetune()
    with pytest.raises(OutputExistsError, match="overwrite"):
        compare(data, {"base": MockEmbedding(embed_dim=8)}, output_dir=user_folder)
    assert snapshot(user_folder) == before


def test_a_marker_being_written_by_another_process_is_not_a_users_file(tmp_path):
    """Under torchrun every rank checks the folder while rank 0 may be writing the marker."""
    from llama_index.finetuning.outputs import (
        MARKER,
        OutputExistsError,
        check_output_dir,
        check_scratch_dir,
    )

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / f".{MARKER}.k2j3h4.tmp").write_text("{")
    assert check_output_dir(folder) == folder
    assert check_scratch_dir(folder) == folder
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        check_output_dir(folder)
    with pytest.raises(OutputExistsError):
        check_scratch_dir(folder)
