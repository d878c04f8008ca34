"""The tutorials as scripts run as written, every step, on a tiny input, with the bundled LLM.

They test that the examples run, not how well they train: two pages of each PDF, small
chunks, one question a chunk, one epoch. The questions are written once: whichever tutorial
runs first asks the LLM, the other resumes from its journal (the scripts' documented rerun).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO, SHARED_DATA

pytestmark = [
    pytest.mark.skipif(
        not (SHARED_DATA / "lyft_2021.pdf").exists(),
        reason="the tutorial PDFs are not in ../shared",
    ),
    pytest.mark.xdist_group("tutorials"),  # one worker runs both, so they share the questions
]

TINY = ["--max-pages", "2", "--chunk-size", "128", "--max-chunks", "3"]
TINY += ["--num-questions", "1", "--epochs", "1"]
JOURNALS = ["train_dataset.json.journal.jsonl", "val_dataset.json.journal.jsonl"]


@pytest.fixture(scope="module")
def questions(tmp_path_factory) -> Path:
    """The journals of the first tutorial run, for the next one to resume from (the datasets
    themselves are written by each run)."""
    return tmp_path_factory.mktemp("tutorial_questions")


def run_example(name: str, out: Path, questions: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    for file in questions.iterdir():
        shutil.copy(file, out / file.name)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("OPENAI_API_KEY", None)  # the local LLM line
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *TINY, "--output-dir", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for file in JOURNALS:
        shutil.copy(out / file, questions / file)
    return proc.stdout


def test_finetune_embedding_tutorial(tmp_path, questions):
    stdout = run_example("finetune_embedding.py", tmp_path, questions)
    assert "| base" in stdout and "| finetuned" in stdout
    assert (tmp_path / "test_model" / "modules.json").exists()
    assert (tmp_path / "train_dataset.json").exists() and (tmp_path / "val_dataset.json").exists()
    assert any(p.suffix == ".png" for p in (tmp_path / "report").iterdir())


def test_finetune_embedding_adapter_tutorial(tmp_path, questions):
    stdout = run_example("finetune_embedding_adapter.py", tmp_path, questions)
    for row in ("| base", "| linear", "| two-layer", "| custom"):
        assert row in stdout
    for folder in ("model_output_test", "model5_output_test", "custom_model_output"):
        assert (tmp_path / folder / "model.safetensors").exists()
