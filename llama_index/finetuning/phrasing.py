"""How advice names a parameter: Python keywords by default, the command line's flags there.

Example::

    from llama_index.finetuning.phrasing import Phrasing

    Phrasing().setting("temperature", 0.7)          # "temperature=0.7"
    cli = Phrasing(flags={"temperature": "--temperature"}, rerun="rerun the same command")
    cli.setting("temperature", 0.7)                  # "--temperature 0.7"

A message that suggests a setting builds it from the parameter and its value through one of
these, so the same advice reads right in a notebook and in a terminal, with no rewording of
finished strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Phrasing:
    """``flags``: parameter -> its flag (a parameter missing is said as a Python keyword);
    ``rerun``: how to run the same job again, said in advice; ``command``: what the caller
    runs, in words."""

    flags: Mapping[str, str] = field(default_factory=dict)
    rerun: str = "run the same job again to ask only those again"
    command: str = "the job"

    def name(self, param: str) -> str:
        """The parameter's name: its flag, or the keyword."""
        return self.flags.get(param, param)

    def setting(self, param: str, value: Any) -> str:
        """``param`` set to ``value``: ``--flag value`` (``--flag`` / ``--no-flag`` for a
        switch), or ``param=value``."""
        flag = self.flags.get(param)
        if flag is None:
            return f"{param}={value!r}"
        if value is True:
            return flag
        if value is False:
            return "--no-" + flag.removeprefix("--")
        return f"{flag} {value}"


PYTHON = Phrasing()


@dataclass(frozen=True)
class Echo:
    """The lines a job prints: results (its tables, its last line) always, informational
    lines (estimates, counts) unless ``quiet``.

    Example::

        echo = Echo(quiet=True)
        echo.info("asking for questions on 20 chunks")   # left out
        echo.result("pairs: 40 train")                    # printed
    """

    quiet: bool = False

    def info(self, text: str) -> None:
        """An informational line on stdout, unless ``quiet``."""
        if not self.quiet:
            print(text, flush=True)

    def result(self, text: str) -> None:
        """A result line on stdout."""
        print(text, flush=True)
