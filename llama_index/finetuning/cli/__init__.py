"""``llamaindex-finetune``, the command line: see :mod:`.main` (commands) and :mod:`.steps`."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
