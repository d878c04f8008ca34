"""The engine, unchanged, under ``torchrun --nproc_per_node 2`` on CPU (gloo)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from support.st_data import small_dataset

# The user's script: nothing in it knows about processes.
SCRIPT = """
import json, os, sys
sys.path.insert(0, {tests!r})
from support.st_data import small_dataset
from llama_index.finetuning import SentenceTransformersFinetuneEngine

engine = SentenceTransformersFinetuneEngine(
    small_dataset(8), model_id="offline", model_output_path=sys.argv[1],
    batch_size=4, epochs=1, show_progress_bar=False,
)
engine.finetune()

import torch.distributed as dist
print("RESULT " + json.dumps({{
    "rank": int(os.environ["RANK"]),
    "world": dist.get_world_size(),
    "backend": dist.get_backend(),
    "steps": engine.log_history[-1]["step"],
}}), flush=True)
"""


def test_two_cpu_processes_train_one_model(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    out = tmp_path / "ddp_model"
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the two ranks share one stdout: a line of one can land inside the other's line
    found = re.findall(r"RESULT (\{[^}]*\})", proc.stdout)
    results = sorted((json.loads(r) for r in found), key=lambda r: r["rank"])
    assert [r["rank"] for r in results] == [0, 1]
    assert all(r["world"] == 2 and r["backend"] == "gloo" for r in results)
    # 16 pairs, 4 per batch per process, 2 processes: 2 optimiser steps, not 4
    pairs = len(small_dataset(8).queries)
    assert all(r["steps"] == pairs // (4 * 2) for r in results)

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(out), device="cpu")
    assert model.encode(["a question"]).shape == (1, 384)
    assert "| processes (data parallel) | 2 |" in (out / "README.md").read_text()
    assert not (out / "checkpoints").exists()
