"""The tutorials as scripts run as written, on a few chunks, with the bundled local LLM."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SHARED_DATA

pytestmark = pytest.mark.skipif(
    not (SHARED_DATA / "lyft_2021.pdf").exists(), reason="the tutorial PDFs are not in ../shared"
)


def run_example(name: str, out: Path) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("OPENAI_API_KEY", None)  # the local LLM line
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / name),
            "--max-chunks",
            "4",
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_finetune_embedding_tutorial(tmp_path):
    stdout = run_example("finetune_embedding.py", tmp_path)
    assert "| base" in stdout and "| finetuned" in stdout
    assert (tmp_path / "test_model" / "modules.json").exists()
    assert (tmp_path / "train_dataset.json").exists() and (tmp_path / "val_dataset.json").exists()
    assert any(p.suffix == ".png" for p in (tmp_path / "report").iterdir())


def test_finetune_embedding_adapter_tutorial(tmp_path):
    stdout = run_example("finetune_embedding_adapter.py", tmp_path)
    for row in ("| base", "| linear", "| two-layer", "| custom"):
        assert row in stdout
    for folder in ("model_output_test", "model5_output_test", "custom_model_output"):
        assert (tmp_path / folder / "model.safetensors").exists()
