"""``llamaindex-finetune run``: the flags -> :class:`..job.FinetuneJob`, and its last line.

Example::

    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf --max-chunks 100
    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf --test my_questions.json

The job (:mod:`..job.finetune_job`) says how the validation pairs are split into a part
that chooses and a part that is reported on, and what ``run.json`` records. Each of
``--train``, ``--val`` and ``--test`` takes documents or one question set (a dataset JSON).
"""

from __future__ import annotations

import argparse

from .steps import echo, phrasing, rerun_command, settings

# run's flags that are the job's settings of the same name
SETTINGS = (
    "overwrite", "generator", "llm", "api_base", "api_key", "num_questions", "prompt",
    "temperature", "follow_up", "quality_filter", "round_trip_k", "round_trip_model", "append",
    "num_workers", "max_chunks", "max_val_chunks", "skip_unreadable", "chunk_size",
    "chunk_overlap", "seed", "report_fraction", "top_k", "model", "epochs", "batch_size",
    "hard_negatives", "merge", "adapter", "adapter_epochs", "adapter_batch_size",
)  # fmt: skip


def run(args: argparse.Namespace) -> None:
    """See the module docstring."""
    from ..job import FinetuneJob

    job = FinetuneJob(
        train=args.train, val=args.val, test=args.test, output_dir=args.output,
        **{name: getattr(args, name) for name in SETTINGS},
        quiet=bool(settings["quiet"]), verbose=bool(getattr(args, "verbose", False)),
        phrasing=phrasing(),
    )  # fmt: skip
    result = job.run(lock_command=rerun_command())
    echo().result(result.verdict)  # the verdict, last (too small: said)
