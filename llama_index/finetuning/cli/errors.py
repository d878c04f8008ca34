"""The two ways a command ends short of its goal, and their exit status (see ``--help``):
the library's own errors, by the names the command line has always used.

Example::

    from llama_index.finetuning.cli.errors import CLIError

    raise CLIError("--model x=: use NAME=SPEC")   # one line, exit status 2
"""

from ..errors import IncompleteResult as IncompleteRun  # printed as one line, exit 1
from ..errors import SettingError as CLIError  # a user error or a refusal: one line, exit 2

__all__ = ["CLIError", "IncompleteRun"]
