"""generate_qa_embedding_pairs against a real HTTP server: concurrency, retries, resume."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from llama_index.llms.openai import OpenAI
from support.cli_proc import default_sigint
from support.openai_server import default_answer, make_nodes, openai_llm

from llama_index.finetuning import (
    EmbeddingQAFinetuneDataset,
    OutputExistsError,
    generate_qa_embedding_pairs,
)
from llama_index.finetuning.generation import (
    GenerationError,
    GenerationWarning,
    ShortfallWarning,
    agenerate_qa_embedding_pairs,
)
from llama_index.finetuning.generation.journal import Journal

FAST = {"backoff_base": 0.01, "show_progress": False}


def keys_of(ds: EmbeddingQAFinetuneDataset) -> dict[str, list[str]]:
    """node id -> its questions, in order."""
    out: dict[str, list[str]] = {}
    for qid, docs in ds.relevant_docs.items():
        out.setdefault(docs[0], []).append(ds.queries[qid])
    return out


def test_keyword_and_positional_calls_build_the_dataset(fake_openai, tmp_path):
    server = fake_openai()
    llm, nodes = openai_llm(server), make_nodes(3)
    by_kw = generate_qa_embedding_pairs(
        llm=llm, nodes=nodes, output_path=tmp_path / "a.json", **FAST
    )
    positional = generate_qa_embedding_pairs(nodes, llm, output_path=tmp_path / "b.json", **FAST)
    old_order = generate_qa_embedding_pairs(llm, nodes, output_path=tmp_path / "c.json", **FAST)
    assert by_kw == positional == old_order  # stable ids: same nodes, same ids
    assert len(by_kw) == 6 and set(by_kw.corpus) == {"node-0", "node-1", "node-2"}
    assert keys_of(by_kw)["node-1"] == [
        "What does CHUNK-1 state about item 1?",
        "What does CHUNK-1 state about item 2?",
    ]
    assert EmbeddingQAFinetuneDataset.from_json(tmp_path / "a.json") == by_kw
    kept = Journal.for_output(tmp_path / "a.json").load()  # raw questions stay for a rerun
    assert set(kept) == set(by_kw.corpus) and all(e.fingerprint for e in kept.values())


def test_calls_run_concurrently_up_to_num_workers(fake_openai, tmp_path):
    server = fake_openai(latency=1.0)  # long enough that all 8 are open at once on a busy CI box
    generate_qa_embedding_pairs(
        nodes=make_nodes(16), llm=openai_llm(server), num_workers=8, output_path=None, **FAST
    )
    assert server.max_in_flight == 8
    assert server.completion_requests == 16


def test_429_500_malformed_and_empty_answers_are_retried(fake_openai):
    faults = {
        "CHUNK-1": [429, 429],
        "CHUNK-2": [500],
        "CHUNK-3": ["malformed"],
        "CHUNK-4": ["empty"],
    }
    server = fake_openai(faults=faults)
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(6), llm=openai_llm(server), output_path=None, return_report=True, **FAST
    )
    assert len(ds.corpus) == 6 and report.failed == 0
    assert server.requests_per_key["CHUNK-1"] == 3
    assert server.requests_per_key["CHUNK-2"] == 2
    assert server.requests_per_key["CHUNK-3"] == 2
    assert server.requests_per_key["CHUNK-4"] == 2
    assert server.requests_per_key["CHUNK-0"] == 1


def test_a_model_that_repeats_an_answer_without_questions_is_not_asked_a_third_time(
    fake_openai,
):
    def greedy(key: str, prompt: str, n: int) -> str:
        """A deterministic model: CHUNK-1 always gets the same answer with no question."""
        return (
            "A: the company reported its results."
            if key == "CHUNK-1"
            else default_answer(key, prompt, n)
        )

    server = fake_openai(answer=greedy, faults={"CHUNK-2": ["empty"]})
    with pytest.warns(GenerationWarning, match="1 got answers with no question"):
        ds, report = generate_qa_embedding_pairs(
            nodes=make_nodes(3), llm=openai_llm(server), output_path=None, return_report=True,
            retry_limit=3, **FAST,
        )  # fmt: skip
    # the LLM worked: the chunk is counted apart, not as a failure that fails the run
    assert report.unanswered == 1 and report.failed == 0 and len(ds.corpus) == 2
    assert server.requests_per_key["CHUNK-1"] == 2  # the repeat shows that retrying is futile
    assert server.requests_per_key["CHUNK-2"] == 2  # a different answer is still retried


def test_answers_that_never_hold_a_question_end_in_an_error_not_an_empty_dataset(
    fake_openai, tmp_path
):
    """Every chunk answered, none with a question: nothing the user asked for was made."""
    server = fake_openai(answer=lambda key, prompt, n: "Sure! Here are the questions:")
    out = tmp_path / "train.json"
    with pytest.raises(GenerationError, match=r"every answer .* held no question \(2 chunks\)"):
        generate_qa_embedding_pairs(
            nodes=make_nodes(2), llm=openai_llm(server), output_path=out, retry_limit=1, **FAST
        )
    assert not out.exists()


def test_a_call_that_hangs_times_out_and_is_retried(fake_openai):
    server = fake_openai(faults={"CHUNK-0": ["hang"]}, hang_seconds=5)
    ds = generate_qa_embedding_pairs(
        nodes=make_nodes(2), llm=openai_llm(server), output_path=None, request_timeout=0.5, **FAST
    )
    assert len(ds.corpus) == 2 and server.requests_per_key["CHUNK-0"] == 2


def test_failed_chunks_are_counted_kept_out_and_retried_next_run(fake_openai, tmp_path):
    server = fake_openai(faults={"CHUNK-2": [500, 500, 500]})
    out = tmp_path / "train.json"
    with pytest.warns(ShortfallWarning, match="1 of 4 chunks failed"):
        ds, report = generate_qa_embedding_pairs(
            nodes=make_nodes(4),
            llm=openai_llm(server),
            output_path=out,
            retry_limit=2,
            return_report=True,
            **FAST,
        )
    assert report.failed == 1 and report.failed_node_ids == ["node-2"]
    assert "node-2" not in ds.corpus and len(ds.corpus) == 3
    again, report2 = generate_qa_embedding_pairs(
        nodes=make_nodes(4), llm=openai_llm(server), output_path=out, return_report=True, **FAST
    )
    assert report2.resumed == 3 and report2.generated == 1 and len(again.corpus) == 4
    assert server.requests_per_key["CHUNK-0"] == 1  # done chunks were not asked again


def test_on_failure_fail_raises_naming_the_chunk_and_keeps_finished_work(fake_openai, tmp_path):
    server = fake_openai(faults={"CHUNK-5": [500, 500]})
    out = tmp_path / "train.json"
    with pytest.raises(RuntimeError, match="'node-5'"):
        generate_qa_embedding_pairs(
            nodes=make_nodes(6),
            llm=openai_llm(server),
            output_path=out,
            retry_limit=1,
            on_failure="fail",
            num_workers=1,
            **FAST,
        )
    assert set(Journal.for_output(out).load()) == {f"node-{i}" for i in range(5)}
    ds = generate_qa_embedding_pairs(
        nodes=make_nodes(6), llm=openai_llm(server), output_path=out, **FAST
    )
    assert len(ds.corpus) == 6
    assert all(server.requests_per_key[f"CHUNK-{i}"] == 1 for i in range(5))


def test_fewer_questions_than_asked_is_a_warning_and_a_count(fake_openai):
    server = fake_openai(answer=lambda key, prompt, n: f"1. Only one question about {key}?")
    with pytest.warns(GenerationWarning, match="3 got fewer than 2"):
        ds, report = generate_qa_embedding_pairs(
            nodes=make_nodes(3),
            llm=openai_llm(server),
            output_path=None,
            return_report=True,
            **FAST,
        )
    assert report.short == 3 and len(ds) == 3


def test_bad_arguments_are_clear_errors(fake_openai):
    llm = openai_llm(fake_openai())
    with pytest.raises(ValueError, match="context_str"):
        generate_qa_embedding_pairs(
            nodes=make_nodes(1), llm=llm, qa_generate_prompt_tmpl="{num_questions_per_chunk}"
        )
    with pytest.raises(ValueError, match="on_failure"):
        generate_qa_embedding_pairs(nodes=make_nodes(1), llm=llm, on_failure="ignore")
    with pytest.raises(TypeError, match="llm"):
        generate_qa_embedding_pairs(nodes=make_nodes(1), llm="gpt-4")
    with pytest.raises(ValueError, match="follow_up"):
        generate_qa_embedding_pairs(nodes=make_nodes(1), llm=llm, follow_up="  ")


def test_works_inside_a_running_event_loop_as_in_jupyter(fake_openai):
    server = fake_openai()

    async def notebook_cell():
        # A notebook cell calls the sync function while the kernel's loop is running.
        sync = generate_qa_embedding_pairs(
            nodes=make_nodes(2), llm=openai_llm(server), output_path=None, **FAST
        )
        awaited = await agenerate_qa_embedding_pairs(
            nodes=make_nodes(2), llm=openai_llm(server), output_path=None, **FAST
        )
        return sync, awaited

    sync, awaited = asyncio.run(notebook_cell())
    assert sync == awaited and len(sync) == 4


def test_a_partial_file_of_the_old_package_resumes(fake_openai, tmp_path):
    out = tmp_path / "train.json"
    old_qid = str(uuid.uuid4())  # 0.4 used random ids; they are kept as they are
    out.write_text(
        json.dumps(
            {
                "queries": {old_qid: "An old question about chunk 0?"},
                "corpus": {"node-0": "CHUNK-0: the company reported item 0 in 2021."},
                "relevant_docs": {old_qid: ["node-0"]},
                "mode": "text",
            }
        )
    )
    server = fake_openai()
    with pytest.warns(
        GenerationWarning, match="1 got fewer than 2"
    ):  # the old chunk's one question
        ds = generate_qa_embedding_pairs(
            nodes=make_nodes(3), llm=openai_llm(server), output_path=out, **FAST
        )
    assert server.requests_per_key["CHUNK-0"] == 0
    assert ds.queries[old_qid] == "An old question about chunk 0?"
    assert len(ds.corpus) == 3 and len(ds) == 5


def test_resume_recognises_chunks_whose_node_ids_changed(fake_openai, tmp_path):
    """Splitters give fresh uuids on every run; the text identifies a finished chunk."""
    server = fake_openai()
    out = tmp_path / "train.json"
    generate_qa_embedding_pairs(
        nodes=make_nodes(3), llm=openai_llm(server), output_path=out, **FAST
    )
    renamed = make_nodes(4)
    for node in renamed:
        node.id_ = "new-" + node.id_
    ds = generate_qa_embedding_pairs(nodes=renamed, llm=openai_llm(server), output_path=out, **FAST)
    assert server.completion_requests == 4  # 3 first, then only CHUNK-3
    assert set(ds.corpus) == {f"new-node-{i}" for i in range(4)}


def test_a_torn_last_journal_line_is_ignored_and_cut(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.path.write_text(
        json.dumps({"node_id": "a", "text": "t", "questions": {"q": "x?"}, "error": None})
        + '\n{"node_id": "b", "text": "t", "questi'
    )
    assert list(journal.load()) == ["a"]
    journal.open()
    assert journal.path.read_text().endswith("}\n")


WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from support.cli_proc import default_sigint
    from support.openai_server import make_nodes, openai_llm
    from support.openai_server import FakeOpenAIServer
    from llama_index.finetuning import generate_qa_embedding_pairs

    class Remote(FakeOpenAIServer):
        url = sys.argv[1]

    generate_qa_embedding_pairs(nodes=make_nodes({n}), llm=openai_llm(Remote()),
                                output_path=sys.argv[2], num_workers=4, show_progress=False)
    """
)


def test_sigkill_at_any_moment_loses_nothing_and_asks_finished_chunks_once(fake_openai, tmp_path):
    n = 40
    server = fake_openai(latency=0.15)
    out = tmp_path / "train.json"
    journal = Journal.for_output(out)
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(Path(__file__).parent), n=n))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    finished_before_last_kill: set[str] = set()
    for kill_after_lines in (3, 12, 25):  # three crashes at different points of the run
        proc = subprocess.Popen([sys.executable, str(script), server.url, str(out)], env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.path.exists() and journal.path.read_bytes().count(b"\n") >= kill_after_lines:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        finished_before_last_kill = set(journal.load())
        assert len(finished_before_last_kill) >= kill_after_lines
    requests_before_rerun = dict(server.requests_per_key)
    ds = generate_qa_embedding_pairs(
        nodes=make_nodes(n), llm=openai_llm(server), output_path=out, show_progress=False
    )
    assert len(ds.corpus) == n and len(ds) == 2 * n
    assert len(set(ds.queries)) == len(ds.queries)
    for node_id, questions in keys_of(ds).items():
        assert len(questions) == len(set(questions)) == 2, node_id
    for node_id in finished_before_last_kill:  # not asked by the rerun
        key = "CHUNK-" + node_id.split("-")[1]
        assert server.requests_per_key[key] == requests_before_rerun[key]
    assert sum(server.requests_per_key.values()) < n + 3 * 4 + 1  # at most the in-flight ones again
    assert EmbeddingQAFinetuneDataset.from_json(out) == ds


# ---- exact resume, truthful failure, local runtimes, Ctrl-C, the quality gate -----------


def test_resume_reuses_only_chunks_made_with_the_same_prompt_llm_and_count(fake_openai, tmp_path):
    server = fake_openai()
    out = tmp_path / "train.json"

    def run(**kwargs):
        kwargs.setdefault("llm", openai_llm(server))
        return generate_qa_embedding_pairs(
            nodes=make_nodes(3), output_path=out, return_report=True, **FAST, **kwargs
        )[1]

    assert run().generated == 3
    same = run()
    assert (same.resumed, same.generated, server.completion_requests) == (3, 0, 3)
    assert run(qa_generate_prompt_tmpl="small").resumed == 0  # another prompt: asked again
    assert server.completion_requests == 6
    assert run(qa_generate_prompt_tmpl="small", num_questions_per_chunk=1).resumed == 0
    other_model = OpenAI(model="gpt-4o", api_base=server.url, api_key="t", max_retries=0)
    assert (
        run(qa_generate_prompt_tmpl="small", num_questions_per_chunk=1, llm=other_model).resumed
        == 0
    )
    assert server.completion_requests == 12
    again = run(qa_generate_prompt_tmpl="small", num_questions_per_chunk=1, llm=other_model)
    assert again.resumed == 3 and server.completion_requests == 12


def test_a_rerun_with_other_inputs_is_refused_unless_append(fake_openai, tmp_path):
    server = fake_openai()
    out = tmp_path / "train.json"
    generate_qa_embedding_pairs(
        nodes=make_nodes(3), llm=openai_llm(server), output_path=out, **FAST
    )
    before = out.read_bytes()
    other = make_nodes(2, prefix="OTHER")
    for node in other:
        node.id_ = "other-" + node.id_
    with pytest.raises(OutputExistsError, match="3 chunks that are not among these inputs.*append"):
        generate_qa_embedding_pairs(nodes=other, llm=openai_llm(server), output_path=out, **FAST)
    assert server.completion_requests == 3 and out.read_bytes() == before
    rechunked = make_nodes(3)
    rechunked[0].text += " More text after a change of chunk size."
    with pytest.raises(OutputExistsError, match="node-0"):
        generate_qa_embedding_pairs(
            nodes=rechunked, llm=openai_llm(server), output_path=out, **FAST
        )
    both = generate_qa_embedding_pairs(
        nodes=other, llm=openai_llm(server), output_path=out, append=True, **FAST
    )
    assert len(both.corpus) == 5 and server.completion_requests == 5


@pytest.mark.parametrize("status", [401, 404])
def test_an_unusable_llm_fails_in_the_first_wave_and_nothing_more_is_sent(fake_openai, status):
    server = fake_openai(faults={f"CHUNK-{i}": [status] * 5 for i in range(40)})
    with pytest.raises(GenerationError, match=f"{server.url}.*{status}"):
        generate_qa_embedding_pairs(
            nodes=make_nodes(40), llm=openai_llm(server), output_path=None, num_workers=4,
            **FAST,
        )  # fmt: skip
    assert 1 <= server.completion_requests <= 4  # the calls already in flight, no retry
    assert max(server.requests_per_key.values()) == 1


def test_a_rejection_after_the_llm_answered_is_only_that_chunks(fake_openai):
    # CHUNK-0 answers first (one worker); CHUNK-1's 404 is then about that chunk alone
    server = fake_openai(faults={"CHUNK-1": [404] * 5})
    with pytest.warns(GenerationWarning, match="1 of 3 chunks failed"):
        ds = generate_qa_embedding_pairs(
            nodes=make_nodes(3), llm=openai_llm(server), output_path=None, num_workers=1,
            **FAST,
        )  # fmt: skip
    assert set(keys_of(ds)) == {"node-0", "node-2"}
    assert server.requests_per_key["CHUNK-1"] == 1


def test_a_refused_connection_and_a_missing_key_are_named(monkeypatch):
    from llama_index.llms.openai import OpenAI

    nowhere = OpenAI(
        model="gpt-4o-mini", api_base="http://127.0.0.1:9/v1", api_key="x", max_retries=0
    )
    with pytest.raises(GenerationError, match="127.0.0.1:9"):
        generate_qa_embedding_pairs(nodes=make_nodes(3), llm=nowhere, output_path=None, **FAST)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(GenerationError, match="api_key"):
        generate_qa_embedding_pairs(
            nodes=make_nodes(3), llm=OpenAI(model="gpt-4o-mini", max_retries=0), output_path=None,
            **FAST,
        )  # fmt: skip


def test_a_run_where_every_chunk_fails_raises_the_first_error_and_keeps_nothing_false(
    fake_openai, tmp_path
):
    server = fake_openai(faults={f"CHUNK-{i}": [503] * 2 for i in range(3)})
    out = tmp_path / "train.json"
    with pytest.raises(GenerationError, match="every chunk asked failed.*503"):
        generate_qa_embedding_pairs(
            nodes=make_nodes(3), llm=openai_llm(server), output_path=out, retry_limit=1, **FAST
        )
    assert not out.exists()  # no empty dataset that looks like a result


class SlotLLM(OpenAI):
    """The OpenAI client with the attribute a local runtime sets: how many calls it takes."""

    max_parallel_requests: int = 2


def test_calls_in_flight_are_capped_at_the_llms_slots_and_none_times_out_queued(fake_openai):
    server = fake_openai(latency=0.3)
    llm = SlotLLM(model="gpt-4o-mini", api_base=server.url, api_key="t", max_retries=0)
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(8), llm=llm, num_workers=8, request_timeout=1.0, output_path=None,
        return_report=True, **FAST,
    )  # fmt: skip
    assert server.max_in_flight == 2  # 8 asked at 2 a time: 1.2 s in all, over the timeout
    assert report.failed == 0 and server.completion_requests == 8 and len(ds.corpus) == 8


def test_the_quality_gate_drops_junk_counts_it_and_the_journal_keeps_the_raw_questions(
    fake_openai, tmp_path
):
    def junk_first(key: str, prompt: str, n: int) -> str:
        return "1. What is the purpose of this document?\n" + default_answer(key, prompt, n)

    server = fake_openai(answer=junk_first)
    out = tmp_path / "train.json"
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(4), llm=openai_llm(server), output_path=out, return_report=True, **FAST
    )
    assert report.dropped == {"about_the_source": 4} and report.short == 0
    assert "What is the purpose of this document?" not in ds.queries.values()
    assert all(len(qs) == 2 for qs in keys_of(ds).values())
    raw = Journal.for_output(out).load()
    assert all(len(e.questions) == 3 for e in raw.values())
    unfiltered = generate_qa_embedding_pairs(
        nodes=make_nodes(4), llm=openai_llm(server), output_path=out, quality_filter=False, **FAST
    )  # the filters change without asking the LLM again
    assert server.completion_requests == 4
    assert list(unfiltered.queries.values()).count("What is the purpose of this document?") == 4


def _junk_only(key: str, prompt: str, n: int) -> str:
    return "1. What is the purpose of this excerpt?\n2. What is the main topic of the passage?\n"


def test_a_gate_that_keeps_nothing_raises_and_a_rerun_without_it_asks_the_llm_nothing(
    fake_openai, tmp_path
):
    server = fake_openai(answer=_junk_only)
    out = tmp_path / "train.json"
    with pytest.raises(GenerationError) as raised:
        generate_qa_embedding_pairs(
            nodes=make_nodes(3), llm=openai_llm(server), output_path=out, **FAST
        )
    message = str(raised.value)
    assert "dropped 6 of 6 questions (6 about_the_source" in message
    assert "'What is the purpose of this excerpt?'" in message  # one dropped question shown
    assert "quality_filter=False" in message and "--no-quality-filter" in message
    assert str(Journal.for_output(out).path) in message and not out.exists()
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(3), llm=openai_llm(server), output_path=out, quality_filter=False,
        return_report=True, **FAST,
    )  # fmt: skip
    assert server.completion_requests == 3  # the journal answered the rerun
    assert report.resumed == 3 and len(ds) == 6 and out.exists()


def test_a_gate_that_drops_more_than_half_warns_in_the_same_terms(fake_openai):
    def mostly_junk(key: str, prompt: str, n: int) -> str:
        return (
            _junk_only(key, prompt, n)
            + "3. What is this text about?\n"
            + default_answer(key, prompt, 1).replace("1.", "4.")
        )

    server = fake_openai(answer=mostly_junk)
    with pytest.warns(GenerationWarning) as caught:
        ds, report = generate_qa_embedding_pairs(
            nodes=make_nodes(2), llm=openai_llm(server), output_path=None, return_report=True,
            num_questions_per_chunk=1, **FAST,
        )  # fmt: skip
    assert len(ds) == 2 and report.dropped == {"about_the_source": 6}
    gate = [str(w.message) for w in caught if "quality gate" in str(w.message)]
    assert len(gate) == 1 and "dropped 6 of 8 questions (6 about_the_source" in gate[0]
    assert "quality_filter=False" in gate[0] and "--no-quality-filter" in gate[0]


def test_the_tutorial_flow_keeps_questions_that_say_what_the_document_states(fake_openai):
    """Questions "What does the document state about <chunk words>?" are cleaned and kept,
    not dropped as about_the_source (which once left the tutorial's defaults with 0 pairs)."""

    def document_states(key: str, prompt: str, n: int) -> str:
        words = prompt.split(key + ":", 1)[1].split(".")[0].split()
        return "\n".join(
            f"{i + 1}. What does the document state about {' '.join(words[i + 1 : i + 5])}?"
            for i in range(n)
        )

    server = fake_openai(answer=document_states)
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(4), llm=openai_llm(server), output_path=None, return_report=True, **FAST
    )
    assert all(len(qs) == 2 for qs in keys_of(ds).values()) and len(keys_of(ds)) == 4
    assert report.cleaned == 8 and report.dropped == {}
    assert keys_of(ds)["node-1"][0] == "What about company reported item 1?"


def test_an_engine_given_an_empty_dataset_says_it_is_empty():
    from llama_index.finetuning import SentenceTransformersFinetuneEngine

    empty = EmbeddingQAFinetuneDataset(queries={}, corpus={"c": "text"}, relevant_docs={})
    with pytest.raises(ValueError, match="dataset is empty") as raised:
        SentenceTransformersFinetuneEngine(empty)
    assert "generate pairs first" not in str(raised.value)


CTRL_C_WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from support.cli_proc import default_sigint
    from support.openai_server import make_nodes, openai_llm
    from support.openai_server import FakeOpenAIServer
    from llama_index.finetuning import generate_qa_embedding_pairs
    from llama_index.finetuning.generation import GenerationInterrupted

    class Remote(FakeOpenAIServer):
        url = sys.argv[1]

    try:
        generate_qa_embedding_pairs(nodes=make_nodes(200), llm=openai_llm(Remote()),
                                    output_path=sys.argv[2], num_workers=4, show_progress=False)
    except GenerationInterrupted as stop:
        print("SAVED", stop.saved, stop.journal, flush=True)
        sys.exit(130)
    """
)


def test_ctrl_c_stops_the_run_and_says_how_many_chunks_are_saved_where(fake_openai, tmp_path):
    server = fake_openai(latency=0.2)
    out = tmp_path / "train.json"
    journal = Journal.for_output(out)
    script = tmp_path / "worker.py"
    script.write_text(CTRL_C_WORKER.format(tests=str(Path(__file__).parent)))
    proc = subprocess.Popen(
        [sys.executable, str(script), server.url, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.path.exists() and journal.path.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout
    _, saved, where = stdout.split()
    assert where == str(journal.path) and int(saved) == len(journal.load()) >= 5
    assert server.completion_requests < 200


def test_the_round_trip_filter_runs_on_the_given_embedding_model(fake_openai):
    """The server's embeddings are bags of words: a question that names another chunk ranks
    that chunk first, and the round trip at k=1 drops it."""
    from llama_index.embeddings.openai import OpenAIEmbedding

    def one_good_one_astray(key: str, prompt: str, n: int) -> str:
        other = f"CHUNK-{(int(key.split('-')[1]) + 1) % 4}"
        return f"1. What does {key} state about the company?\n2. What does {other} report?"

    server = fake_openai(answer=one_good_one_astray)
    embed = OpenAIEmbedding(api_base=server.url, api_key="t", max_retries=0)
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(4), llm=openai_llm(server), output_path=None, quality_filter=False,
        round_trip_model=embed, round_trip_top_k=1, return_report=True, **FAST,
    )  # fmt: skip
    assert report.dropped == {"round_trip": 4} and server.embedding_requests > 0
    assert sorted(ds.queries.values()) == [
        f"What does CHUNK-{i} state about the company?" for i in range(4)
    ]


def _one_then_another(key: str, prompt: str, n: int) -> str:
    """A writer that gives one question, and another one when asked for one more."""
    if prompt.rstrip().endswith("(a figure, a date or a name):"):
        return f"What figure does {key} give for 2021?"
    return f"1. What does {key} say about revenue?"


def test_a_short_answer_gets_one_follow_up_that_reuses_the_prompt_as_its_prefix(fake_openai):
    server = fake_openai(answer=_one_then_another)
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(3), llm=openai_llm(server), output_path=None, return_report=True,
        follow_up=True, **FAST,
    )  # fmt: skip
    assert keys_of(ds)["node-2"] == [
        "What does CHUNK-2 say about revenue?",
        "What figure does CHUNK-2 give for 2021?",
    ]
    assert (report.follow_ups, report.follow_up_questions, report.short) == (3, 3, 0)
    assert server.completion_requests == report.llm_calls == 6


def test_no_follow_up_when_the_answer_is_full_or_when_off_as_by_default(fake_openai):
    full = fake_openai()  # two questions a chunk
    _, report = generate_qa_embedding_pairs(
        nodes=make_nodes(3), llm=openai_llm(full), output_path=None, return_report=True,
        follow_up=True, **FAST,
    )  # fmt: skip
    assert report.follow_ups == 0 and full.completion_requests == 3
    short = fake_openai(answer=_one_then_another)
    with pytest.warns(GenerationWarning, match="3 got fewer than 2"):
        ds, report = generate_qa_embedding_pairs(
            nodes=make_nodes(3), llm=openai_llm(short), output_path=None, return_report=True,
            **FAST,
        )  # fmt: skip
    assert len(ds) == 3 and report.follow_ups == 0 and short.completion_requests == 3


def test_a_failed_follow_up_keeps_the_first_answer_and_the_chunk_is_not_failed(fake_openai):
    # CHUNK-0's follow-up gets a 500 (and is not retried), CHUNK-1's an empty answer
    server = fake_openai(
        answer=_one_then_another, faults={"CHUNK-0": [None, 500], "CHUNK-1": [None, "empty"]}
    )
    with pytest.warns(GenerationWarning, match="0 of 2 chunks failed"):
        ds, report = generate_qa_embedding_pairs(
            nodes=make_nodes(2), llm=openai_llm(server), output_path=None, return_report=True,
            follow_up=True, **FAST,
        )  # fmt: skip
    assert keys_of(ds) == {
        "node-0": ["What does CHUNK-0 say about revenue?"],
        "node-1": ["What does CHUNK-1 say about revenue?"],
    }
    assert report.failed == 0 and report.follow_ups == 2 and report.follow_up_questions == 0
    assert server.completion_requests == 4


def test_chunks_made_without_follow_ups_are_asked_again_with_them(fake_openai, tmp_path):
    server = fake_openai(answer=_one_then_another)
    out = tmp_path / "train.json"
    with pytest.warns(GenerationWarning):
        generate_qa_embedding_pairs(
            nodes=make_nodes(2), llm=openai_llm(server), output_path=out, **FAST
        )
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(2), llm=openai_llm(server), output_path=out, return_report=True,
        follow_up=True, **FAST,
    )  # fmt: skip
    assert report.resumed == 0 and report.follow_ups == 2 and len(ds) == 4
