"""The job's training and report steps: a finetuned model, an adapter, and their comparison.

Example::

    from pathlib import Path

    from llama_index.finetuning.job.training import evaluate_models, train_model

    result = train_model(train, select, Path("out/finetuned_model"), model="offline")
    result.kept_untrained, result.gain      # False, 0.031: what the engine decided
    comparison = evaluate_models(report, {"base": base, "tuned": tuned}, Path("out/report"))

Each engine is built through its public constructor and run by ``finetune()``; ``None``
for a setting leaves the engine's own default.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model_specs import TRAINABLE, model_id, parse_spec
from ..phrasing import Echo

if TYPE_CHECKING:
    from ..embeddings.finetune_result import FinetuneResult

# The engines' defaults (the CLI's --help shows them; tests/test_cli.py checks them).
ST_EPOCHS, ST_BATCH_SIZE, ST_HARD_NEGATIVES = 2, 10, 0
ADAPTER_EPOCHS, ADAPTER_BATCH_SIZE = 16, 10


def _given(**settings: Any) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if v is not None}


def train_model(
    train: Any,
    val: Any,
    output: Path,
    *,
    model: str = "offline",
    epochs: int | None = None,
    batch_size: int | None = None,
    hard_negatives: int | None = None,
    merge: float | str | None = None,
    holdout: float | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    verbose: bool = False,
) -> FinetuneResult:
    """Finetune the sentence-transformers ``model`` (a spec) on ``train``, save it to
    ``output``, and return the engine's result; ``val`` picks the checkpoint. Without
    ``verbose`` the trainer's printed log dicts stay off stdout."""
    from ..embeddings.sentence_transformer import SentenceTransformersFinetuneEngine

    engine = SentenceTransformersFinetuneEngine(
        train,
        model_id=model_id(parse_spec(model, allowed=TRAINABLE)),
        model_output_path=str(output),
        val_dataset=val,
        overwrite=overwrite,
        show_progress_bar=show_progress,  # whenever tqdm was first imported
        **_given(
            batch_size=batch_size, epochs=epochs, hard_negatives=hard_negatives,
            merge=merge, holdout=holdout,
        ),
    )  # fmt: skip
    with _quiet_stdout(verbose):
        return engine.finetune()


def _quiet_stdout(verbose: bool) -> Any:
    """Without ``verbose``, the trainer's printed log dicts and the miner's statistics table
    stay out of the terminal (its progress bars, on stderr, stay)."""
    if verbose:
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(io.StringIO())


def train_adapter(
    train: Any,
    val: Any,
    output: Path,
    *,
    base: Any,
    adapter: str = "linear",
    epochs: int | None = None,
    batch_size: int | None = None,
    holdout: float | None = None,
    overwrite: bool = False,
) -> FinetuneResult:
    """Train an ``adapter``-shaped adapter over the frozen embedding model ``base``, save it
    to ``output``, and return the engine's result."""
    from ..embeddings.adapter import EmbeddingAdapterFinetuneEngine

    engine = EmbeddingAdapterFinetuneEngine(
        train,
        base,
        model_output_path=str(output),
        adapter_model=adapter,
        val_dataset=val,
        overwrite=overwrite,
        **_given(batch_size=batch_size, epochs=epochs, holdout=holdout),
    )
    return engine.finetune()


def evaluate_models(
    dataset: Any,
    models: dict[str, Any],
    output_dir: Path,
    top_k: list[int],
    overwrite: bool = False,
    title: str | None = None,
    dataset_name: str | None = None,
    seed: int = 0,
    echo: Echo = Echo(),
) -> Any:
    """Compare ``models`` on ``dataset`` (the first is the baseline): print the headline
    table, with paired intervals and wins/losses, and write every metric to ``output_dir``."""
    import warnings

    from ..evaluation import SmallSetWarning, compare

    with warnings.catch_warnings():  # a set too small says so in the table and the last line
        warnings.simplefilter("ignore", SmallSetWarning)
        comparison = compare(
            dataset,
            models,
            top_k=top_k,
            output_dir=output_dir,
            baseline=next(iter(models)),
            overwrite=overwrite,
            dataset_name=dataset_name,
            seed=seed,
        )
    if title:
        echo.result(f"\n{title}")
    echo.result(comparison.to_markdown())
    echo.result(f"report written to {output_dir}")
    return comparison
