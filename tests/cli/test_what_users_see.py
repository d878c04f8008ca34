"""What a user sees is true and useful: each command ends on its verdict, said
once; -q is quiet; failures leave nothing behind; a folder with a bad file can be read.

Through the real command line (``main(argv)`` in this process, ``cli`` where the test is
about a process), with the bundled MiniLM and the local OpenAI-compatible server.
"""

from __future__ import annotations

import time

from support.cli_proc import in_process, small_dataset, write_docs

TRAIN = ["--epochs", "1", "--hard-negatives", "0"]


def _said(proc, needle: str) -> list[str]:
    return [line for line in (proc.stdout + proc.stderr).splitlines() if needle in line]


# ---- 26.4 every command ends on its verdict, said once ----------------------------------------


def test_train_says_its_verdict_once_and_last(tmp_path):
    """The verdict printed three times: the engine's WARNING, its INFO ending, the result."""
    data = small_dataset(tmp_path / "d.json")  # MiniLM answers these already: the base is kept
    out = tmp_path / "model"
    proc = in_process("train", data, "--val", data, "-o", out, *TRAIN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("kept the base model: no finetuned checkpoint beat it on "), last
    assert _said(proc, "beat") == [last]


def test_run_ends_on_what_it_saved_and_the_report_sets_verdict(tmp_path):
    """`run` ended on "total time: 19 s"; its verdicts sat mid-output, each said three times."""
    data = small_dataset(tmp_path / "d.json", n=24)
    out = tmp_path / "out"
    proc = in_process("run", "--train", data, "--val", data, "--test", data, "-o", out, *TRAIN,
                      "--adapter-epochs", "1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith(f"saved local:{out / 'finetuned_model'}"), last
    assert f"adapter:{out / 'adapter'}" in last
    assert "on the 24 report questions, ndcg@10: finetuned " in last and "; adapter " in last
    assert any(w in last for w in ("beat the base", "no clear difference", "worse than the base"))
    for engine_verdict in ("kept the base model:", "finetuned model saved to",
                           "kept the untrained adapter:", "adapter saved to"):  # fmt: skip
        assert len(_said(proc, engine_verdict)) <= 1, engine_verdict
    engines = [line for line in _said(proc, "beat it on") + _said(proc, "saved to") if line != last]
    assert len(engines) == 2  # each engine's verdict, once, while the run goes on


# ---- 26.5 estimates that learn ----------------------------------------------------------------


def test_the_time_a_chunk_takes_is_measured_on_the_first_chunks_and_said(tmp_path, fake_openai):
    """The estimate before the run (from a quiet machine) was 2-4x low on a loaded one."""
    server = fake_openai()
    proc = in_process("generate", write_docs(tmp_path / "docs", n=4), "--llm", "openai-like:m",
                      "--api-base", server.url, "--num-workers", "2", "--no-round-trip",
                      "-o", tmp_path / "d.json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = _said(proc, "measured on the first")
    assert len(said) == 1 and "s a chunk, so about" in said[0] and "for the 2 left" in said[0]


def test_the_call_limit_grows_with_the_writers_measured_speed(tmp_path, fake_openai):
    """A local writer slowed by a busy machine failed a chunk with TimeoutError: the limit
    was fixed. After a call that answered in 1 s, a 2.5 s call is within the limit (4x)."""
    from support.answer_modes import numbered
    from support.openai_server import make_nodes, openai_llm

    from llama_index.finetuning import generate_qa_embedding_pairs

    def slower_after_the_first(key, prompt, n):
        time.sleep(1.0 if key == "CHUNK-0" else 2.5)
        return numbered(key, prompt, n)

    server = fake_openai(answer=slower_after_the_first)
    ds, report = generate_qa_embedding_pairs(
        nodes=make_nodes(2), llm=openai_llm(server), output_path=None, num_workers=1,
        request_timeout=2.0, retry_limit=0, return_report=True, verbose=False,
    )  # fmt: skip
    assert report.failed == 0 and report.generated == 2, report.first_error


# ---- 26.8 clean failures ----------------------------------------------------------------------


def test_a_run_that_asked_nothing_leaves_no_journal_and_no_full_bar(tmp_path):
    """An unreachable endpoint left a 0-byte journal and a progress bar at 4/4."""
    out = tmp_path / "out"
    out.mkdir()
    proc = in_process("generate", write_docs(tmp_path / "docs", n=4), "--llm", "openai-like:m",
                      "--api-base", "http://127.0.0.1:9/v1", "--no-round-trip",
                      "-o", out / "d.json")  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert list(out.iterdir()) == []  # no dataset, no journal, no lock
    assert "4/4" not in proc.stderr


def test_a_pseudo_run_that_found_no_sentence_leaves_no_empty_dataset(tmp_path):
    """The pseudo-query generator left {"queries": {}, ...} behind when no chunk had a sentence."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("12 | 34 | 56\n78 | 90 | 11\n")
    (docs / "b.txt").write_text("- 2021\n- 2022\n")
    out = tmp_path / "out"
    out.mkdir()
    proc = in_process("generate", docs, "--generator", "pseudo", "-o", out / "d.json")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "no chunk got a question" in proc.stderr
    assert list(out.iterdir()) == []


# ---- 26.6 quiet means quiet --------------------------------------------------------------------


def test_quiet_train_and_adapt_show_no_progress_bar(tmp_path):
    """`train -q` still printed sentence-transformers' `Batches:` bars (tqdm imported before
    the command set TQDM_DISABLE, as in any process that imported it first)."""
    import tqdm  # noqa: F401  as a notebook or an earlier command would have

    data = small_dataset(tmp_path / "d.json")
    for argv in (["train", data, "--val", data, "-o", tmp_path / "m", *TRAIN],
                 ["adapt", data, "--val", data, "-o", tmp_path / "a", "--adapter-epochs", "1"]):  # fmt: skip
        proc = in_process(*argv, "-q")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "it/s" not in proc.stderr and "s/it" not in proc.stderr, proc.stderr[-2000:]
        assert "Batches" not in proc.stderr and "%|" not in proc.stderr


def test_a_folder_with_an_unreadable_file_is_read_with_skip_unreadable(tmp_path):
    """One unreadable PDF in a folder refused the whole folder, with no way to skip it."""
    from support.cli_proc import assert_one_line_error

    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    docs = write_docs(tmp_path / "docs", n=2)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 cut off by a failed download")
    out = tmp_path / "d.json"
    argv = ["generate", docs, "--generator", "pseudo", "-o", out]
    assert_one_line_error(in_process(*argv), 2, "broken.pdf", "--skip-unreadable")
    assert not out.exists()
    proc = in_process(*argv, "--skip-unreadable")
    assert proc.returncode == 0, proc.stderr[-2000:]
    skipped = _said(proc, "skipped 1 unreadable file")
    assert len(skipped) == 1 and f"{docs / 'broken.pdf'}: not a readable PDF" in skipped[0]
    assert sorted(EmbeddingQAFinetuneDataset.from_json(out).corpus) == ["doc0-0", "doc1-0"]


def test_a_generation_warning_names_the_line_that_called_it(fake_openai):
    """The warning of a short run was attributed to asyncio/events.py:80 (the loop's thread)."""
    import asyncio

    import pytest
    from support.openai_server import make_nodes, openai_llm

    from llama_index.finetuning import agenerate_qa_embedding_pairs, generate_qa_embedding_pairs
    from llama_index.finetuning.generation import GenerationWarning

    server = fake_openai(faults={"CHUNK-1": ["empty"] * 4})  # no question: a short run
    kwargs = {"output_path": None, "verbose": False, "retry_limit": 1}
    with pytest.warns(GenerationWarning, match="1 got answers with no question") as caught:
        generate_qa_embedding_pairs(nodes=make_nodes(2), llm=openai_llm(server), **kwargs)
    assert {w.filename for w in caught} == {__file__}

    async def caller():
        return await agenerate_qa_embedding_pairs(make_nodes(2), openai_llm(server), **kwargs)

    with pytest.warns(GenerationWarning, match="1 got answers with no question") as caught:
        asyncio.run(caller())
    assert {w.filename for w in caught} == {__file__}


def test_the_python_flow_logs_training_details_at_debug_only(tmp_path, caplog, capsys):
    """A notebook at INFO (llama-index-readers-file calls basicConfig at import) showed the
    evaluator's table at every evaluation and the miner's statistics table."""
    import logging

    from llama_index.finetuning import (
        EmbeddingQAFinetuneDataset,
        SentenceTransformersFinetuneEngine,
    )

    data = EmbeddingQAFinetuneDataset.from_json(small_dataset(tmp_path / "d.json"))
    engine = SentenceTransformersFinetuneEngine(
        data, model_id="offline", model_output_path=str(tmp_path / "m"), val_dataset=data,
        epochs=1, hard_negatives=1,
    )  # fmt: skip
    with caplog.at_level(logging.INFO):
        result = engine.finetune()
    library = [r for r in caplog.records if r.name.startswith("sentence_transformers")]
    assert not [r.getMessage() for r in library if r.levelno <= logging.INFO]
    assert [r.getMessage() for r in caplog.records if getattr(r, "verdict", False)] == [
        result.ending(f"local:{tmp_path / 'm'}")
    ]  # what a user needs: the verdict
    assert "Positive" not in capsys.readouterr().out  # the miner's table
    assert logging.getLogger("sentence_transformers").level == logging.NOTSET  # restored


def test_the_cli_sets_aside_a_dependencys_root_logging_for_the_command(tmp_path, fake_openai):
    """llama-index-readers-file calls logging.basicConfig at import: a console handler on the
    root logger, which printed each of the command's lines again in its own format."""
    import io
    import logging

    stream = io.StringIO()
    theirs = logging.StreamHandler(stream)  # what basicConfig adds
    root = logging.getLogger()
    root.addHandler(theirs)
    try:
        proc = in_process("generate", write_docs(tmp_path / "docs", n=2), "--llm",
                          "openai-like:m", "--api-base", fake_openai().url, "--num-workers",
                          "1", "--no-round-trip", "-o", tmp_path / "d.json")  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert _said(proc, "measured on the first 1 chunks")  # the command's own line
        assert stream.getvalue() == ""  # and no second copy
        assert theirs in root.handlers  # put back after the command
    finally:
        root.removeHandler(theirs)


# ---- 26.7 cards and docs that match ----------------------------------------------------------


def test_cards_name_the_base_model_and_the_folder_as_the_user_gave_it(tmp_path):
    """The card's YAML had no base_model:, its sentence-transformers part said "Base model:
    Unknown", and "Use it" named `finetuned_model` where the CLI said `local:run/finetuned_model`."""
    data = small_dataset(tmp_path / "d.json")
    proc = in_process("train", data, "--val", data, "-o", "run/tuned", *TRAIN, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = (tmp_path / "run" / "tuned" / "README.md").read_text(encoding="utf-8")
    front = card.split("\n---\n", 1)[0]
    assert (
        card.startswith("---\n") and "\nbase_model: sentence-transformers/all-MiniLM-L6-v2" in front
    )
    assert 'HuggingFaceEmbedding(model_name="run/tuned")' in card
    assert 'Settings.embed_model = "local:run/tuned"' in card
    assert "local:run/tuned" in proc.stdout.strip().splitlines()[-1]  # what the CLI says
    proc = in_process("adapt", data, "--val", data, "-o", "run/adapter", "--adapter-epochs", "1",
                      cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = (tmp_path / "run" / "adapter" / "README.md").read_text(encoding="utf-8")
    assert 'AdapterEmbeddingModel(base, "run/adapter")' in card


def test_evaluate_ends_on_each_models_verdict_against_the_base(tmp_path):
    """`evaluate` ended on "report written to ..."; its verdict sat in the table."""
    data = small_dataset(tmp_path / "d.json", n=24)
    proc = in_process("evaluate", data, "--model", "base=offline", "--model", "same=offline",
                      "-o", tmp_path / "report")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last == (
        "on the 24 questions, ndcg@10: same 1.0000 vs base 1.0000, +0.0000 [+0.0000, +0.0000]: "
        "no clear difference from base"
    ), last
