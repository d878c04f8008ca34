"""Models that travel: a finetuned model and an adapter go up to a Hub (a stand-in for its
HTTP API on 127.0.0.1, tests/support/hub_server.py) with their cards and nothing private, and come
back by repo id in a fresh process with an empty cache, giving the same vectors. An adapter
also applies to plain numpy vectors, as AdapterEmbeddingModel does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support.hub_server import FakeHubServer
from support.openai_server import FakeOpenAIServer
from support.st_data import small_dataset

from llama_index.embeddings.adapter import AdapterEmbeddingModel, TwoLayerNN, load_adapter
from llama_index.finetuning import (
    EmbeddingAdapterFinetuneEngine,
    SentenceTransformersFinetuneEngine,
)
from llama_index.finetuning.embeddings.hub import hub_files, stage_for_hub
from llama_index.finetuning.embeddings.model_card import BEGIN, END

QUERIES = ["What was the revenue in fiscal 2023?", "How many active riders were there?"]


@pytest.fixture(scope="module")
def openai_server():
    with FakeOpenAIServer() as server:
        yield server


def api_model(server):
    from llama_index.embeddings.openai import OpenAIEmbedding

    return OpenAIEmbedding(
        model="text-embedding-3-small", api_base=server.url, api_key="test", max_retries=0
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, openai_server):
    """A finetuned model folder and an adapter folder, as finetune() leaves them."""
    root = tmp_path_factory.mktemp("hub")
    ds = small_dataset(n_chunks=4)
    model = SentenceTransformersFinetuneEngine(
        ds, model_output_path=str(root / "small_model"), batch_size=4, epochs=1,
        hard_negatives=0, show_progress_bar=False, device="cpu",
    )  # fmt: skip
    model.finetune()
    adapter = EmbeddingAdapterFinetuneEngine(
        ds, api_model(openai_server), model_output_path=str(root / "adapter"),
        cache_dir=root / "cache", epochs=3, adapter_model=TwoLayerNN(64, 32, 64, bias=True),
        optimizer_params={"lr": 3e-2}, val_dataset=ds,
    )  # fmt: skip
    adapter.finetune()
    return model, adapter


@pytest.fixture
def hub(monkeypatch):
    """The stand-in, with this process's huggingface_hub pointed at it (uploads only: the
    download URLs are fixed at import, so downloads run in a fresh process)."""
    from huggingface_hub import constants

    with FakeHubServer() as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_TOKEN", "hf_test")
        yield server


def fresh_process(hub: FakeHubServer, tmp_path, code: str) -> dict:
    """Run ``code`` (which prints one JSON line) in a new interpreter with an empty Hugging
    Face cache and the Hub at ``hub``."""
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_model_and_an_adapter_go_up_with_their_cards_and_come_back_by_repo_id(
    trained, hub, openai_server, tmp_path
):
    model_engine, adapter_engine = trained
    url = model_engine.push_to_hub("me/small-model")
    assert url.startswith(f"{hub.url}/me/small-model/commit/")
    assert hub.commits[-1][1] == "Add new SentenceTransformer model"  # its own push_to_hub
    uploaded = hub.repos["me/small-model"]
    assert sorted(uploaded) == hub_files(model_engine.model_output_path)
    assert "model.safetensors" in uploaded and "modules.json" in uploaded
    assert not [p for p in uploaded if p.startswith((".", "checkpoints/"))]
    card = uploaded["README.md"].decode()
    # this package's section first, then the card sentence-transformers wrote
    assert card.index(BEGIN) < card.index(END) < card.index("\n# SentenceTransformer")
    assert 'HuggingFaceEmbedding(model_name="me/small-model")  # from the Hub' in card

    adapter_engine.push_to_hub("me/adapter")
    uploaded = hub.repos["me/adapter"]
    assert sorted(uploaded) == sorted(
        ["README.md", "base_model.json", "config.json", "finetune_settings.json",
         "model.safetensors"]
    )  # fmt: skip
    assert json.loads(uploaded["base_model.json"])["model_name"] == "text-embedding-3-small"
    card = uploaded["README.md"].decode()
    assert 'AdapterEmbeddingModel(base, "me/adapter")  # from the Hub' in card

    base = api_model(openai_server)
    local_model = model_engine.get_finetuned_model().get_query_embedding(QUERIES[0])
    local_adapter = AdapterEmbeddingModel(base, adapter_engine.model_output_path)
    local_vectors = local_adapter.get_query_embedding_batch(QUERIES)
    # another user: a fresh process with an empty cache, by repo id only
    code = (
        "import json\n"
        "import numpy as np\n"
        "from llama_index.embeddings.adapter import AdapterEmbeddingModel, load_adapter\n"
        "from llama_index.embeddings.huggingface import HuggingFaceEmbedding\n"
        "from llama_index.embeddings.openai import OpenAIEmbedding\n"
        "model = HuggingFaceEmbedding(model_name='me/small-model', device='cpu')\n"
        f"base = OpenAIEmbedding(model='text-embedding-3-small', api_base={openai_server.url!r},"
        " api_key='test', max_retries=0)\n"
        "adapted = AdapterEmbeddingModel(base, 'me/adapter', strict=True)\n"
        f"queries = {QUERIES!r}\n"
        "plain = load_adapter('me/adapter').transform(\n"
        "    np.array([base.get_query_embedding(q) for q in queries]))\n"
        "print(json.dumps({'model': model.get_query_embedding(queries[0]),\n"
        "                  'adapter': adapted.get_query_embedding_batch(queries),\n"
        "                  'plain': plain.tolist()}))\n"
    )
    again = fresh_process(hub, tmp_path, code)
    np.testing.assert_allclose(again["model"], local_model, atol=1e-5)
    assert again["adapter"] == again["plain"] == local_vectors  # the same weights, exactly


def test_the_staged_folder_is_what_a_push_uploads_and_loads_back(trained, tmp_path):
    """Without a Hub at all: the folder a push would upload, and it loads as the model."""
    from sentence_transformers import SentenceTransformer

    engine, _ = trained
    staged = stage_for_hub(engine.model_output_path, tmp_path / "upload", "me/small-model")
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == hub_files(engine.model_output_path)
    original = (engine.model_output_path + "/README.md", staged / "README.md")
    assert "# this folder" in open(original[0]).read()  # the user's card is not edited
    assert "# this folder" not in original[1].read_text()
    local = SentenceTransformer(engine.model_output_path, device="cpu").encode(QUERIES[0])
    again = SentenceTransformer(str(staged), device="cpu").encode(QUERIES[0])
    np.testing.assert_array_equal(again, local)


def test_transform_gives_adapter_embedding_models_vectors_exactly(trained, openai_server):
    _, engine = trained
    base = api_model(openai_server)
    model = AdapterEmbeddingModel(base, engine.model_output_path)
    adapter = load_adapter(engine.model_output_path)
    base_vectors = np.array([base.get_query_embedding(q) for q in QUERIES])

    batch = adapter.transform(base_vectors)
    assert batch.shape == (2, 64) and batch.dtype == np.float32
    assert not np.allclose(batch, base_vectors, atol=1e-3)  # the adapter did something
    assert batch.tolist() == model.get_query_embedding_batch(QUERIES)
    assert adapter.transform(base_vectors[0]).tolist() == model.get_query_embedding(QUERIES[0])
    with pytest.raises(ValueError, match="takes 64-dim embeddings, got 384-dim"):
        adapter.transform(np.zeros(384))


def test_an_adapter_id_neither_a_folder_nor_cached_offline_is_one_clear_error():
    with pytest.raises(
        FileNotFoundError, match="no folder 'nobody/no-such-adapter'.*not in the cache"
    ):
        load_adapter("nobody/no-such-adapter")
    with pytest.raises(FileNotFoundError, match="no folder 'runs--1/adapter'"):
        load_adapter("runs--1/adapter")  # not a valid repo id either: the same one error


def test_a_push_refuses_what_others_could_not_use_before_any_upload(tmp_path):
    from llama_index.embeddings.adapter.hub import push_adapter_to_hub
    from llama_index.finetuning.embeddings.hub import push_to_hub

    bare = tmp_path / "bare_adapter"
    TwoLayerNN(8, 4, 8).save(bare)  # weights and config, but no record of its base model
    with pytest.raises(FileNotFoundError, match="no base_model.json"):
        push_adapter_to_hub(bare, "me/bare")  # raises before any request (HF_HUB_OFFLINE=1 here)
    (tmp_path / "notes").mkdir()
    with pytest.raises(FileNotFoundError, match="neither a finetuned model .* nor an adapter"):
        push_to_hub(tmp_path / "notes", "me/notes")


def test_the_command_line_takes_an_adapter_by_repo_id_and_says_when_it_cannot(tmp_path, capsys):
    from llama_index.finetuning.cli import main

    dataset = tmp_path / "d.json"
    dataset.write_text(
        json.dumps({"queries": {"q": "x?"}, "corpus": {"c": "y"}, "relevant_docs": {"q": ["c"]}})
    )
    argv = ["evaluate", str(dataset), "--model", "x=adapter:nobody/no-such-adapter"]
    assert main([*argv, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "'nobody/no-such-adapter' is not in the cache" in err and len(err.splitlines()) == 1
