"""The sentence-transformers pieces the engine hands to the trainer: loss, devices, precision.

Example::

    from llama_index.finetuning.embeddings.training_setup import build_loss

    loss = build_loss(model, "cached_mnrl", mini_batch_size=16, matryoshka_dims=[384, 128])

Each function maps one engine setting to the library object that implements it, so that
:mod:`.sentence_transformer` reads as configuration and nothing here re-implements training (the evaluator is :mod:`.checking_scores`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

LOSSES = ("mnrl", "cached_mnrl")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def build_loss(
    model: Any,
    loss: Any = None,
    mini_batch_size: int = 32,
    matryoshka_dims: Sequence[int] | None = None,
) -> Any:
    """``None``/``"mnrl"``, ``"cached_mnrl"``, a loss module or a ``model -> module`` factory.

    With ``matryoshka_dims`` the loss is wrapped in ``MatryoshkaLoss``, so that embeddings
    truncated to each of those sizes are trained too.
    """
    from sentence_transformers.sentence_transformer import losses

    if loss is None or loss == "mnrl":
        loss = losses.MultipleNegativesRankingLoss(model)
    elif loss == "cached_mnrl":
        loss = losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=mini_batch_size, show_progress_bar=False
        )
    # otherwise a module (the trainer points it at its own model) or a factory
    if matryoshka_dims:
        if callable(loss) and not hasattr(loss, "forward"):
            loss = loss(model)
        loss = losses.MatryoshkaLoss(model, loss, matryoshka_dims=list(matryoshka_dims))
    return loss


def loss_name(loss: Any) -> str:
    if loss is None or loss == "mnrl":
        return "MultipleNegativesRankingLoss"
    if loss == "cached_mnrl":
        return "CachedMultipleNegativesRankingLoss"
    if hasattr(loss, "forward"):
        return type(loss).__name__
    return getattr(loss, "__name__", str(loss))


def load_device(device: str | None) -> str | None:
    """Where to load the model: under torchrun each process takes its own GPU, or the CPU."""
    if device is not None:
        return device
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is None:
        return None
    import torch

    return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"


def precision_flags(precision: str, device: str | None) -> tuple[bool, bool]:
    """``(bf16, fp16)`` for the trainer; ``"auto"`` is bf16, else fp16, on CUDA and fp32 elsewhere."""
    import torch

    on_cuda = (device or "cuda").startswith("cuda") and torch.cuda.is_available()
    if precision == "auto":
        if not on_cuda:
            return False, False
        return (True, False) if torch.cuda.is_bf16_supported() else (False, True)
    if precision == "fp16" and not on_cuda:
        raise ValueError("precision='fp16' needs a CUDA GPU; use 'bf16' or 'fp32' on this device")
    return precision == "bf16", precision == "fp16"


def warmup_kwargs(ratio: float) -> dict[str, float]:
    """The warmup ratio, spelled as the installed transformers wants it."""
    import transformers
    from packaging.version import Version

    if Version(transformers.__version__) >= Version("5.0.0"):
        return {"warmup_steps": float(ratio)}  # since v5 a float below 1 is a ratio
    return {"warmup_ratio": float(ratio)}


def barrier() -> None:
    """Wait for every process (no-op when training in a single process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def check_training_settings(
    batch_size: int,
    epochs: int,
    evaluation_steps: int,
    hard_negatives: int,
    mini_batch_size: int,
    loss: Any,
    precision: str,
    device: str | None,
    matryoshka_dims: Sequence[int] | None,
) -> list[int] | None:
    """Refuse a bad engine setting with one error naming it, before any work; returns the
    Matryoshka sizes, largest first."""
    for name, value, low in (
        ("batch_size", batch_size, 1),
        ("epochs", epochs, 1),
        ("evaluation_steps", evaluation_steps, 1),
        ("hard_negatives", hard_negatives, 0),
        ("mini_batch_size", mini_batch_size, 1),
    ):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(loss, str) and loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not one of {LOSSES}; pass a loss module instead")
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not one of {PRECISIONS}")
    precision_flags(precision, device)  # fp16 without a GPU fails here, before any work
    if device is not None and device.split(":")[0] not in ("cpu", "cuda", "mps", "npu", "xpu"):
        raise ValueError(f"device={device!r}: expected 'cpu', 'cuda', 'mps' or None")
    if matryoshka_dims is not None:
        matryoshka_dims = sorted({int(d) for d in matryoshka_dims}, reverse=True)
        if not matryoshka_dims or matryoshka_dims[-1] < 1:
            raise ValueError(f"matryoshka_dims must be positive sizes, got {matryoshka_dims}")
    return matryoshka_dims
