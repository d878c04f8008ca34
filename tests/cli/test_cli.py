"""The console script: subcommands end to end on small inputs, and one-line errors."""

from __future__ import annotations

import json

import pytest
from support.small_inputs import fast_run, question_set, write_prose

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.cli import main


def write_docs(folder, n=4):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(
            f"CHUNK-{i}: the company reported item {i} in 2021. " * 5
        )
    return folder


def test_generate_through_an_openai_compatible_server(fake_openai, tmp_path, capsys):
    server = fake_openai()
    out = tmp_path / "pairs.json"
    code = main(
        [
            "generate",
            str(write_docs(tmp_path / "docs")),
            "--output",
            str(out),
            "--llm",
            "openai-like:any-model-name",
            "--api-base",
            server.url,
            "--api-key",
            "k",
        ]
    )
    assert code == 0
    ds = EmbeddingQAFinetuneDataset.from_json(out)
    assert len(ds.corpus) == 4 and len(ds) == 8
    assert server.completion_requests == 4
    assert "8 questions over 4 chunks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "no/such/file.pdf"], "no/such/file.pdf: no such file or folder"),
        (["generate", "{docs}", "--llm", "claude"], "unknown --llm 'claude'"),
        (["generate", "{docs}", "--llm", "openai-like:m"], "needs --api-base"),
        (["train", "missing.json"], "dataset 'missing.json' does not exist"),
        (["evaluate", "{dataset}", "--model", "x=local:/no/such/model"], "/no/such/model"),
        (["evaluate", "{dataset}", "--model", "nonsense"], "use NAME=SPEC"),
        (
            ["evaluate", "{dataset}", "--model", "x=no/such-model"],
            "'no/such-model' is not in the Hugging Face cache and the hub is offline",
        ),
        (["train", "{dataset}", "--model", "local:no/such-model"], "no/such-model"),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # default outputs land here, not in the checkout
    docs = write_docs(tmp_path / "docs")
    dataset = tmp_path / "d.json"
    dataset.write_text(
        json.dumps({"queries": {"q": "x?"}, "corpus": {"c": "y"}, "relevant_docs": {"q": ["c"]}})
    )
    argv = [a.format(docs=docs, dataset=dataset) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_max_chunks_samples_each_file_and_the_sample_is_recorded(fake_openai, tmp_path, capsys):
    server = fake_openai()
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a", "b"):
        (docs / f"{name}.txt").write_text(
            " ".join(f"CHUNK-{i}: {name} reported item {i} in 2021." for i in range(60))
        )
    argv = ["generate", str(docs), "--max-chunks", "2", "--chunk-size", "64",
            "--chunk-overlap", "0", "--llm", "openai-like:m", "--api-base", server.url,
            "--output", str(tmp_path / "d.json")]  # fmt: skip
    assert main(argv) == 0
    ids = sorted(EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json").corpus)
    assert [i.split("-")[0] for i in ids] == ["a", "a", "b", "b"]  # 2 per file, not 2 in all


def test_evaluate_writes_table_png_and_json(tmp_path, capsys):
    ds = EmbeddingQAFinetuneDataset(
        queries={"q1": "What was revenue in 2021?", "q2": "Who is the chief executive?"},
        corpus={"c1": "Revenue was $3.2 billion in 2021.", "c2": "Logan Green is the CEO."},
        relevant_docs={"q1": ["c1"], "q2": ["c2"]},
    )
    ds.save_json(tmp_path / "val.json")
    out = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "val.json"),
                "--model",
                "base=offline",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "hit_rate@1" in captured.out
    assert any(p.suffix == ".png" for p in out.iterdir())
    assert any(p.suffix == ".json" for p in out.iterdir())
    # 2 questions cannot tell models apart: the table and the last line say so, once
    assert "queries, searched among 2 chunks. Too small: 2 questions" in captured.out
    last = captured.out.strip().splitlines()[-1]
    assert last == (
        f"warning: {tmp_path / 'val.json'} is too small: 2 questions are too few to tell two "
        "models apart (20 needed): a difference here is mostly noise"
    )
    assert "too few" not in captured.err  # not also as a Python warning


def test_run_from_files_to_comparison_in_a_subprocess(fake_openai, tmp_path):
    """`llamaindex-finetune run` as a user runs it: every artefact written, a quiet terminal."""
    import os
    import subprocess
    import sys

    server = fake_openai()
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "llama_index.finetuning.cli", "run",
            "--train", str(write_docs(tmp_path / "train")),
            "--val", str(write_docs(tmp_path / "val")),
            "--llm", "openai-like:any-model", "--api-base", server.url, "--api-key", "k",
            "--output-dir", str(out)]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]

    assert server.completion_requests == 8  # 4 train + 4 validation chunks, each asked once
    assert (out / "finetuned_model" / "modules.json").exists()
    card = (out / "finetuned_model" / "README.md").read_text()
    assert "<!-- llama-index-finetuning-embeddings: begin -->" in card  # this package's section
    assert {p.name for p in (out / "adapter").iterdir()} >= {"config.json", "model.safetensors"}
    table = json.loads((out / "report" / "comparison.json").read_text())["table"]
    assert list(table) == ["base", "finetuned", "adapter"]
    assert "| finetuned |" in proc.stdout and "total time:" in proc.stdout
    assert "[6/6" in proc.stderr  # the stage lines

    # Honest numbers: the report part of the val pairs chose nothing.
    select = EmbeddingQAFinetuneDataset.from_json(out / "val_select.json")
    report = EmbeddingQAFinetuneDataset.from_json(out / "val_report.json")
    answers = lambda d: {c for docs in d.relevant_docs.values() for c in docs}  # noqa: E731
    assert answers(select) and answers(report) and not answers(select) & answers(report)
    assert select.corpus == report.corpus  # both search every val chunk
    record = json.loads((out / "run.json").read_text())
    assert record["sets"]["report"]["chunks"] == sorted(answers(report))
    assert record["chunks"]["train"] and record["seed"] == 0
    base = json.loads((out / "report" / "comparison.json").read_text())["models"]["base"]
    assert base["info"]["n_queries"] == len(report)  # the table is the report part's
    assert "REPORT: " in proc.stdout and "selection questions" in proc.stdout
    assert (out / "report_selection" / "comparison.json").exists()
    assert "Loading weights" not in proc.stderr  # library bars are silenced without -v


# ---- run with a question set of one's own (--test / --val given a dataset JSON) -------------


def test_run_reports_on_a_given_question_set_and_asks_nothing_for_it(tmp_path, capsys):
    train_set = question_set(tmp_path / "train_questions.json", n=8, prefix="train")
    test_set = question_set(tmp_path / "my_questions.json")
    out = tmp_path / "out"
    argv = fast_run("--train", train_set, "--val", write_prose(tmp_path / "val"),
                    "--test", test_set, "--output-dir", out)  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out

    assert "asking for questions on 4 chunks (4 val)" in printed  # only the --val documents
    assert not (out / "test_dataset.json").exists() and not (out / "train_dataset.json").exists()
    assert not (out / "val_report.json").exists()  # --test reports: no split of --val
    assert f"REPORT: 6 questions that chose nothing: the --test set {test_set}" in printed
    assert "pairs: 8 train;" in printed
    record = json.loads((out / "run.json").read_text())
    assert record["loaded"]["test"] == {"path": str(test_set), "queries": 6, "chunks": 7}
    assert list(record["chunks"]) == ["val"] and record["sets"]["report"]["queries"] == 6
    assert str(test_set) in record["sets"]["report"]["source"]
    report = json.loads((out / "report" / "comparison.json").read_text())
    assert report["models"]["base"]["info"]["n_queries"] == 6  # the table is the given set's
    selection = json.loads((out / "report_selection" / "comparison.json").read_text())
    val = EmbeddingQAFinetuneDataset.from_json(out / "val_dataset.json")
    assert selection["models"]["base"]["info"]["n_queries"] == len(val)  # all of --val selects


def test_run_splits_a_given_val_set_by_chunk_and_reads_other_json_as_a_document(tmp_path, capsys):
    val_set = question_set(tmp_path / "val_questions.json", n=8, prefix="val")
    # JSON files that are not question sets: documents, as before
    notes, more = tmp_path / "notes.json", tmp_path / "more_notes.json"
    for path, region in ((notes, "north"), (more, "south")):
        path.write_text(json.dumps({"title": "Driver pay", "body": " ".join(
            f"In quarter {i + 1} the drivers in the {region} were paid {i + 5} percent more "
            "than the riders there had expected." for i in range(4)
        )}))  # fmt: skip
    out = tmp_path / "out"
    assert main(fast_run("--train", notes, more, "--val", val_set, "--output-dir", out)) == 0
    printed = capsys.readouterr().out

    assert "asking for questions on 2 chunks (2 train)" in printed
    assert EmbeddingQAFinetuneDataset.from_json(out / "train_dataset.json").corpus  # asked
    assert not (out / "val_dataset.json").exists()
    select = EmbeddingQAFinetuneDataset.from_json(out / "val_select.json")
    report = EmbeddingQAFinetuneDataset.from_json(out / "val_report.json")
    answers = lambda d: {c for docs in d.relevant_docs.values() for c in docs}  # noqa: E731
    assert len(select) + len(report) == 8 and len(select) and len(report)
    assert not answers(select) & answers(report)
    assert len(select.corpus) == len(report.corpus) == 9  # the set's whole corpus is searched
    assert f"the report part of the --val set {val_set}" in printed
    assert json.loads((out / "run.json").read_text())["loaded"]["val"]["queries"] == 8


def test_run_searches_val_questions_among_every_chunk_of_the_files_and_ends_on_a_small_set(
    tmp_path, capsys
):
    """Val pairs of 4 files searched among their own 4 chunks alone would give every model
    hit@5 = 1.0; an index of the user's files holds the training chunks too. A report set too small
    to tell two models apart says so on the last line."""
    out = tmp_path / "out"
    # both folders hold doc0.txt..doc3.txt: the same chunk ids, other texts
    argv = fast_run("--train", write_prose(tmp_path / "train"), "--val",
                    write_prose(tmp_path / "val", n=4, shift=4), "--output-dir", out)  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out

    val = EmbeddingQAFinetuneDataset.from_json(out / "val_dataset.json")
    report = EmbeddingQAFinetuneDataset.from_json(out / "val_report.json")
    train = EmbeddingQAFinetuneDataset.from_json(out / "train_dataset.json")
    assert len(val.corpus) == 4  # what generation saved: the val chunks
    assert len(report.corpus) == 8  # every chunk of both folders, none lost to an id clash
    assert set(train.corpus.values()) | set(val.corpus.values()) == set(report.corpus.values())
    record = json.loads((out / "run.json").read_text())
    assert record["sets"]["report"]["searched_among"] == 8
    base = json.loads((out / "report" / "comparison.json").read_text())["models"]["base"]
    assert base["info"]["n_corpus"] == 8  # what the table was scored on
    assert "searched among 8 chunks: every chunk of the --train and --val files" in printed
    last = printed.strip().splitlines()[-1]
    assert last.startswith("warning: the report set is too small:") and "20 needed" in last


@pytest.mark.parametrize(
    "flag, content, message",
    [
        ("--test", {"queries": {"q": "x?"}}, "not an EmbeddingQAFinetuneDataset file"),
        ("--test", {"queries": {}, "corpus": {}, "relevant_docs": {}}, "has no questions"),
        (
            "--test",
            {"queries": {"q": "x?"}, "corpus": {"c": "y"}, "relevant_docs": {"q": ["gone"]}},
            "missing from corpus: 'gone'",
        ),
        (
            "--val",
            {"queries": {"q": "x?"}, "relevant_docs": {}},
            "not an EmbeddingQAFinetuneDataset",
        ),
    ],
)
def test_run_refuses_a_bad_question_set_before_any_work(tmp_path, capsys, flag, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(content))
    docs = write_docs(tmp_path / "docs")
    files = {"--val": docs, "--test": docs, flag: bad}
    argv = ["run", "--train", str(docs), *[str(a) for kv in files.items() for a in kv],
            "--generator", "pseudo", "--output-dir", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{flag}: {bad}" in err and message in err, err
    assert not (tmp_path / "out").exists()  # nothing was done


@pytest.mark.parametrize("second", ["docs", "set"])
def test_run_refuses_a_question_set_mixed_with_other_inputs(tmp_path, capsys, second):
    test_set = question_set(tmp_path / "mine.json")
    docs = write_docs(tmp_path / "docs")
    other = docs if second == "docs" else question_set(tmp_path / "other.json", prefix="o")
    argv = ["run", "--train", str(docs), "--val", str(docs), "--test", str(test_set),
            str(other), "--generator", "pseudo", "--output-dir", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"--test: {test_set} is a question set" in err and "either one question set" in err
    assert str(other) in err or "2 question sets" in err
    assert not (tmp_path / "out").exists()


# ---- one output contract, one grammar, fast failures, quiet -----------------------


def pseudo_docs(folder, first, n=2):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n):
        (folder / f"f{i}.txt").write_text(
            f"In fiscal year {2010 + i} the company reported steady growth in region {i} "
            f"across its largest markets. Management attributed the change in region {i} to "
            "pricing decisions made during the second quarter of that year."
        )
    return folder


def test_a_second_pseudo_run_into_a_dataset_of_other_chunks_is_refused(tmp_path, capsys):
    """Finding 20.1: the second pseudo run replaced the first's chunks, exit 0 both times."""
    out = tmp_path / "v" / "val.json"
    base = ["--generator", "pseudo", "--num-questions", "1", "-o", str(out)]
    assert main(["generate", str(pseudo_docs(tmp_path / "d1", 1)), *base]) == 0
    first = out.read_bytes()
    d2 = str(pseudo_docs(tmp_path / "d2", 3))
    capsys.readouterr()
    assert main(["generate", d2, *base]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already holds 2 chunks" in err and "--append" in err
    assert out.read_bytes() == first
    assert main(["generate", d2, *base]) == 2  # the lock of the refused run is gone

    assert main(["generate", d2, *base, "--append"]) == 0
    assert sorted(EmbeddingQAFinetuneDataset.from_json(out).corpus) == ["f1-0", "f2-0", "f3-0", "f4-0"]  # fmt: skip
    assert main(["generate", d2, *base, "--overwrite"]) == 0
    assert sorted(EmbeddingQAFinetuneDataset.from_json(out).corpus) == ["f3-0", "f4-0"]
    assert main(["generate", d2, *base]) == 0  # a rerun into its own output


def test_overwrite_replaces_a_journal_of_other_chunks_that_a_crash_left_alone(
    fake_openai, tmp_path, capsys
):
    """A crashed run leaves ``out.json.journal.jsonl`` (other chunks) and no ``out.json``:
    ``--overwrite`` replaces it, as it replaces a dataset of other chunks."""
    server = fake_openai()
    out = tmp_path / "pairs.json"
    llm = ["--llm", "openai-like:m", "--api-base", server.url, "--api-key", "k", "-o", str(out)]
    assert main(["generate", str(write_docs(tmp_path / "first", n=2)), *llm]) == 0
    out.unlink()  # the crash: only the journal is left
    others = tmp_path / "second"
    others.mkdir()
    (others / "doc9.txt").write_text("CHUNK-9: the company reported item 9 in 2020. " * 5)
    capsys.readouterr()
    assert main(["generate", str(others), *llm]) == 2  # other chunks: refused
    assert main(["generate", str(others), *llm, "--overwrite"]) == 0
    assert sorted(EmbeddingQAFinetuneDataset.from_json(out).corpus) == ["doc9-0"]


def test_every_command_takes_dash_o_and_the_old_spelling_still_works():
    from llama_index.finetuning.cli.parser import build_parser

    parser = build_parser()
    for argv in (["generate", "x"], ["train", "d"], ["adapt", "d"], ["evaluate", "d"],
                 ["run", "--train", "t", "--val", "v"]):  # fmt: skip
        assert parser.parse_args([*argv, "-o", "here"]).output == "here"
        assert parser.parse_args([*argv, "--output", "here"]).output == "here"
    for argv in (["evaluate", "d"], ["run", "--train", "t", "--val", "v"]):
        assert parser.parse_args([*argv, "--output-dir", "old"]).output == "old"


def test_help_shows_every_default_and_reads_right():
    """Finding 20.5: "--epochs ... the engine's", "--no-quality-filter ... (default: True)"."""
    import inspect

    from llama_index.finetuning import (
        EmbeddingAdapterFinetuneEngine,
        SentenceTransformersFinetuneEngine,
    )
    from llama_index.finetuning.cli import parser as cli_parser

    p = cli_parser.build_parser()
    helps = {name: p._subparsers._group_actions[0].choices[name].format_help()
             for name in ("generate", "train", "adapt", "evaluate", "run")}  # fmt: skip
    for text in helps.values():
        assert "the engine's" not in text and "default: True" not in text
    assert "--quality-filter, --no-quality-filter" in helps["generate"]
    assert "(default: 2)" in helps["train"] and "(default: 16)" in helps["adapt"]
    st = inspect.signature(SentenceTransformersFinetuneEngine.__init__).parameters
    ad = inspect.signature(EmbeddingAdapterFinetuneEngine.__init__).parameters
    assert (cli_parser.ST_EPOCHS, cli_parser.ST_BATCH_SIZE, cli_parser.ST_HARD_NEGATIVES) == (
        st["epochs"].default, st["batch_size"].default, st["hard_negatives"].default)  # fmt: skip
    assert (cli_parser.ADAPTER_EPOCHS, cli_parser.ADAPTER_BATCH_SIZE) == (
        ad["epochs"].default, ad["batch_size"].default)  # fmt: skip
    for name in ("train", "adapt", "evaluate", "run"):  # one grammar, spelled the same
        assert "local:<folder or hub id>" in " ".join(helps[name].split())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "{dataset}", "--model", "openai:text-embedding-3-small"], "this command takes"),
        (["train", "{dataset}", "--model", "adapter:{dataset}"], "this command takes"),
        (
            ["run", "--train", "{dataset}", "--val", "{dataset}", "--model", "openai:x"],
            "this command takes",
        ),  # fmt: skip
        (["evaluate", "{dataset}", "--model", "x=gguf:model.gguf"], "unknown kind 'gguf'"),
        (["evaluate", "{dataset}", "--model", "x=adapter:/no/adapter"], "no such adapter folder"),
        (["adapt", "{dataset}", "--model", "no/such-model"], "is not in the Hugging Face cache"),
        (
            ["adapt", "{dataset}", "--model", "local:no/such-model"],
            "is not in the Hugging Face cache",
        ),  # fmt: skip
        (["generate", "{dataset}", "--round-trip-model", "adapter:x"], "this command takes"),
    ],
)
def test_one_model_grammar_refused_where_it_does_not_apply(tmp_path, capsys, argv, message):
    dataset = tmp_path / "d.json"
    dataset.write_text(
        json.dumps({"queries": {"q": "x?"}, "corpus": {"c": "y"}, "relevant_docs": {"q": ["c"]}})
    )
    argv = [a.format(dataset=dataset) for a in argv] + ["-o", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_quiet_and_log_level_and_the_root_logger_left_as_it_was(tmp_path, capsys):
    import logging

    docs, out = pseudo_docs(tmp_path / "docs", 1), tmp_path / "d.json"
    argv = ["generate", str(docs), "--generator", "pseudo", "-o", str(out)]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("asking for questions on 2 chunks: seconds (no LLM)")  # 20.6
    assert main([*argv, "-q"]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == [f"4 questions over 2 chunks -> {out}"] and not printed.err
    assert main([*argv, "--log-level", "debug"]) == 0
    assert "DEBUG llamaindex-finetune: 2 chunks from" in capsys.readouterr().err
    assert root.handlers == handlers and root.level == level  # main undoes its logging


def test_offline_embed_model_is_the_bundled_minilm_as_a_llamaindex_embedding():
    """The README's adapter block needs a BaseEmbedding for the bundled base model."""
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from llama_index.finetuning import offline_embed_model
    from llama_index.finetuning.resources import offline_base_model_path

    model = offline_embed_model()
    assert isinstance(model, BaseEmbedding)
    assert model.model_name == str(offline_base_model_path())
    assert len(model.get_text_embedding("revenue grew")) == 384


# ---- fail fast: a hub or an LLM that cannot be reached ---------------------------------------


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the with block ends: connections are refused


def hub_env(tmp_path):
    """The hub on (HF_HUB_OFFLINE unset) but at a closed local port, and an empty cache."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}  # fmt: skip
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}", HF_HOME=str(tmp_path / "hf"))
    return env


def cli_proc(env, *argv):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "llama_index.finetuning.cli", *map(str, argv)],
                          env=env, capture_output=True, text=True, timeout=600)  # fmt: skip


def test_a_hub_model_neither_cached_nor_reachable_fails_in_one_line(tmp_path):
    """Finding 20.4: 78 s of retry warnings before the error; now one metadata request."""
    data = tmp_path / "d.json"
    data.write_text(
        json.dumps({"queries": {"q": "x?"}, "corpus": {"c": "y"}, "relevant_docs": {"q": ["c"]}})
    )
    env = hub_env(tmp_path)
    for argv in (["train", data, "--model", "BAAI/bge-small-en", "-o", tmp_path / "m"],
                 ["evaluate", data, "--model", "x=acme/none", "-o", tmp_path / "r"]):  # fmt: skip
        proc = cli_proc(env, *argv)
        assert proc.returncode == 2, proc.stderr[-2000:]
        err = proc.stderr.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert "cannot be reached" in err and env["HF_ENDPOINT"] in err and "--model offline" in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_a_cached_hub_model_loads_when_the_hub_cannot_be_reached(tmp_path):
    """Cached and unreachable: the cache alone, not the download's retries."""
    import shutil

    from llama_index.finetuning.resources import offline_base_model_path

    env = hub_env(tmp_path)
    repo = tmp_path / "hf" / "hub" / "models--acme--minilm"
    commit = "0" * 40
    shutil.copytree(offline_base_model_path(), repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    data = tmp_path / "d.json"
    EmbeddingQAFinetuneDataset(
        queries={"q": "What was revenue?"}, corpus={"c": "Revenue was $3 billion."},
        relevant_docs={"q": ["c"]},
    ).save_json(data)  # fmt: skip
    proc = cli_proc(env, "evaluate", data, "--model", "x=acme/minilm", "-o", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| x |" in proc.stdout


@pytest.mark.parametrize("where", ["closed port", "unresolvable name"])
def test_an_llm_that_cannot_be_reached_ends_the_run_after_its_first_wave(where, tmp_path, capsys):
    """Finding 20.4: 64 s for 2 chunks against an unreachable endpoint. The CLI's client
    does not retry by itself, and generation starts no call after the first wave's."""
    from support.openai_server import make_nodes

    from llama_index.finetuning.generation import GenerationError, generate_qa_embedding_pairs
    from llama_index.finetuning.model_specs import build_llm

    api_base = f"http://127.0.0.1:{closed_port()}/v1" if where == "closed port" else "http://llm.invalid/v1"  # fmt: skip
    client = type(build_llm("openai-like:m", api_base, "k"))
    calls = []

    class Counting(client):  # the CLI's client, counting the calls generation makes
        async def acomplete(self, *args, **kwargs):
            calls.append(1)
            return await super().acomplete(*args, **kwargs)

    llm = Counting(model="m", api_base=api_base, api_key="k", is_chat_model=True, max_retries=0)
    with pytest.raises(GenerationError, match="cannot be used"):
        generate_qa_embedding_pairs(nodes=make_nodes(8), llm=llm, num_workers=2, output_path=None)
    assert 1 <= len(calls) <= 2  # the first wave; before, every chunk was tried 4 times
    assert build_llm("openai-like:m", api_base, "k").max_retries == 0

    docs = write_docs(tmp_path / "docs", n=3)
    argv = ["generate", str(docs), "--llm", "openai-like:m", "--api-base", api_base,
            "--no-round-trip", "-o", str(tmp_path / "d.json")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert api_base in err[-1] and "no other call was started" in err[-1]
    assert sum("error" in line for line in err) == 1


def test_the_library_never_configures_the_root_logger():
    """Logging is the application's; only the CLI's main() adds (and removes) a
    handler, for the command it runs."""
    import re
    from pathlib import Path

    import llama_index.finetuning as package

    pattern = re.compile(r"basicConfig\(|getLogger\(\)\.(set|add)|root\.(setLevel|addHandler)")
    found = [
        f"{path.name}: {line.strip()}"
        for path in Path(package.__file__).parent.rglob("*.py")
        if "cli" not in path.parts
        for line in path.read_text(encoding="utf-8").splitlines()
        if pattern.search(line)
    ]
    assert not found
