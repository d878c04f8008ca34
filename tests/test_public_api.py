"""The public names of ``llama_index.finetuning``: each resolves lazily, and each class or
function opens its documentation with an example."""

from __future__ import annotations

import subprocess
import sys

import llama_index.finetuning as finetuning


def test_every_public_name_resolves_and_shows_an_example():
    for name in finetuning.__all__:
        value = getattr(finetuning, name)
        if isinstance(value, str):  # the prompt template
            continue
        assert "Example::" in (value.__doc__ or ""), f"{name}'s docstring has no example"


def test_the_errors_a_caller_catches_are_public_and_import_no_torch():
    code = (
        "import sys\n"
        "from llama_index.finetuning import FinetuneResult, GenerationError, GenerationWarning,"
        " OutputExistsError, SmallSetWarning\n"
        "assert issubclass(OutputExistsError, FileExistsError)\n"
        "assert issubclass(GenerationError, RuntimeError)\n"
        "assert issubclass(SmallSetWarning, UserWarning) and issubclass(GenerationWarning, UserWarning)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
