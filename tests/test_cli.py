"""The console script: subcommands end to end on small inputs, and one-line errors."""

from __future__ import annotations

import json

import pytest

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.cli import main


def write_docs(folder, n=4):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(
            f"CHUNK-{i}: the company reported item {i} in 2021. " * 5
        )
    return folder


def test_generate_through_an_openai_compatible_server(fake_openai, tmp_path, capsys):
    server = fake_openai()
    out = tmp_path / "pairs.json"
    code = main(
        [
            "generate",
            str(write_docs(tmp_path / "docs")),
            "--output",
            str(out),
            "--llm",
            "openai-like:any-model-name",
            "--api-base",
            server.url,
            "--api-key",
            "k",
        ]
    )
    assert code == 0
    ds = EmbeddingQAFinetuneDataset.from_json(out)
    assert len(ds.corpus) == 4 and len(ds) == 8
    assert server.completion_requests == 4
    assert "8 questions over 4 chunks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "no/such/file.pdf"], "no/such/file.pdf: no such file or folder"),
        (["generate", "{docs}", "--llm", "claude"], "unknown --llm 'claude'"),
        (["generate", "{docs}", "--llm", "openai-like:m"], "needs --api-base"),
        (["train", "missing.json"], "dataset 'missing.json' does not exist"),
        (["evaluate", "{dataset}", "--model", "x=local:/no/such/model"], "/no/such/model"),
        (["evaluate", "{dataset}", "--model", "nonsense"], "use NAME=SPEC"),
        (
            ["evaluate", "{dataset}", "--model", "x=no/such-model"],
            "'no/such-model': no such folder",
        ),
        (["train", "{dataset}", "--model", "local:no/such-model"], "no/such-model"),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # default outputs land here, not in the checkout
    docs = write_docs(tmp_path / "docs")
    dataset = tmp_path / "d.json"
    dataset.write_text(
        json.dumps({"queries": {"q": "x?"}, "corpus": {"c": "y"}, "relevant_docs": {"q": ["c"]}})
    )
    argv = [a.format(docs=docs, dataset=dataset) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_max_chunks_samples_each_file_and_the_sample_is_recorded(fake_openai, tmp_path, capsys):
    server = fake_openai()
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a", "b"):
        (docs / f"{name}.txt").write_text(
            " ".join(f"CHUNK-{i}: {name} reported item {i} in 2021." for i in range(60))
        )
    argv = ["generate", str(docs), "--max-chunks", "2", "--chunk-size", "64",
            "--chunk-overlap", "0", "--llm", "openai-like:m", "--api-base", server.url,
            "--output", str(tmp_path / "d.json")]  # fmt: skip
    assert main(argv) == 0
    ids = sorted(EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json").corpus)
    assert [i.split("-")[0] for i in ids] == ["a", "a", "b", "b"]  # 2 per file, not 2 in all


def test_evaluate_writes_table_png_and_json(tmp_path, capsys):
    ds = EmbeddingQAFinetuneDataset(
        queries={"q1": "What was revenue in 2021?", "q2": "Who is the chief executive?"},
        corpus={"c1": "Revenue was $3.2 billion in 2021.", "c2": "Logan Green is the CEO."},
        relevant_docs={"q1": ["c1"], "q2": ["c2"]},
    )
    ds.save_json(tmp_path / "val.json")
    out = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "val.json"),
                "--model",
                "base=offline",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    assert "hit_rate@1" in capsys.readouterr().out
    assert any(p.suffix == ".png" for p in out.iterdir())
    assert any(p.suffix == ".json" for p in out.iterdir())


def test_run_from_files_to_comparison_in_a_subprocess(fake_openai, tmp_path):
    """`llamaindex-finetune run` as a user runs it: every artefact written, a quiet terminal."""
    import os
    import subprocess
    import sys

    server = fake_openai()
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "llama_index.finetuning.cli", "run",
            "--train", str(write_docs(tmp_path / "train")),
            "--val", str(write_docs(tmp_path / "val")),
            "--llm", "openai-like:any-model", "--api-base", server.url, "--api-key", "k",
            "--output-dir", str(out)]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]

    assert server.completion_requests == 8  # 4 train + 4 validation chunks, each asked once
    assert (out / "finetuned_model" / "modules.json").exists()
    assert (
        "Finetuned with llama-index-finetuning-embeddings"
        in (out / "finetuned_model" / "README.md").read_text()
    )
    assert {p.name for p in (out / "adapter").iterdir()} >= {"config.json", "model.safetensors"}
    table = json.loads((out / "report" / "comparison.json").read_text())["table"]
    assert list(table) == ["base", "finetuned", "adapter"]
    assert "| finetuned |" in proc.stdout and "total time:" in proc.stdout
    assert "[6/6" in proc.stderr  # the stage lines

    # Honest numbers: the report part of the val pairs chose nothing (issue 13.1).
    select = EmbeddingQAFinetuneDataset.from_json(out / "val_select.json")
    report = EmbeddingQAFinetuneDataset.from_json(out / "val_report.json")
    answers = lambda d: {c for docs in d.relevant_docs.values() for c in docs}  # noqa: E731
    assert answers(select) and answers(report) and not answers(select) & answers(report)
    assert select.corpus == report.corpus  # both search every val chunk
    record = json.loads((out / "run.json").read_text())
    assert record["sets"]["report"]["chunks"] == sorted(answers(report))
    assert record["chunks"]["train"] and record["seed"] == 0
    base = json.loads((out / "report" / "comparison.json").read_text())["models"]["base"]
    assert base["info"]["n_queries"] == len(report)  # the table is the report part's
    assert "REPORT: " in proc.stdout and "selection questions" in proc.stdout
    assert (out / "report_selection" / "comparison.json").exists()
    assert "Loading weights" not in proc.stderr  # library bars are silenced without -v
