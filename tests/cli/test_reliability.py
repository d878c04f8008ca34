"""Nothing a user made is lost: each bad input a user meets, through the real command line
(``main(argv)`` in this process; a subprocess where the process's umask is the point), and
its files byte for byte the same after it.

Every test asserts what a user sees and keeps: the exit status, one line of error and no
traceback, and every file the user had before the command byte for byte the same after it.
No test needs the slow local LLM: ``--generator pseudo`` or the local OpenAI-compatible
server (``fake_openai``) write the questions. How runs end (partial, unreachable, Ctrl-C, bad
input): tests/test_run_endings.py.
"""

from __future__ import annotations

import stat

import pytest
from support.cli_proc import (
    assert_one_line_error,
    cli,
    in_process,
    small_dataset,
    snapshot,
    write_docs,
)

from llama_index.finetuning import EmbeddingQAFinetuneDataset


@pytest.fixture
def user_folder(tmp_path):
    """A folder of the user's own files, as in finding 12.1."""
    folder = tmp_path / "myproject"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes")
    (folder / "config.json").write_text('{"mine": true}')
    (folder / "README.md").write_text("# my project")
    (folder / "checkpoints" / "important.txt").write_text("do not delete")
    return folder


# ---- 12.1 never clobber ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "adapt", "evaluate"])
def test_a_users_folder_is_refused_by_every_command_that_writes_one(tmp_path, user_folder, command):
    before = snapshot(user_folder)
    proc = in_process(command, small_dataset(tmp_path / "d.json"), "-o", user_folder)
    assert_one_line_error(proc, 2, str(user_folder), "--overwrite")
    assert snapshot(user_folder) == before


def test_run_refuses_a_users_folder_before_any_work(tmp_path, user_folder):
    before = snapshot(user_folder)
    docs = write_docs(tmp_path / "docs")
    proc = in_process("run", "--train", docs, "--val", docs, "--generator", "pseudo",
                      "--output-dir", user_folder)  # fmt: skip
    assert_one_line_error(proc, 2, str(user_folder), "--overwrite")
    assert snapshot(user_folder) == before


def test_overwrite_writes_the_model_but_deletes_nothing_of_the_users(tmp_path, user_folder):
    before = snapshot(user_folder)
    data = small_dataset(tmp_path / "d.json", n=4)  # one training step: the folder is the point
    # a user's checkpoints/ would be deleted with the working files: refused even so
    proc = in_process("train", data, "--output", user_folder, "--overwrite", "--epochs", "1")
    assert_one_line_error(proc, 2, str(user_folder / "checkpoints"))
    assert snapshot(user_folder) == before

    (user_folder / "checkpoints" / "important.txt").rename(user_folder / "important.txt")
    (user_folder / "checkpoints").rmdir()
    before = snapshot(user_folder)
    proc = in_process("train", data, "--output", user_folder, "--overwrite", "--epochs", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = snapshot(user_folder)
    for name in ("notes.txt", "important.txt"):  # the user's, not the model's: kept as they were
        assert after[name] == before[name]
    assert (user_folder / "modules.json").exists() and not (user_folder / "checkpoints").exists()

    # the folder is now the package's: a second run needs no flag
    proc = in_process("train", data, "--output", user_folder, "--epochs", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert snapshot(user_folder)["notes.txt"] == before["notes.txt"]


# ---- 12.2 an unrelated file as the dataset output -----------------------------------------


@pytest.mark.parametrize("generator", ["pseudo", "llm"])
def test_generate_refuses_an_unrelated_json_file(tmp_path, fake_openai, generator):
    (tmp_path / "package.json").write_text('{"name": "my-package", "version": "1.0"}')
    docs = write_docs(tmp_path / "docs")
    before = snapshot(tmp_path)
    server = fake_openai()
    proc = in_process("generate", docs, "--output", tmp_path / "package.json", "--generator",
                      generator, "--llm", "openai-like:m", "--api-base", server.url)  # fmt: skip
    assert_one_line_error(proc, 2, "package.json", "--overwrite")
    assert snapshot(tmp_path) == before
    assert server.completion_requests == 0


# ---- 12.3 same file names in two folders ---------------------------------------------------


def test_files_of_the_same_name_in_two_folders_both_arrive(tmp_path):
    for year in ("2020", "2021"):
        (tmp_path / "dup" / year).mkdir(parents=True)
        (tmp_path / "dup" / year / "report.txt").write_text(
            f"Revenue in {year} grew as riders returned to the platform in many cities. "
            f"The company expanded its bike program in {year} and hired more drivers."
        )
    proc = in_process("generate", tmp_path / "dup", "--generator", "pseudo",
                      "--num-questions", "1", "--output", tmp_path / "d.json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    ds = EmbeddingQAFinetuneDataset.from_json(tmp_path / "d.json")
    assert sorted(ds.corpus) == ["2020/report-0", "2021/report-0"]


# ---- 12.4 / 12.5 exit codes that tell the truth ---------------------------------------------


def test_files_are_written_with_the_users_umask(tmp_path):
    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    # a user's shell: the umask a fresh process inherits (the other commands set it here)
    proc = cli("generate", write_docs(tmp_path / "docs"), "--generator", "pseudo",
               "--output", tmp_path / "d.json", umask=0o022)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert mode(tmp_path / "d.json") == 0o644

    data = small_dataset(tmp_path / "small.json")
    proc = in_process(
        "adapt", data, "--output", tmp_path / "ad", "--adapter-epochs", "1", umask=0o027
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {mode(p) for p in (tmp_path / "ad").iterdir()} == {0o640}

    proc = in_process("evaluate", data, "--output-dir", tmp_path / "ev", umask=0o022)
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = [p for p in (tmp_path / "ev").rglob("*") if p.is_file()]
    assert files and {mode(p) for p in files} == {0o644}


# ---- 12.8 Ctrl-C ---------------------------------------------------------------------------


def test_engines_and_compare_refuse_a_users_folder_before_any_work(tmp_path, user_folder):
    from llama_index.core.embeddings import MockEmbedding

    from llama_index.finetuning import (
        EmbeddingAdapterFinetuneEngine,
        SentenceTransformersFinetuneEngine,
        compare,
    )
    from llama_index.finetuning.outputs import OutputExistsError

    before = snapshot(user_folder)
    data = EmbeddingQAFinetuneDataset.from_json(small_dataset(tmp_path / "d.json"))
    engines = [
        SentenceTransformersFinetuneEngine(data, model_id="offline", model_output_path=str(user_folder)),
        EmbeddingAdapterFinetuneEngine(data, MockEmbedding(embed_dim=8), model_output_path=str(user_folder)),
    ]  # fmt: skip
    for engine in engines:
        with pytest.raises(OutputExistsError, match="overwrite"):
            engine.finetune()
    with pytest.raises(OutputExistsError, match="overwrite"):
        compare(data, {"base": MockEmbedding(embed_dim=8)}, output_dir=user_folder)
    assert snapshot(user_folder) == before


def test_a_marker_being_written_by_another_process_is_not_a_users_file(tmp_path):
    """Under torchrun every rank checks the folder while rank 0 may be writing the marker."""
    from llama_index.finetuning.outputs import (
        MARKER,
        OutputExistsError,
        check_output_dir,
        check_scratch_dir,
    )

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / f".{MARKER}.k2j3h4.tmp").write_text("{")
    assert check_output_dir(folder) == folder
    assert check_scratch_dir(folder) == folder
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        check_output_dir(folder)
    with pytest.raises(OutputExistsError):
        check_scratch_dir(folder)
