"""The two ways a job ends short of its goal.

Example::

    from llama_index.finetuning.errors import IncompleteResult, SettingError

    try:
        FinetuneJob(train=["a.pdf"], val=["b.pdf"], output_dir="out").run()
    except SettingError as e:  # refused before any work: a bad setting, input or output
        print(e)
    except IncompleteResult as e:  # it ran, but not all of it (LLM calls failed)
        print(e)

The command line maps them to its exit status (2 and 1); advice in their messages names
settings through a :class:`..phrasing.Phrasing` (keywords in Python, flags in the CLI).
"""

from __future__ import annotations

from .phrasing import PhrasedError


class SettingError(PhrasedError, ValueError):
    """A setting, input or output refused before any work (the message names it).

    Example::

        raise SettingError("report_fraction must be between 0 and 1, got 2")
    """


class IncompleteResult(RuntimeError):
    """The job ran but did not produce all it was asked (e.g. LLM calls failed); what it
    did produce is saved, and the message says how many, why and what can mend it.

    Example::

        raise IncompleteResult("2 of 20 chunks got no questions (2: the LLM call failed)")
    """
