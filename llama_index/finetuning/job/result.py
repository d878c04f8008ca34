"""What :meth:`FinetuneJob.run` returns: the sets, the saved model and adapter, the report.

Example::

    result = FinetuneJob(train=["lyft.pdf"], val=["uber.pdf"], output_dir="out").run()
    result.report.to_markdown()   # base, finetuned and adapter on the report questions
    result                        # in a notebook: that table and the verdict line
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class JobResult:
    """The whole job's result; everything in it is also saved under ``output_dir``.

    Example::

        result = FinetuneJob(train=["lyft.pdf"], val=["uber.pdf"], output_dir="out").run()
        print(result)                       # the verdict line, then the report table
        model = result.model_dir            # a sentence-transformers folder: local:<folder>

    ``train``, ``selection``, ``report_set``: the training pairs, the questions that chose
    the checkpoint and the adapter epoch, and the questions reported on (which chose
    nothing); ``report`` and ``selection_report``: the comparisons (``compare``) of base,
    finetuned and adapter on those two; ``model_result`` and ``adapter_result``: what
    each engine's ``finetune()`` returned (its ``FinetuneResult``, also saved with it);
    ``seconds``: stage -> seconds; ``record``: what ``run.json`` holds.
    """

    train: Any
    selection: Any
    report_set: Any
    model_dir: Path
    adapter_dir: Path
    report: Any
    selection_report: Any
    model_result: Any = None
    adapter_result: Any = None
    seconds: dict[str, float] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """One line: what was saved, and how each model did against the base on the report
        set (the line ``llamaindex-finetune run`` ends with)."""
        from .verdict import run_ending

        return run_ending(self.report, self.model_dir, self.adapter_dir)

    def __str__(self) -> str:
        return f"{self.verdict}\n\n{self.report.to_markdown()}"

    def _repr_markdown_(self) -> str:
        return f"{self.report.to_markdown()}\n\n{self.verdict}"
