"""The whole job as one library call: :class:`FinetuneJob` does what ``llamaindex-finetune
run`` does and returns a :class:`JobResult`.

Example::

    from llama_index.finetuning.job import FinetuneJob

    result = FinetuneJob(train=["lyft.pdf"], val=["uber.pdf"], output_dir="out").run()
    print(result)

Modules: :mod:`.finetune_job` (the job), :mod:`.questions` (files -> pairs),
:mod:`.shortfall` (chunks left without a question), :mod:`.question_sets` (sets given as
files, the validation split, what a set is searched among), :mod:`.training` (the two
engines and the comparison), :mod:`.verdict` (the last line), :mod:`.result`.
"""

from .finetune_job import FinetuneJob
from .result import JobResult

__all__ = ["FinetuneJob", "JobResult"]
