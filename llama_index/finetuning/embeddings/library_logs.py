"""sentence-transformers' details (its evaluator's tables, model loading) at DEBUG, not INFO.

Example::

    with library_details_at_debug():
        trainer.train()   # the evaluator's "Accuracy@1: ..." tables are not logged at INFO

A notebook that configured logging at INFO (``llama-index-readers-file`` does so at import,
through ``logging.basicConfig``) showed hundreds of lines per training: the evaluator's table
at every evaluation, each model load. They are details: shown when this package's logger is
at DEBUG, or when the application set sentence-transformers' own logger level (the command
line's ``-v`` does); otherwise they are held back for the call and the level is restored.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

DETAIL_LOGGERS = ("sentence_transformers",)
_OWN = logging.getLogger("llama_index.finetuning")


@contextlib.contextmanager
def library_details_at_debug() -> Iterator[None]:
    """Hold back the INFO lines of :data:`DETAIL_LOGGERS` for the block (see the module)."""
    held = [
        logger
        for logger in map(logging.getLogger, DETAIL_LOGGERS)
        if logger.level == logging.NOTSET and not _OWN.isEnabledFor(logging.DEBUG)
    ]
    for logger in held:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger in held:
            logger.setLevel(logging.NOTSET)
