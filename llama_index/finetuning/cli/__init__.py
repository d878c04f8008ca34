"""``llamaindex-finetune``, the command line: :mod:`.main` (commands, errors, exit status),
:mod:`.parser` (arguments), :mod:`.steps` (building blocks) and :mod:`.run` (the whole run)."""

from .main import main
from .parser import build_parser

__all__ = ["build_parser", "main"]
