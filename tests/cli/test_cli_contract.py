"""The command line's contract: every command in every situation a user meets
ends with the README's exit status, one line saying why, no traceback, and every file the
user had before it byte for byte the same after it.

    situation                        generate  train  adapt  evaluate  run
    missing input                       2        2      2       2       2
    a user's file as the output         2        2      2       2       2
    a user's folder as the output       2        2      2       2       2
    an own output holding other data    2        2      2       2       2
    a rerun into its own output         0        0      0       0       0
    a run that keeps nothing            1        0*     0*     n/a      1
    a partial run                       1       n/a    n/a     n/a      1
    Ctrl-C                             130      130    130     130     130

"Own output holding other data": generate and run, a dataset of other chunks; train, an
adapter's folder; adapt and evaluate, a model's folder. "Keeps nothing": generate and run,
no chunk gives a question; train and adapt (*), the validation set keeps the base model
(the adapter that changes nothing): they did what was asked and end 0, their last line
saying so. n/a: an evaluation keeps its table whatever the scores; a training or an
evaluation has no part that can be missing (it finishes or fails). The cheapest real paths
run every cell: the pseudo generator, the local OpenAI-compatible server for the LLM,
the bundled MiniLM for one step; in process (``main(argv)``), Ctrl-C in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli_proc import default_sigint, in_process, snapshot

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.output_lock import lock_path
from llama_index.finetuning.outputs import claim_dir

COMMANDS = ("generate", "train", "adapt", "evaluate", "run")
CELLS = {
    "missing_input": dict.fromkeys(COMMANDS, 2),
    "users_file": dict.fromkeys(COMMANDS, 2),
    "users_folder": dict.fromkeys(COMMANDS, 2),
    "own_output_other_data": dict.fromkeys(COMMANDS, 2),
    "rerun": dict.fromkeys(COMMANDS, 0),
    "keeps_nothing": {
        "generate": 1,
        "train": 0,
        "adapt": 0,
        "evaluate": "n/a: an evaluation keeps its table whatever the scores",
        "run": 1,
    },
    "partial": {
        "generate": 1,
        "train": "n/a: a training finishes or fails; no part of it can be missing",
        "adapt": "n/a: a training finishes or fails; no part of it can be missing",
        "evaluate": "n/a: an evaluation finishes or fails; no part of it can be missing",
        "run": 1,
    },
}
TOPICS = ["revenue", "drivers", "insurance", "bikes", "scooters", "airports"]


def call(*argv) -> tuple[int, str, str]:
    """``main(argv)`` in this process: (exit status, stdout, stderr)."""
    proc = in_process(*argv)
    return proc.returncode, proc.stdout, proc.stderr


def assert_ending(command: str, code: int, err: str, expected: int) -> None:
    """The exit status; for a non-zero one, one line of ours saying why, the last one; for a
    refusal, nothing before it but this package's stage lines; never a traceback."""
    assert code == expected, err[-3000:]
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith(f"llamaindex-finetune {command}:")]
    if expected == 0:
        assert not ours, err
        return
    assert len(ours) == 1 and lines[-1] == ours[0], err
    if expected == 2:
        assert all(line.startswith("INFO llamaindex-finetune:") for line in lines[:-1]), err


def dataset(path: Path, n: int = 4, prefix: str = "") -> Path:
    """Questions the bundled MiniLM already answers perfectly: training keeps the base."""
    EmbeddingQAFinetuneDataset(
        queries={f"{prefix}q{i}": f"What about {TOPICS[i % 6]} number {i}?" for i in range(n)},
        corpus={
            f"{prefix}c{i}": f"Section {i}: {TOPICS[i % 6]} grew by {i} percent." for i in range(n)
        },  # fmt: skip
        relevant_docs={f"{prefix}q{i}": [f"{prefix}c{i}"] for i in range(n)},
    ).save_json(path)
    return path


def prose(folder: Path, n: int = 2, first: int = 0) -> Path:
    """Documents with sentences a pseudo-query can be (and ``CHUNK-<i>`` keys for the server)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n):
        (folder / f"doc{i}.txt").write_text(
            f"CHUNK-{i}: in fiscal year {2018 + i} the company reported growth in "
            f"{TOPICS[i % 6]} across its {i + 3} largest markets. Management attributed the "
            f"change in {TOPICS[i % 6]} to pricing decisions made during quarter {i % 4 + 1}."
        )
    return folder


@pytest.fixture
def area(tmp_path):
    """The user's files (``mine``: inputs, a file, a folder) and a place for outputs."""
    mine = tmp_path / "mine"
    prose(mine / "docs")
    (mine / "figures").mkdir()
    (mine / "figures" / "table.txt").write_text("2019 2020 2021\n1.2 3.4 5.6\n7.8 9.0 1.2\n")
    dataset(mine / "data.json")
    (mine / "notes.txt").write_text("my notes, not a dataset")
    (mine / "project").mkdir()
    (mine / "project" / "README.md").write_text("# my project")
    return {"mine": mine, "out": tmp_path / "out"}


def argv_for(command: str, area: dict, out: Path | str, **swap) -> list:
    """The cheapest real invocation of ``command`` writing ``out``; ``swap`` replaces inputs."""
    mine = area["mine"]
    docs, data = swap.get("docs", mine / "docs"), swap.get("data", mine / "data.json")
    pseudo = ["--generator", "pseudo", "--num-questions", "1"]
    llm = swap.get("llm")  # the local server, instead of the pseudo generator
    gen = ["--llm", "openai-like:m", "--api-base", llm, "--no-round-trip"] if llm else pseudo
    train = ["--epochs", "1", "--hard-negatives", "0", "--adapter-epochs", "1"]
    return {
        "generate": ["generate", docs, "-o", out, *gen],
        "train": ["train", data, "--val", data, "-o", out, *train[:4]],
        "adapt": ["adapt", data, "--val", data, "-o", out, *train[4:]],
        "evaluate": ["evaluate", data, "-o", out],
        "run": ["run", "--train", docs, "--val", data, "--test", data, "-o", out, *gen, *train],
    }[command]


def params():
    for cell, expected in CELLS.items():
        for command in COMMANDS:
            status = expected[command]
            marks = [pytest.mark.skip(reason=status)] if isinstance(status, str) else []
            yield pytest.param(cell, command, status, marks=marks, id=f"{cell}-{command}")


# ---- the cells that need no training: one call each -----------------------------------------


def setup_other_data(command: str, area: dict) -> Path:
    """An output this package wrote that holds other data than ``command`` would write."""
    out = area["out"] / command
    if command == "generate":
        other = prose(area["out"] / "other_docs", first=5)
        assert call("generate", other, "-o", out, "--generator", "pseudo")[0] == 0
    elif command == "run":
        claim_dir(out, "run")
        other = prose(area["out"] / "other_docs", first=5)
        code = call("generate", other, "-o", out / "train_dataset.json", "--generator", "pseudo")
        assert code[0] == 0
    else:
        kind = {"train": "adapter", "adapt": "model", "evaluate": "model"}[command]
        claim_dir(out, kind)
        (out / "config.json").write_text('{"theirs": true}')
    return out


@pytest.mark.parametrize(
    "cell, command, expected",
    [p for p in params() if p.values[0] in ("missing_input", "users_file", "users_folder",
                                             "own_output_other_data")],
)  # fmt: skip
def test_refusals(area, cell, command, expected):
    mine = area["mine"]
    out, swap, needle = area["out"] / command, {}, None
    if cell == "missing_input":
        swap = {"docs": mine / "missing.pdf", "data": mine / "missing.json"}
        needle = "missing"
    elif cell == "users_file":
        out, needle = mine / "notes.txt", "notes.txt"
    elif cell == "users_folder":
        out, needle = mine / "project", "project"
    else:
        out = setup_other_data(command, area)
        needle = "--append" if command in ("generate", "run") else "--overwrite"
    before, before_out = snapshot(mine), snapshot(area["out"])
    code, _, err = call(*argv_for(command, area, out, **swap))
    assert_ending(command, code, err, expected)
    assert needle in err.splitlines()[-1], err
    assert snapshot(mine) == before and snapshot(area["out"]) == before_out
    assert not lock_path(out).exists()


@pytest.mark.parametrize(
    "cell, command, expected",
    [p for p in params() if p.values[0] == "partial"
     or (p.values[0] == "keeps_nothing" and p.values[1] in ("generate", "run"))],
)  # fmt: skip
def test_generation_that_falls_short(area, fake_openai, cell, command, expected):
    """No chunk gives a question, or some LLM calls fail: exit 1 saying how many and why;
    the rerun of a partial run resumes and, still short, ends 1 again."""
    mine, out = area["mine"], area["out"] / command
    before = snapshot(mine)
    if cell == "keeps_nothing":
        argv = argv_for(command, area, out, docs=mine / "figures")
        code, _, err = call(*argv)
        assert_ending(command, code, err, expected)
        assert "no chunk got a question" in err.splitlines()[-1]
    else:
        # fails twice over, 4 tries a run; a 429 says "again at once" (Retry-After: 0), so
        # the retries wait no back-off (a 400 waited 4-7 s a run, which is not under test)
        server = fake_openai(faults={"CHUNK-1": [429] * 8})
        argv = argv_for(command, area, out, llm=server.url)
        for said in ("1 of 2 chunks got no questions", "every chunk asked failed (1 of 1)"):
            code, _, err = call(*argv)  # the second run resumes CHUNK-0, asks CHUNK-1 again
            assert_ending(command, code, err, expected)
            last = err.splitlines()[-1]
            assert said in last and "rerun the same command" in last, last
        assert server.requests_per_key["CHUNK-0"] == 1 and server.requests_per_key["CHUNK-1"] == 8
    assert snapshot(mine) == before


def test_generate_exits_0_when_every_chunk_was_answered_and_says_what_helps(area, fake_openai):
    """An answer with no question ends `generate` 0 (a greedy writer would answer a plain
    rerun the same, and `generate && train` must go on): a line saying how many and why, and advice that can work (--temperature), which does:
    the rerun with it asks only that chunk, and gets its question."""
    server = fake_openai(faults={"CHUNK-1": ["empty"] * 2})  # the same empty answer twice
    out = area["out"] / "d.json"
    argv = argv_for("generate", area, out, llm=server.url)
    code, stdout, err = call(*argv, "--temperature", "0")
    assert_ending("generate", code, err, 0)
    note, last = stdout.strip().splitlines()[-2:]
    assert "1 of 2 chunks got no questions (1: the LLM's answer held no question)" in note, note
    assert "--temperature 0.7" in note and "rerun the same command" not in note, note
    assert last.endswith(f"-> {out}"), last  # the verdict stays last
    asked = server.requests_per_key["CHUNK-1"]
    code, stdout, err = call(*argv, "--temperature", "0.7")  # the advice, taken
    assert_ending("generate", code, err, 0)
    assert server.requests_per_key["CHUNK-0"] == 1 and server.requests_per_key["CHUNK-1"] > asked
    assert server.temperatures[-1] == 0.7
    assert "got no questions" not in stdout
    assert len(EmbeddingQAFinetuneDataset.from_json(out).relevant_docs) >= 2


def test_generate_exits_0_when_the_gate_empties_a_chunk(area, fake_openai):
    """The gate emptying a chunk ends `generate` 0: it did what was asked."""
    from support.answer_modes import numbered

    def junk_for_chunk_1(key, prompt, n):  # questions about the source, which the gate drops
        if key == "CHUNK-1":
            return "1. What does the document say?\n2. What is the text about?"
        return numbered(key, prompt, n)

    server = fake_openai(answer=junk_for_chunk_1)
    out = area["out"] / "d.json"
    code, stdout, err = call(*argv_for("generate", area, out, llm=server.url))
    assert_ending("generate", code, err, 0)
    note = stdout.strip().splitlines()[-2]
    assert "1 of 2 chunks got no questions (1: the quality gate dropped all of theirs)" in note
    assert "--no-quality-filter" in note and "rerun the same command" not in note, note


# ---- reruns and trainings that keep nothing: each command twice into its own output ----------


@pytest.fixture(scope="module")
def twice(tmp_path_factory):
    """Each command run twice into the same output: the first is the "keeps nothing" cell
    of train and adapt (their validation set keeps the base), the second the rerun cell."""
    root = tmp_path_factory.mktemp("twice")
    mine = root / "mine"
    prose(mine / "docs")
    dataset(mine / "data.json")
    area = {"mine": mine, "out": root / "out"}
    results = {}
    for command in COMMANDS:
        before = snapshot(mine)
        out = area["out"] / command
        runs = [call(*argv_for(command, area, out)) for _ in range(2)]
        results[command] = (runs, snapshot(mine) == before)
    return results


@pytest.mark.parametrize(
    "cell, command, expected",
    [p for p in params() if p.values[0] == "rerun"
     or (p.values[0] == "keeps_nothing" and p.values[1] in ("train", "adapt", "evaluate"))],
)  # fmt: skip
def test_runs_into_own_output(twice, cell, command, expected):
    runs, unchanged = twice[command]
    code, out, err = runs[1 if cell == "rerun" else 0]
    assert_ending(command, code, err, expected)
    assert unchanged
    if cell == "keeps_nothing":  # the last line says the base was kept, and why
        assert out.strip().splitlines()[-1].startswith("kept the"), out


# ---- Ctrl-C -----------------------------------------------------------------------------------

ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


@pytest.mark.parametrize("command", COMMANDS)
def test_ctrl_c(area, fake_openai, command):
    """SIGINT once the command is at work (it holds its output's lock, or the LLM has been
    asked): 130, one line, the user's files as they were, no lock left behind."""
    mine, out = area["mine"], area["out"] / command
    server = fake_openai(latency=0.5)
    llm = server.url if command in ("generate", "run") else None
    argv = argv_for(command, area, out, llm=llm, docs=prose(mine / "many", n=8))
    if llm:
        argv += ["--num-workers", "1"]
    before = snapshot(mine)
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_index.finetuning.cli", *map(str, argv)], env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if (server.completion_requests >= 2) if llm else lock_path(out).exists():
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if ": interrupted" in line]
    assert len(lines) == 1 and lines[0].startswith(f"llamaindex-finetune {command}: interrupted")
    assert "rerun the same command" in lines[0]
    assert snapshot(mine) == before
    assert not lock_path(out).exists()


@pytest.mark.parametrize("where", ["flock", "write"])
def test_ctrl_c_while_the_lock_is_taken_leaves_no_lock_file(tmp_path, monkeypatch, where):
    """A Ctrl-C lands between creating the lock file and holding it (test_ctrl_c[train] hit
    that window on a busy machine): the file goes with the interrupted run. The interrupt is
    raised by the OS call it would interrupt."""
    import fcntl

    from llama_index.finetuning.output_lock import output_lock

    owner, name = (fcntl, "flock") if where == "flock" else (os, "write")
    real = getattr(owner, name)

    def interrupted(*args, **kwargs):
        monkeypatch.setattr(owner, name, real)
        raise KeyboardInterrupt

    out = tmp_path / "out" / "model"
    monkeypatch.setattr(owner, name, interrupted)
    with pytest.raises(KeyboardInterrupt):
        output_lock(out).acquire()
    assert not lock_path(out).exists()
    with output_lock(out):  # and the next run takes it
        assert lock_path(out).exists()
    assert not lock_path(out).exists()


# ---- the lock -----------------------------------------------------------------------------------


def test_a_second_run_into_an_output_being_written_is_refused_naming_the_first(area, fake_openai):
    """Of two generate runs into one output, the second is refused at once, naming the first's pid; once the first is killed (its lock stale),
    a run takes the output over and resumes it."""
    server = fake_openai(latency=0.5)
    out = area["out"] / "d.json"
    argv = argv_for("generate", area, out, llm=server.url, docs=prose(area["mine"] / "many", 6))
    argv += ["--num-workers", "1"]
    first = subprocess.Popen(
        [sys.executable, "-m", "llama_index.finetuning.cli", *map(str, argv)], env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while server.completion_requests < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    # the first's next call waits, so however long ours takes to start, the first adds one
    server.latency = 60
    asked = server.completion_requests
    code, _, err = call(*argv)
    assert_ending("generate", code, err, 2)
    assert f"pid {first.pid}" in err and "llamaindex-finetune generate" in err
    assert server.completion_requests - asked <= 1  # the first's next call, none of ours

    first.kill()  # SIGKILL: no clean-up, the lock file stays behind
    first.wait(timeout=60)
    assert lock_path(out).exists()
    server.latency = 0  # it was there to catch the first run at work
    code, _, err = call(*argv)
    assert_ending("generate", code, err, 0)
    assert len(EmbeddingQAFinetuneDataset.from_json(out).corpus) == 6
    assert not lock_path(out).exists()
    assert json.loads(out.read_text())["corpus"]
