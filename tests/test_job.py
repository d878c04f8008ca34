"""``FinetuneJob(...).run()``: the whole job from Python, the same as ``llamaindex-finetune
run``: the same sets, folders, run.json and report, returned as a ``JobResult``."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from support.small_inputs import fast_run, question_set, write_prose

from llama_index.finetuning import (
    EmbeddingQAFinetuneDataset,
    FinetuneJob,
    FinetuneResult,
    IncompleteResult,
    JobResult,
    SettingError,
)
from llama_index.finetuning.cli import main

FAST = {"generator": "pseudo", "num_questions": 1, "epochs": 1, "adapter_epochs": 1}


def test_the_job_returns_its_sets_folders_and_report_and_agrees_with_the_cli(tmp_path, capsys):
    train_set = question_set(tmp_path / "train_questions.json", n=8, prefix="train")
    test_set = EmbeddingQAFinetuneDataset.from_json(question_set(tmp_path / "my_questions.json"))
    val_docs = write_prose(tmp_path / "val")
    out = tmp_path / "job"

    result = FinetuneJob(train_set, [val_docs], test=test_set, output_dir=out, **FAST).run()

    assert isinstance(result, JobResult)
    assert len(result.train) == 8 and result.report_set is test_set
    assert len(result.selection) == len(
        EmbeddingQAFinetuneDataset.from_json(out / "val_dataset.json")
    )
    assert result.model_dir == out / "finetuned_model" and result.model_dir.is_dir()
    assert result.adapter_dir == out / "adapter" and result.adapter_dir.is_dir()
    # what each engine's finetune() returned: the result it saved with the model
    for returned, folder in (
        (result.model_result, "finetuned_model"),
        (result.adapter_result, "adapter"),
    ):
        saved = FinetuneResult.load(out / folder)
        assert {**asdict(returned), "output_path": None} == {**asdict(saved), "output_path": None}
    assert result.record == json.loads((out / "run.json").read_text())
    assert result.record["sets"]["report"]["queries"] == 6
    assert len(result.seconds) == 7 and all(s >= 0 for s in result.seconds.values())  # val, test: 3
    table = result.report.to_markdown()
    assert "| base" in table and "| finetuned" in table and "| adapter" in table
    assert table in result._repr_markdown_() and result.verdict in str(result)
    assert result.verdict.startswith(("saved local:", "warning: the report set is too small"))
    assert json.loads((out / "report" / "comparison.json").read_text())
    capsys.readouterr()

    # the command line, on the same inputs: the same chunks, sets and base scores
    test_path = question_set(tmp_path / "my_questions_cli.json")
    cli_out = tmp_path / "cli"
    argv = fast_run("--train", tmp_path / "train_questions.json", "--val", val_docs,
                              "--test", test_path, "-o", cli_out)  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == result.verdict.replace(
        str(out), str(cli_out)
    )
    record = json.loads((cli_out / "run.json").read_text())
    assert record["chunks"] == result.record["chunks"]
    for part in ("selection", "report"):
        for key in ("queries", "chunks", "searched_among"):
            assert record["sets"][part][key] == result.record["sets"][part][key]
    base = lambda folder: json.loads((folder / "report" / "comparison.json").read_text())[  # noqa: E731
        "models"
    ]["base"]["summary"]
    assert base(cli_out) == base(out)


def test_a_bad_setting_is_refused_before_any_work_in_python_words(tmp_path):
    docs = write_prose(tmp_path / "docs")
    out = tmp_path / "out"
    job = FinetuneJob([docs], [docs], output_dir=out, report_fraction=1.5, **FAST)
    with pytest.raises(SettingError, match="^report_fraction must be between 0 and 1"):
        job.run()
    assert not out.exists()
    with pytest.raises(SettingError, match="adapter must be one of"):
        FinetuneJob([docs], [docs], adapter="three-layer")
    assert issubclass(IncompleteResult, RuntimeError)
