"""How advice names a parameter: Python keywords by default, the command line's flags there.

Example::

    from llama_index.finetuning.phrasing import Phrasing

    Phrasing().setting("temperature", 0.7)          # "temperature=0.7"
    cli = Phrasing(flags={"temperature": "--temperature"}, rerun="rerun the same command")
    cli.setting("temperature", 0.7)                  # "--temperature 0.7"

A message that suggests a setting builds it from the parameter and its value through one of
these, so the same advice reads right in a notebook and in a terminal, with no rewording of
finished strings. An error raised below the command line carries its advice as data
(:class:`PhrasedError`: text and :class:`Setting` parts): ``str(error)`` says it in Python
keywords, ``error.in_words(phrasing)`` in the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Phrasing:
    """How a caller names settings in advice.

    Example::

        Phrasing().setting("overwrite", True)                                  # "overwrite=True"
        Phrasing(flags={"overwrite": "--overwrite"}).setting("overwrite", True)  # "--overwrite"

    ``flags``: parameter -> its flag (a parameter missing is said as a Python keyword);
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

#: ``Setting(param)`` without a value: the parameter's name alone (``model_id`` / ``--model``).
NAME_ONLY: Any = object()


@dataclass(frozen=True)
class Setting:
    """One parameter an error's advice names, with the value it advises (or its name alone).

    Example::

        Setting("overwrite", True).said(PYTHON)                              # "overwrite=True"
        Setting("overwrite", True).said(Phrasing(flags={"overwrite": "--overwrite"}))  # "--overwrite"
        Setting("model_id").said(Phrasing(flags={"model_id": "--model"}))    # "--model"
    """

    param: str
    value: Any = NAME_ONLY

    def said(self, phrasing: Phrasing) -> str:
        if self.value is NAME_ONLY:
            return phrasing.name(self.param)
        return phrasing.setting(self.param, self.value)


class PhrasedError(Exception):
    """An error whose message names parameters as data, said in the caller's words.

    Example::

        class MyError(PhrasedError, ValueError): ...

        error = MyError("out: refused; pass ", Setting("overwrite", True), " to write into it")
        str(error)                                                  # "... pass overwrite=True ..."
        error.in_words(Phrasing(flags={"overwrite": "--overwrite"}))  # "... pass --overwrite ..."

    ``parts`` are text and :class:`Setting` s; a plain string alone is a message with no advice.
    """

    def __init__(self, *parts: str | Setting) -> None:
        self.parts = parts
        super().__init__(self.in_words(PYTHON))

    def in_words(self, phrasing: Phrasing = PYTHON) -> str:
        """The message with each setting said as ``phrasing`` says it."""
        return "".join(p if isinstance(p, str) else p.said(phrasing) for p in self.parts)


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
