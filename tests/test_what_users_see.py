"""Issue 26: what a user sees is true and useful: each command ends on its verdict, said
once; -q is quiet; failures leave nothing behind; a folder with a bad file can be read.

Through the real command line (``main(argv)`` in this process, ``cli`` where the test is
about a process), with the bundled MiniLM and the local OpenAI-compatible server.
"""

from __future__ import annotations

from cli_proc import in_process, small_dataset

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
