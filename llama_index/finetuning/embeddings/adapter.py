"""EmbeddingAdapterFinetuneEngine: train an adapter on the cached embeddings of a frozen model.

Example::

    from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, offline_embed_model

    engine = EmbeddingAdapterFinetuneEngine(train, offline_embed_model(), epochs=4)
    result = engine.finetune()       # base and kept scores on a hold-out of the training chunks

Each unique query and chunk is embedded once, in batches, and kept on disk by
:class:`~llama_index.finetuning.embeddings.cache.EmbeddingCache`; epochs, reruns and runs
after a crash read the vectors back instead of calling the base model (which matters when
it is a paid API). Training (:class:`~.adapter_trainer.AdapterTrainer`) then works on those
tensors only, with the multiple-negatives ranking loss of :mod:`.adapter_loss`: in-batch
negatives plus optional hard negatives mined once from the whole corpus with the base
embeddings. Chunks that are relevant to a query never count as its negatives.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding

from ..dataset import EmbeddingQAFinetuneDataset, check_dataset, corpus_texts
from ..types import BaseEmbeddingFinetuneEngine
from .checking_set import (
    DEFAULT_HOLDOUT,
    CheckingSplit,
    answer_chunks,
    check_holdout,
    describe_checking_set,
    split_for_checking,
)
from .finetune_result import FinetuneResult

if TYPE_CHECKING:
    import torch

    from llama_index.embeddings.adapter.utils import BaseAdapter

    from .adapter_trainer import AdapterTrainer

logger = logging.getLogger(__name__)

# Chosen by benchmarks/adapter.py (results/adapter.md): trained on the Lyft pairs, the best
# mean ndcg@10 of the linear (4 epochs) and two-layer (25 epochs) adapters on half of the Uber
# pairs. Higher rates win on a Lyft hold-out but overfit: they do worse on the other company.
DEFAULT_LR = 3e-4
DEFAULT_HARD_NEGATIVES = 0
DEFAULT_WARMUP_RATIO = 0.1
# Chosen by benchmarks/experiments/adapter_defaults.py (linear adapter at the rate above, mean
# of three batch orders, same Uber half): 16 epochs of batch 10 ahead of 1, 2, 4, 8 and of
# batch 32.
# Epochs run on cached embeddings: they cost no base-model calls.
DEFAULT_EPOCHS = 16


class EmbeddingAdapterFinetuneEngine(BaseEmbeddingFinetuneEngine):
    """Train an adapter (a ``BaseAdapter``) over the embeddings of any llama-index model.

    Example::

        from llama_index.core.embeddings import resolve_embed_model
        from llama_index.finetuning import EmbeddingAdapterFinetuneEngine
        from llama_index.finetuning.evaluation import compare

        base_embed_model = resolve_embed_model("local:BAAI/bge-small-en")
        # the val set picks the best epoch, so its scores favour the kept adapter:
        # select on one part, report on the other (split by chunk)
        select, report = val_dataset.split(0.5, seed=0)
        engine = EmbeddingAdapterFinetuneEngine(
            train_dataset, base_embed_model, model_output_path="my_adapter", epochs=4,
            val_dataset=select,          # optional: the best epoch is the one saved
        )
        result = engine.finetune()       # base and kept val scores; warns if the identity was kept
        embed_model = engine.get_finetuned_model()   # an AdapterEmbeddingModel: queries only
        compare(report, {"base": base_embed_model, "adapter": embed_model}, baseline="base",
                dataset_name="report half of val")   # intervals, wins/losses, p-value

    Args:
        dataset: the training pairs.
        embed_model: the frozen base model (local or an API).
        batch_size: pairs per step; the other chunks of a batch are the in-batch negatives.
        epochs: passes over the pairs.
        adapter_model: the adapter to train (``LinearLayer``, ``TwoLayerNN`` or your own
            ``BaseAdapter``), or a shape built for the base model's dimension: ``"linear"``
            (default: an identity-initialised ``LinearLayer``) or ``"two-layer"`` (a residual
            ``TwoLayerNN`` with 1,024 hidden units).
        dim: the base model's dimension; default: read from the embeddings.
        device: torch device; default cuda / mps / cpu, whichever exists.
        model_output_path: folder the trained (with ``val_dataset``: the best) adapter goes to.
        model_checkpoint_path: if set, the adapter is also saved every
            ``checkpoint_save_steps`` steps to ``<model_checkpoint_path>/step_<N>``.
        verbose: progress bars and one line per epoch.
        bias: bias of the default ``LinearLayer``.
        optimizer_class / optimizer_params: default ``torch.optim.AdamW`` with
            ``{"lr": DEFAULT_LR}``.
        val_dataset: if given, retrieval metrics on it before training and after each epoch
            (``history``); the best epoch's adapter is the one saved and kept, and the
            untrained start (the identity: the base model unchanged) when no epoch beats it.
            Having chosen it, this set flatters it: report on data that chose nothing
            (``val.split``). Without it, ``holdout`` of the training chunks play its part.
        cache_dir: folder of the embedding cache (see ``EmbeddingCache``).
        hard_negatives: hard negatives per query, mined from the corpus with the base model
            (only then is the rest of the corpus embedded: without them, training reads the
            queries and the chunks that answer them).
        warmup_ratio / warmup_steps: linear learning-rate warmup (``warmup_steps`` wins).
        max_grad_norm: gradient clipping.
        scale: the loss's inverse temperature (sentence-transformers' default, 20).
        seed: order of the pairs.
        val_metric / val_top_k: the summary key of ``score_embeddings`` that picks the best
            epoch, and the k values to score at.
        transform_text: pass chunk embeddings through the adapter too (needed for an adapter
            that changes the dimension; the index must then be built with the adapter model).
        embed_workers: base-model batches in flight while embedding (see ``EmbeddingCache``).
        overwrite: write into ``model_output_path`` (and ``model_checkpoint_path``) even if
            it holds files this package did not write (replaced where names clash, never
            deleted); without it such a folder is refused before any work.
        holdout: without ``val_dataset``, the share of the training chunks held out (with
            their questions, never trained on) to choose the epoch and to compare it with the
            start (see :mod:`.checking_set`); 0 trains on everything. Too few held-out questions:
            no hold-out, and the result says that nothing checked it.
        corpus: the collection the checking set is searched among, as well as its own
            chunks: what your index will hold (``{chunk id: text}`` or LlamaIndex nodes).
            Its chunks are embedded once by the base model (and cached) like the rest.

    There is no ``merge``: an adapter has no base weights to interpolate with (that is the
    sentence-transformers engine's ``merge``); keeping the identity is its way back to the base.
    """

    def __init__(
        self,
        dataset: EmbeddingQAFinetuneDataset,
        embed_model: BaseEmbedding,
        batch_size: int = 10,
        epochs: int = DEFAULT_EPOCHS,
        adapter_model: BaseAdapter | str | None = None,
        dim: int | None = None,
        device: str | None = None,
        model_output_path: str = "model_output",
        model_checkpoint_path: str | None = None,
        checkpoint_save_steps: int = 100,
        verbose: bool = False,
        bias: bool = False,
        optimizer_class: type[torch.optim.Optimizer] | None = None,
        optimizer_params: dict[str, Any] | None = None,
        *,
        val_dataset: EmbeddingQAFinetuneDataset | None = None,
        cache_dir: str | os.PathLike | None = None,
        hard_negatives: int = DEFAULT_HARD_NEGATIVES,
        warmup_ratio: float = DEFAULT_WARMUP_RATIO,
        warmup_steps: int | None = None,
        max_grad_norm: float = 1.0,
        scale: float = 20.0,
        seed: int = 0,
        val_metric: str = "ndcg@10",
        val_top_k: int | Sequence[int] = (1, 5, 10),
        transform_text: bool = False,
        embed_workers: int | None = None,
        overwrite: bool = False,
        holdout: float = DEFAULT_HOLDOUT,
        corpus: Mapping[str, str] | Iterable[Any] | None = None,
    ) -> None:
        check_dataset(dataset, "dataset")
        if val_dataset is not None:
            check_dataset(val_dataset, "val_dataset", "evaluated on")
        if not isinstance(embed_model, BaseEmbedding):
            raise TypeError(
                f"embed_model must be a llama-index BaseEmbedding, got {type(embed_model).__name__}"
            )
        from .adapter_shapes import check_adapter_model
        from .adapter_trainer import check_adapter_settings

        check_adapter_model(adapter_model)
        check_adapter_settings(
            batch_size, epochs, checkpoint_save_steps, hard_negatives, warmup_ratio, val_metric
        )

        self.dataset = dataset
        self.embed_model = embed_model
        self.batch_size = batch_size
        self.epochs = epochs
        self.model = adapter_model
        self.dim = dim
        self.device = device
        self.model_output_path = str(model_output_path)
        self.model_checkpoint_path = model_checkpoint_path
        self.checkpoint_save_steps = checkpoint_save_steps
        self.verbose = verbose
        self.bias = bias
        self.optimizer_class = optimizer_class
        self.optimizer_params = dict(optimizer_params or {"lr": DEFAULT_LR})
        self.val_dataset = val_dataset
        self.cache_dir = cache_dir
        self.hard_negatives = hard_negatives
        self.warmup_ratio = warmup_ratio
        self.warmup_steps = warmup_steps
        self.max_grad_norm = max_grad_norm
        self.scale = scale
        self.seed = seed
        self.val_metric = val_metric
        self.val_top_k = val_top_k
        self.transform_text = transform_text
        self.embed_workers = embed_workers
        self.overwrite = overwrite
        self.holdout = check_holdout(holdout)
        # what the checking set is searched among besides its own chunks: the user's index
        self.corpus = None if corpus is None else corpus_texts(corpus)
        self.checking_split: CheckingSplit  # training and checking sets: made by finetune()
        # filled by finetune()
        self.history: list[dict[str, Any]] = []
        self.best_epoch: int | None = None
        self.result: FinetuneResult | None = None  # also what finetune() returns
        self.embedding_stats: dict[str, int] = {}
        self.global_step = 0

    @classmethod
    def from_model_path(
        cls,
        dataset: EmbeddingQAFinetuneDataset,
        embed_model: BaseEmbedding,
        model_path: str,
        model_cls: type[BaseAdapter] | None = None,
        **kwargs: Any,
    ) -> EmbeddingAdapterFinetuneEngine:
        """An engine that goes on training the adapter saved in ``model_path``."""
        from llama_index.embeddings.adapter.utils import load_adapter

        return cls(
            dataset, embed_model, adapter_model=load_adapter(model_path, model_cls), **kwargs
        )

    # ---- data ---------------------------------------------------------------------

    def _split_for_checking(self) -> CheckingSplit:
        return split_for_checking(
            self.dataset, self.val_dataset, self.holdout, self.seed,
            search_space="corpus" if self.hard_negatives else "answers", corpus=self.corpus,
        )  # fmt: skip

    def _training_set(self) -> EmbeddingQAFinetuneDataset:
        """The part of ``dataset`` training reads (without the held-out chunks, if any):
        without hard negatives, only the chunks that answer a query (the rest of the corpus
        would be embedded for nothing)."""
        train = self.checking_split.train
        if self.hard_negatives:
            return train
        used = answer_chunks(train)
        if len(used) == len(train.corpus):
            return train
        corpus = {k: v for k, v in train.corpus.items() if k in used}
        return train.model_copy(update={"corpus": corpus})

    def _embed(
        self, cache: Any, ds: EmbeddingQAFinetuneDataset
    ) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        queries = cache.embed_queries(list(ds.queries.values()))
        corpus = cache.embed_texts(list(ds.corpus.values()))
        return torch.from_numpy(queries.copy()), torch.from_numpy(corpus.copy())

    def _say(self, text: str) -> None:
        if self.verbose:  # printed like the tutorials' engines; logged otherwise
            print(f"> {text}", flush=True)
        else:
            logger.info(text)

    def finetune(self) -> FinetuneResult:
        """Embed what is not cached, train for ``epochs``, save to ``model_output_path``.

        Returns (and keeps as ``self.result``) a :class:`FinetuneResult`: the score before
        training and of the saved epoch on the checking set (``val_dataset``, else a hold-out
        of the training chunks, else nothing: ``result.checked_by``), the best trained
        epoch against the start with its interval, and whether the untrained start was kept
        (then it logs "no epoch beat the base model; the saved adapter is the identity").
        The checking set chose the epoch: report on other data. The folder gets a card
        (README.md) and ``finetune_settings.json``.

        Calling it again goes on training the same adapter (the embeddings come from the cache).
        """
        from contextlib import nullcontext

        from ..output_lock import claimed_output

        self.checking_split = self._split_for_checking()
        checkpoints = self.model_checkpoint_path
        with (
            claimed_output(self.model_output_path, "adapter", self.overwrite),
            claimed_output(checkpoints, "adapter-checkpoints", self.overwrite)
            if checkpoints
            else nullcontext(),
        ):
            return self._train()

    def _train(self) -> FinetuneResult:
        import torch
        from llama_index.core.utils import infer_torch_device

        from llama_index.embeddings.adapter.record import describe_base_model, write_base_record

        from .adapter_shapes import build_adapter
        from .cache import EmbeddingCache

        device = torch.device(self.device or infer_torch_device())
        with EmbeddingCache(
            self.embed_model, self.cache_dir, self.embed_workers, self.verbose
        ) as cache:
            train_set = self._training_set()
            queries, chunks = self._embed(cache, train_set)
            train = (queries.to(device), chunks.to(device))
            val = None
            if self.checking_split.val is not None:
                queries, chunks = self._embed(cache, self.checking_split.val)
                val = (queries.to(device), chunks.to(device))
            self.embedding_stats = {
                "computed": cache.computed,
                "reused": cache.reused,
                "calls": cache.calls,
            }
        self._say(
            f"embeddings: {cache.computed} texts embedded by the base model in {cache.calls} "
            f"calls, {cache.reused} read from the cache ({cache.path})"
        )
        self.model = adapter = build_adapter(
            self.model, self.dim, train[0].shape[1], self.embed_model.model_name, self.bias,
            self.transform_text,
        ).to(device)  # fmt: skip
        record = describe_base_model(self.embed_model, dim=train[0].shape[1])
        write_base_record(self.model_output_path, record)  # AdapterEmbeddingModel checks it
        trainer = self._trainer(adapter, train, train_set, val)
        try:
            comparison = trainer.train()
        finally:  # what it found, also when interrupted (the folder holds the best so far)
            self.history += trainer.records
            self.global_step = trainer.global_step
            if trainer.best_epoch is not None:
                self.best_epoch = trainer.best_epoch
        self.result = result = FinetuneResult.from_epochs(
            trainer.records, self.val_metric, self.best_epoch, self.checking_split,
            self.model_output_path, comparison, trainer.start_is_identity,
        )  # fmt: skip
        self._write_card(record, trainer.records)
        if self.verbose:  # printed like the tutorials' engines; logged otherwise
            print(f"> {result.ending(f'adapter:{self.model_output_path}')}", flush=True)
        else:
            result.log(f"adapter:{self.model_output_path}")
        return result

    def _trainer(
        self,
        adapter: BaseAdapter,
        train: tuple[torch.Tensor, torch.Tensor],
        train_set: EmbeddingQAFinetuneDataset,
        val: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> AdapterTrainer:
        """The training loop of one ``finetune()``, set up from this engine's settings."""
        from .adapter_trainer import AdapterTrainer

        return AdapterTrainer(
            adapter=adapter, train_embeddings=train, train_set=train_set, val_embeddings=val,
            val_set=self.checking_split.val, output_path=self.model_output_path,
            epochs=self.epochs, batch_size=self.batch_size, optimizer_class=self.optimizer_class,
            optimizer_params=self.optimizer_params, warmup_ratio=self.warmup_ratio,
            warmup_steps=self.warmup_steps, max_grad_norm=self.max_grad_norm, scale=self.scale,
            seed=self.seed, metric=self.val_metric, top_k=self.val_top_k,
            transform_text=self.transform_text, hard_negatives=self.hard_negatives,
            checkpoint_path=self.model_checkpoint_path,
            checkpoint_save_steps=self.checkpoint_save_steps, verbose=self.verbose,
            say=self._say, first_epoch=1 + max((h["epoch"] for h in self.history), default=0),
            global_step=self.global_step,
        )  # fmt: skip

    def _write_card(self, base_record: dict[str, Any], records: list[dict[str, Any]]) -> None:
        from llama_index.embeddings.adapter.utils import adapter_dims

        from .model_card import write_adapter_card

        train, val = self.checking_split.train, self.checking_split.val
        scored = [r for r in records if self.val_metric in r]
        val_metrics = {}
        if scored:
            kept = next((r for r in scored if r["epoch"] == self.best_epoch), scored[0])
            val_metrics = {"base": scored[0], "finetuned": kept}
        assert self.model is not None and not isinstance(self.model, str)  # finetune() built it
        in_dim, out_dim = adapter_dims(self.model)
        settings = {
            "adapter": f"{type(self.model).__name__} ({in_dim} -> {out_dim} dims)",
            "training questions": len(train.queries),
            "training chunks": len(answer_chunks(train)),
            "checking set": describe_checking_set(self.checking_split, self.holdout),
            "checking questions": len(val.queries) if val else 0,
            "epochs": self.epochs,
            "batch size": self.batch_size,
            "learning rate": self.optimizer_params.get("lr", "-"),
            "hard negatives per question": self.hard_negatives,
            "chosen by": self.val_metric if val else "-",
            "transform_text": self.transform_text,
            "seed": self.seed,
        }
        assert self.result is not None  # the card is written after the result is known
        write_adapter_card(self.model_output_path, settings, base_record, self.result, val_metrics)

    def get_finetuned_model(
        self, adapter_cls: type[BaseAdapter] | None = None, **model_kwargs: Any
    ) -> BaseEmbedding:
        """The saved adapter over the base model, as an ``AdapterEmbeddingModel``."""
        from llama_index.embeddings.adapter import AdapterEmbeddingModel

        if adapter_cls is None and self.model is not None and not isinstance(self.model, str):
            adapter_cls = type(self.model)
        model_kwargs.setdefault("transform_text", self.transform_text)
        return AdapterEmbeddingModel(
            self.embed_model, self.model_output_path, adapter_cls, **model_kwargs
        )
