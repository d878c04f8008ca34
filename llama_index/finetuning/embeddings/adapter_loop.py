"""The adapter engine's epochs: train on cached embeddings, score each epoch, keep the best.

Example::

    comparison = train_epochs(engine, adapter, train, val, device)
    engine.best_epoch          # 0 when no epoch beat the start (the start is then saved)

With a checking set (``val``), the start (epoch 0) is a candidate like any epoch: an epoch
is kept only if it scores above everything before it, so a training that makes retrieval
worse saves the start (the identity, for the default adapter). The returned comparison is
the best trained epoch against the start on the same questions (per-question scores, paired
bootstrap interval), whether or not that epoch was kept.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..dataset import EmbeddingQAFinetuneDataset
from .adapter_training import RelevantPairs, adapted, mine_negatives, ranking_loss
from .selection import paired_check

if TYPE_CHECKING:
    from llama_index.embeddings.adapter.utils import BaseAdapter


def per_query_scores(
    adapter: torch.nn.Module,
    val: tuple[torch.Tensor, torch.Tensor],
    dataset: EmbeddingQAFinetuneDataset,
    metric: str,
    transform_text: bool,
) -> np.ndarray:
    """``metric`` of each question of ``dataset`` through ``adapter`` (cached embeddings)."""
    from ..evaluation import score_embeddings

    k = int(metric.rpartition("@")[2])
    queries, corpus = adapted(adapter, val, transform_text)
    return score_embeddings(dataset, queries, corpus, top_k=k).per_query[metric].to_numpy()


def _compare(engine: Any, adapter: Any, val: Any, trained: dict, start: dict) -> dict:
    probe = copy.deepcopy(adapter)
    scores = []
    for state in (trained, start):
        probe.load_state_dict(state)
        scores.append(
            per_query_scores(
                probe, val, engine.selection.val, engine.val_metric, engine.transform_text
            )
        )
    return paired_check(scores[0], scores[1], engine.val_metric, seed=engine.seed)


def train_epochs(
    engine: Any,
    adapter: BaseAdapter,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor] | None,
    device: torch.device,
) -> dict | None:
    """Run ``engine.epochs`` epochs; with ``val``, keep (and save) the best; returns the
    comparison of the best trained epoch with the start, or None without ``val``."""
    import transformers
    from tqdm.auto import tqdm

    queries, corpus = train
    pairs = RelevantPairs.from_dataset(engine._training_set()).to(device)
    codes = pairs.codes()
    negatives = mine_negatives(queries, corpus, pairs, engine.hard_negatives)
    if negatives is not None:
        negatives = negatives.to(device)
    optimizer_class = engine.optimizer_class or torch.optim.AdamW
    optimizer = optimizer_class(adapter.parameters(), **engine.optimizer_params)
    total = math.ceil(len(pairs) / engine.batch_size) * engine.epochs
    warmup = engine.warmup_steps
    if warmup is None:
        warmup = int(total * engine.warmup_ratio)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, warmup, total)
    generator = torch.Generator().manual_seed(engine.seed)
    metric = engine.val_metric

    best_score, best_state, start_state = -math.inf, None, None
    trained_score, trained_state = -math.inf, None  # the best epoch after the start
    if val is not None:
        summary = engine._score(adapter, val)
        best_score, best_state, engine.best_epoch = (
            summary[metric],
            copy.deepcopy(adapter.state_dict()),
            0,
        )
        start_state = best_state
        engine.history.append({"epoch": 0, "step": engine.global_step, "loss": None, **summary})
        engine._say(f"before training: val {metric} {best_score:.4f}")
    adapter.train()
    first_epoch = 1 + max((h["epoch"] for h in engine.history), default=0)
    for epoch in range(first_epoch, first_epoch + engine.epochs):
        losses = []
        order = torch.randperm(len(pairs), generator=generator).to(device)
        for batch in tqdm(
            order.split(engine.batch_size),
            disable=not engine.verbose,
            desc=f"Epoch {epoch}",
            leave=False,
        ):
            loss = ranking_loss(
                adapter, queries, corpus, pairs, batch, negatives, codes,
                scale=engine.scale, transform_text=engine.transform_text,
            )  # fmt: skip
            loss.backward()
            torch.nn.utils.clip_grad_norm_(adapter.parameters(), engine.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            engine.global_step += 1
            if (
                engine.model_checkpoint_path
                and engine.global_step % engine.checkpoint_save_steps == 0
            ):
                adapter.save(Path(engine.model_checkpoint_path) / f"step_{engine.global_step}")
        record: dict[str, Any] = {
            "epoch": epoch,
            "step": engine.global_step,
            "loss": sum(losses) / len(losses),
        }
        line = f"epoch {epoch}: loss {record['loss']:.4f}"
        if val is not None:
            record.update(engine._score(adapter, val))
            line += f", val {metric} {record[metric]:.4f}"
            if record[metric] > trained_score:
                trained_score, trained_state = record[metric], copy.deepcopy(adapter.state_dict())
            if record[metric] > best_score:
                best_score, best_state, engine.best_epoch = (
                    record[metric],
                    trained_state,
                    epoch,
                )
                adapter.save(engine.model_output_path)  # a crash later keeps the best so far
                line += " (best)"
        engine.history.append(record)
        engine._say(line)
    comparison = None
    if best_state is not None and trained_state is not None and start_state is not None:
        comparison = _compare(engine, adapter, val, trained_state, start_state)
        adapter.load_state_dict(best_state)  # finetune() tells when that is the start
    adapter.eval()
    adapter.save(engine.model_output_path)
    return comparison
