"""AdapterTrainer: the adapter engine's one training loop, on cached embeddings, and its scoring.

Example::

    import torch
    from llama_index.embeddings.adapter import LinearLayer
    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.embeddings.adapter_trainer import AdapterTrainer

    ds = EmbeddingQAFinetuneDataset(
        queries={"q0": "a", "q1": "b"}, corpus={"c0": "x", "c1": "y"},
        relevant_docs={"q0": ["c0"], "q1": ["c1"]},
    )
    trainer = AdapterTrainer(
        adapter=LinearLayer(8, 8), train_embeddings=(torch.rand(2, 8), torch.rand(2, 8)),
        train_set=ds, val_embeddings=(torch.rand(2, 8), torch.rand(2, 8)), val_set=ds,
        output_path="adapter_out",
        epochs=2, batch_size=2, optimizer_params={"lr": 3e-4}, warmup_ratio=0.1,
        max_grad_norm=1.0, scale=20.0, seed=0, metric="ndcg@10", top_k=(1, 10),
        transform_text=False, hard_negatives=0, checkpoint_save_steps=100,
    )
    comparison = trainer.train()   # best trained epoch vs the start, on val's questions
    trainer.records, trainer.best_epoch, trainer.global_step   # what the engine keeps

The engine (:class:`~.adapter.EmbeddingAdapterFinetuneEngine`) builds one per ``finetune()``
from its settings and copies what it found into its own state. With a checking set (``val_set``),
the start (epoch 0) is a candidate like any epoch: an epoch is kept only if it scores above
everything before it, so a training that makes retrieval worse saves the start (the identity,
for the default adapter). The returned comparison is the best trained epoch against the
start on the same questions (per-question scores, paired bootstrap interval), whether or
not that epoch was kept.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ..dataset import EmbeddingQAFinetuneDataset
from .adapter_loss import RelevantPairs, mine_negatives, ranking_loss
from .finetune_result import paired_check

if TYPE_CHECKING:
    import numpy as np

    from llama_index.embeddings.adapter.utils import BaseAdapter

logger = logging.getLogger(__name__)


def check_adapter_settings(
    batch_size: int,
    epochs: int,
    checkpoint_save_steps: int,
    hard_negatives: int,
    warmup_ratio: float,
    val_metric: str,
) -> None:
    """One clear error naming the first adapter-engine setting that cannot work.

    Example::

        check_adapter_settings(10, 16, 100, 0, 0.1, "ndcg@10")    # fine
        check_adapter_settings(10, 0, 100, 0, 0.1, "ndcg@10")     # ValueError: epochs ...
    """
    for name, value in (
        ("batch_size", batch_size),
        ("epochs", epochs),
        ("checkpoint_save_steps", checkpoint_save_steps),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if hard_negatives < 0:
        raise ValueError(f"hard_negatives must be 0 or more, got {hard_negatives}")
    if not 0.0 <= warmup_ratio < 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1), got {warmup_ratio}")
    from ..evaluation.metrics import METRICS

    name, _, k = val_metric.partition("@")
    if name not in METRICS or not k.isdigit():
        raise ValueError(
            f"val_metric must look like 'ndcg@10': one of {sorted(METRICS)}, '@', a k; "
            f"got {val_metric!r}"
        )


@dataclass(kw_only=True)
class AdapterTrainer:
    """Train ``adapter`` for ``epochs`` on cached embeddings; with ``val_set``, keep the best.

    Example::

        trainer = AdapterTrainer(adapter=adapter, train_embeddings=(queries, chunks), ...)
        comparison = trainer.train()
        trainer.best_epoch     # 0 when no epoch beat the start (the start is then saved)

    Args:
        adapter: trained in place; saved to ``output_path`` (with ``val_set``: the best epoch).
        train_embeddings / train_set: the (query, chunk) embedding rows of ``train_set``, on
            the device training runs on.
        val_embeddings / val_set: the same for the checking set, or None (nothing scored, the
            last epoch kept).
        first_epoch / global_step: where the engine's earlier ``finetune()`` calls left off.
        say: where the per-epoch lines go.
        The rest: the engine's settings of the same meaning (``metric``: ``val_metric``,
        ``top_k``: ``val_top_k``, ``checkpoint_path``: ``model_checkpoint_path``).

    After :meth:`train` (also when it is interrupted): ``records`` (one per epoch, and the
    start's first with ``val_set``), ``best_epoch`` (None without it), ``global_step``, and
    ``start_is_identity`` (the start was kept and changes no embedding).
    """

    adapter: BaseAdapter
    train_embeddings: tuple[Tensor, Tensor]
    train_set: EmbeddingQAFinetuneDataset
    output_path: str
    epochs: int
    batch_size: int
    optimizer_params: dict[str, Any]
    warmup_ratio: float
    max_grad_norm: float
    scale: float
    seed: int
    metric: str
    top_k: int | Sequence[int]
    transform_text: bool
    hard_negatives: int
    checkpoint_save_steps: int
    val_embeddings: tuple[Tensor, Tensor] | None = None
    val_set: EmbeddingQAFinetuneDataset | None = None
    optimizer_class: type[torch.optim.Optimizer] | None = None
    warmup_steps: int | None = None
    checkpoint_path: str | None = None
    verbose: bool = False
    say: Callable[[str], None] = logger.info
    first_epoch: int = 1
    global_step: int = 0
    # found by train()
    records: list[dict[str, Any]] = field(default_factory=list, init=False)
    best_epoch: int | None = field(default=None, init=False)
    start_is_identity: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if (self.val_embeddings is None) != (self.val_set is None):
            raise ValueError("val_embeddings and val_set (their dataset) go together")

    def train(self) -> dict[str, Any] | None:
        """Run ``epochs`` epochs; with ``val_set``, keep (and save) the best.

        Example::

            comparison = trainer.train()   # None without val_set

        Returns the comparison of the best trained epoch with the start, or None without
        ``val_set``.
        """
        # Each step multiplies matrices of batch_size rows: on a CPU, intra-op threads cost
        # far more than they save (measured 16 ms vs 0.2 ms per step on 2 busy cores).
        threads = torch.get_num_threads()
        if self.train_embeddings[0].device.type == "cpu":
            torch.set_num_threads(1)
        try:
            return self._train()
        finally:
            torch.set_num_threads(threads)

    def _train(self) -> dict[str, Any] | None:
        import transformers
        from tqdm.auto import tqdm

        adapter, val, metric = self.adapter, self.val_embeddings, self.metric
        queries, corpus = self.train_embeddings
        device = queries.device
        pairs = RelevantPairs.from_dataset(self.train_set).to(device)
        codes = pairs.codes()
        negatives = mine_negatives(queries, corpus, pairs, self.hard_negatives)
        if negatives is not None:
            negatives = negatives.to(device)
        optimizer_class = self.optimizer_class or torch.optim.AdamW
        optimizer = optimizer_class(adapter.parameters(), **self.optimizer_params)
        total = math.ceil(len(pairs) / self.batch_size) * self.epochs
        warmup = self.warmup_steps
        if warmup is None:
            warmup = int(total * self.warmup_ratio)
        scheduler = transformers.get_linear_schedule_with_warmup(optimizer, warmup, total)
        generator = torch.Generator().manual_seed(self.seed)

        best_score, best_state, start_state = -math.inf, None, None
        trained_score, trained_state = -math.inf, None  # the best epoch after the start
        if val is not None:
            summary = self._score(adapter)
            best_score, best_state, self.best_epoch = (
                summary[metric],
                copy.deepcopy(adapter.state_dict()),
                0,
            )
            start_state = best_state
            self.records.append({"epoch": 0, "step": self.global_step, "loss": None, **summary})
            self.say(f"before training: val {metric} {best_score:.4f}")
        adapter.train()
        for epoch in range(self.first_epoch, self.first_epoch + self.epochs):
            losses = []
            order = torch.randperm(len(pairs), generator=generator).to(device)
            for batch in tqdm(
                order.split(self.batch_size),
                disable=not self.verbose,
                desc=f"Epoch {epoch}",
                leave=False,
            ):
                loss = ranking_loss(
                    adapter, queries, corpus, pairs, batch, negatives, codes,
                    scale=self.scale, transform_text=self.transform_text,
                )  # fmt: skip
                loss.backward()
                torch.nn.utils.clip_grad_norm_(adapter.parameters(), self.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                losses.append(loss.item())
                self.global_step += 1
                if self.checkpoint_path and self.global_step % self.checkpoint_save_steps == 0:
                    adapter.save(Path(self.checkpoint_path) / f"step_{self.global_step}")
            record: dict[str, Any] = {
                "epoch": epoch,
                "step": self.global_step,
                "loss": sum(losses) / len(losses),
            }
            line = f"epoch {epoch}: loss {record['loss']:.4f}"
            if val is not None:
                record.update(self._score(adapter))
                line += f", val {metric} {record[metric]:.4f}"
                if record[metric] > trained_score:
                    trained_score = record[metric]
                    trained_state = copy.deepcopy(adapter.state_dict())
                if record[metric] > best_score:
                    best_score, best_state, self.best_epoch = record[metric], trained_state, epoch
                    adapter.save(self.output_path)  # a crash later keeps the best so far
                    line += " (best)"
            self.records.append(record)
            self.say(line)
        comparison = None
        if best_state is not None and trained_state is not None and start_state is not None:
            comparison = self._compare(trained_state, start_state)
            adapter.load_state_dict(best_state)  # finetune() tells when that is the start
        adapter.eval()
        adapter.save(self.output_path)
        if val is not None and self.best_epoch == 0:  # the start was kept: is it the identity?
            with torch.no_grad():
                sample = val[0][:256]
                self.start_is_identity = bool(torch.allclose(adapter(sample), sample, atol=1e-6))
        return comparison

    def _score(self, adapter: nn.Module) -> dict[str, float]:
        """Retrieval metrics of ``adapter`` on the checking set's cached embeddings."""
        from ..evaluation import score_embeddings

        assert self.val_embeddings is not None and self.val_set is not None  # scored only with val
        queries, corpus = _adapted(adapter, self.val_embeddings, self.transform_text)
        top_k = [self.top_k] if isinstance(self.top_k, int) else list(self.top_k)
        metric_k = self.metric.rpartition("@")[2]
        if metric_k.isdigit() and int(metric_k) not in top_k:
            top_k.append(int(metric_k))
        summary = score_embeddings(self.val_set, queries, corpus, top_k=sorted(top_k)).summary
        if self.metric not in summary:
            raise ValueError(f"val_metric {self.metric!r} is not one of {sorted(summary)}")
        return dict(summary)

    def _per_question(self, adapter: nn.Module) -> np.ndarray:
        """``metric`` of each checking question through ``adapter``."""
        from ..evaluation import score_embeddings

        assert (
            self.val_embeddings is not None and self.val_set is not None
        )  # compared only with val
        k = int(self.metric.rpartition("@")[2])
        queries, corpus = _adapted(adapter, self.val_embeddings, self.transform_text)
        result = score_embeddings(self.val_set, queries, corpus, top_k=k)
        return result.per_query[self.metric].to_numpy()

    def _compare(self, trained: dict[str, Any], start: dict[str, Any]) -> dict[str, Any]:
        """The ``trained`` weights against the ``start`` ones, question by question."""
        probe = copy.deepcopy(self.adapter)
        scores = []
        for state in (trained, start):
            probe.load_state_dict(state)
            scores.append(self._per_question(probe))
        return paired_check(scores[0], scores[1], self.metric, seed=self.seed)


def _adapted(
    adapter: nn.Module, val: tuple[Tensor, Tensor], transform_text: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The cached (query, corpus) embeddings through ``adapter`` (the corpus only with
    ``transform_text``), as numpy arrays; the adapter is left in training mode."""
    with torch.no_grad():
        adapter.eval()
        queries = adapter(val[0]).cpu().numpy()
        corpus = (adapter(val[1]) if transform_text else val[1]).cpu().numpy()
        adapter.train()
    return queries, corpus
