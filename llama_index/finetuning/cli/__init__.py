"""``llamaindex-finetune``, the command line: :mod:`.main` (commands, errors, exit status),
:mod:`.parser` (arguments), :mod:`.steps` (flags -> library calls) and :mod:`.run` (flags ->
:class:`..job.FinetuneJob`). The work is the library's (:mod:`..job`, :mod:`..model_specs`)."""

from .main import main
from .parser import build_parser

__all__ = ["build_parser", "main"]
