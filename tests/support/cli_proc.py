"""Run the real command line, and check what a user sees and keeps.

Example::

    proc = cli("generate", "missing.pdf")  # a fresh interpreter, as a user starts it
    assert_one_line_error(proc, 2, "missing.pdf")
    proc = in_process("generate", "missing.pdf")  # main(argv) here: the same answer, faster

``cli`` is for what is about a process (its exit status, Ctrl-C, a kill); ``in_process``
runs the same ``main(argv)`` the console script runs, in this process, without the seconds
a fresh interpreter spends importing torch for each command. It sees what Python code writes
to ``sys.stdout`` and ``sys.stderr``; what native code writes straight to the file
descriptors shows only through ``cli``.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from llama_index.finetuning import EmbeddingQAFinetuneDataset

ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
ENV.pop("OPENAI_API_KEY", None)


def cli(*argv, cwd=None, umask=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llama_index.finetuning.cli", *map(str, argv)],
        env=ENV, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )  # fmt: skip


def in_process(*argv, cwd=None, umask=None) -> subprocess.CompletedProcess:
    """``main(argv)`` in this process, in ``cwd`` and under ``umask`` if given, with the
    environment ``cli`` gives (no OPENAI_API_KEY): its exit status, stdout and stderr."""
    from llama_index.finetuning.cli import main

    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    here, key = os.getcwd(), os.environ.pop("OPENAI_API_KEY", None)
    mask = os.umask(umask) if umask is not None else None
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse: --help, --version, a bad argument
                code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    finally:
        os.chdir(here)
        if mask is not None:
            os.umask(mask)
        if key is not None:
            os.environ["OPENAI_API_KEY"] = key
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def assert_one_line_error(proc, status: int, *needles: str) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stderr[-2000:])
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def write_docs(folder: Path, n: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(
            f"CHUNK-{i}: the company reported revenue item {i} in 2021. "
            f"Drivers in city {i} were paid more than riders expected. " * 3
        )
    return folder


def small_dataset(path: Path, n: int = 12) -> Path:
    topics = ["revenue", "drivers", "insurance", "bikes", "scooters", "airports"]
    EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"What about {topics[i % 6]} number {i}?" for i in range(n)},
        corpus={f"c{i}": f"Section {i}: {topics[i % 6]} grew by {i} percent." for i in range(n)},
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(n)},
    ).save_json(path)
    return path


def default_sigint() -> None:
    """``preexec_fn`` for a child that must take SIGINT as Ctrl-C: a suite started as a
    background job inherits SIGINT ignored, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
