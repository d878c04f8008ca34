"""Run the real command line in a subprocess, and check what a user sees and keeps.

Example::

    proc = cli("generate", "missing.pdf")
    assert_one_line_error(proc, 2, "missing.pdf")
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
