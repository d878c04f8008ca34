"""The few-shot completion (``"few_shot"``): sent as a raw completion, one question a call; an
LLM given no prompt still gets the chat prompt (benchmarks/results/few_shot.md kept it the
default)."""

from __future__ import annotations

import pytest
from llama_index.core.schema import TextNode
from support.openai_server import default_answer, openai_llm

from llama_index.finetuning import generate_qa_embedding_pairs
from llama_index.finetuning.generation.completion import CompletionTemplate
from llama_index.finetuning.generation.parsing import resolve_prompt
from llama_index.finetuning.llms.local import LocalLLM, llamacpp_available

CHUNKS = [
    "CHUNK-1 The Amazon river is about 6,400 km long and carries more water than any other "
    "river, draining a basin of seven million square kilometres.",
    "CHUNK-2 Mount Kilimanjaro, in Tanzania, rises 5,895 metres above sea level; its glaciers "
    "have shrunk by more than 80% since 1912.",
]


def nodes():
    return [TextNode(id_=f"n{i}", text=t) for i, t in enumerate(CHUNKS)]


def test_a_chat_llm_is_sent_the_chat_prompt_by_default(fake_openai, tmp_path):
    prompts = []

    def answer(key, prompt, n):
        prompts.append(prompt)
        return default_answer(key, prompt, n)

    server = fake_openai(answer=answer)
    ds = generate_qa_embedding_pairs(
        nodes=nodes(), llm=openai_llm(server), output_path=None, quality_filter=False
    )
    assert len(prompts) == 2 and all("Using only the excerpt above" in p for p in prompts)
    assert not any("Query:" in p for p in prompts)
    assert len(ds.queries) == 4


def test_the_completion_asks_each_question_in_its_own_call_greedy_then_sampled(fake_openai):
    server = fake_openai(answer=lambda key, prompt, n: f" How long is {key}?\nDocument: next")
    ds, report = generate_qa_embedding_pairs(
        nodes=nodes(), llm=openai_llm(server), output_path=None, quality_filter=False,
        qa_generate_prompt_tmpl="few_shot", num_questions_per_chunk=2, return_report=True,
        num_workers=1,
    )  # fmt: skip
    assert report.llm_calls == 4 and server.temperatures == [0.0, 0.8, 0.0, 0.8]
    # each answer is cut at its line; the two calls' equal questions are kept once
    assert sorted(ds.queries.values()) == ["How long is CHUNK-1?", "How long is CHUNK-2?"]


def test_the_completion_refuses_a_follow_up_and_a_template_without_the_chunk(fake_openai):
    with pytest.raises(ValueError, match="follow_up"):
        generate_qa_embedding_pairs(
            nodes=nodes(), llm=openai_llm(fake_openai()), output_path=None,
            qa_generate_prompt_tmpl="few_shot", follow_up=True,
        )  # fmt: skip
    with pytest.raises(ValueError, match="context_str"):
        resolve_prompt(CompletionTemplate("Document: ...\nQuery:"))


@pytest.mark.skipif(not llamacpp_available(), reason="needs the xllamacpp binding")
def test_the_bundled_writer_writes_questions_through_the_completion(tmp_path):
    llm = LocalLLM(runtime="llamacpp", n_parallel=2)
    ds, report = generate_qa_embedding_pairs(
        nodes=nodes(), llm=llm, output_path=tmp_path / "pairs.json", num_questions_per_chunk=2,
        qa_generate_prompt_tmpl="few_shot", return_report=True, show_progress=False,
        num_workers=2,
    )  # fmt: skip
    llm.close()
    assert report.llm_calls == 4  # two completions a chunk, not one chat answer
    assert ds.queries, "the bundled writer kept no question"
    examples = ("northwind", "orbis", "kestrel", "penhallow")
    for qid, question in ds.queries.items():
        assert question.endswith("?") and not any(w in question.lower() for w in examples)
        assert ds.relevant_docs[qid][0] in ds.corpus
