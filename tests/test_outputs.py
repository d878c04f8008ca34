"""Claiming an output folder, the one way every writer takes one (both engines, ``compare``,
the command line): a folder that is not ours, ours of another kind, or being written by
another run is refused; a run that fails before writing anything leaves no folder behind; a
run that wrote something keeps it.

Real engines against a local OpenAI-compatible embedding server (the outside party, stopped
to make it fail); real processes for the lock.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset
from llama_index.finetuning.output_lock import OutputLockedError, claimed_output, output_lock
from llama_index.finetuning.outputs import MARKER, OutputExistsError


def pairs(n: int = 6) -> EmbeddingQAFinetuneDataset:
    return EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"What happened to item {i} in CHUNK-{i}?" for i in range(n)},
        corpus={f"c{i}": f"CHUNK-{i}: item {i} grew in 2021." for i in range(n)},
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(n)},
    )


def embed_model(server):
    from llama_index.embeddings.openai import OpenAIEmbedding

    return OpenAIEmbedding(
        model="text-embedding-3-small", api_base=server.url, api_key="test", max_retries=0
    )


def adapter_engine(server, out, tmp_path) -> EmbeddingAdapterFinetuneEngine:
    return EmbeddingAdapterFinetuneEngine(
        pairs(), embed_model(server), model_output_path=str(out), epochs=1,
        cache_dir=tmp_path / "cache", holdout=0,
    )  # fmt: skip


def test_an_engine_that_fails_before_writing_leaves_no_folder_and_no_lock(fake_openai, tmp_path):
    server = fake_openai()
    out = tmp_path / "adapter"
    engine = adapter_engine(server, out, tmp_path)
    server.stop()  # the embedding API is down: the run fails while embedding
    with pytest.raises(Exception):  # noqa: B017  the client's own connection error
        engine.finetune()
    assert not out.exists()
    assert not list(tmp_path.glob(".*.lock"))


def test_a_folder_the_user_made_stays_when_the_run_fails(fake_openai, tmp_path):
    server = fake_openai()
    out = tmp_path / "adapter"
    out.mkdir()
    engine = adapter_engine(server, out, tmp_path)
    server.stop()
    with pytest.raises(Exception):  # noqa: B017
        engine.finetune()
    assert out.is_dir()


def test_a_run_that_wrote_something_keeps_it_when_it_fails(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), claimed_output(out, "run") as folder:
        (folder / "train_dataset.json").write_text("{}")
        raise KeyboardInterrupt
    assert (out / "train_dataset.json").exists()


def test_an_engine_is_refused_an_output_another_run_is_writing(fake_openai, tmp_path):
    out = tmp_path / "adapter"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from llama_index.finetuning.output_lock import output_lock; "
         f"output_lock({str(out)!r}, command='the other run').acquire(); print('held', flush=True); "
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        engine = adapter_engine(fake_openai(), out, tmp_path)
        with pytest.raises(OutputLockedError, match=f"pid {holder.pid}: the other run"):
            engine.finetune()
    finally:
        holder.kill()
        holder.wait()
    assert not (out / MARKER).exists()  # nothing of this run was written


def test_an_engine_inside_a_command_holding_the_lock_is_not_refused(fake_openai, tmp_path):
    out = tmp_path / "adapter"
    with output_lock(out, command="llamaindex-finetune adapt ..."):
        result = adapter_engine(fake_openai(), out, tmp_path).finetune()
    assert (out / "model.safetensors").exists()
    assert result.output_path == str(out)
    assert not list(tmp_path.glob(".*.lock"))


def test_an_output_of_another_kind_is_refused_unless_overwrite(tmp_path):
    with claimed_output(tmp_path / "out", "adapter"):
        pass
    with pytest.raises(OutputExistsError, match="holds this package's adapter, not a report"):
        with claimed_output(tmp_path / "out", "report"):
            pass
    with claimed_output(tmp_path / "out", "report", overwrite=True):
        pass
