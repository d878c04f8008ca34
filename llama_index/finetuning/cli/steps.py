"""The CLI's building blocks: LLMs and embedding models from their specs, and one function per step.

Example::

    from llama_index.finetuning.cli.steps import build_embed_model, build_llm

    llm = build_llm("openai-like:qwen2.5", api_base="http://localhost:8000/v1")
    tuned = build_embed_model("local:finetuned_model")
    adapted = build_embed_model("adapter:my_adapter", base="offline")
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger("llamaindex-finetune")

GENERATORS = ("llm", "pseudo")
DEFAULT_GENERATOR = "llm"


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


class IncompleteRun(Exception):
    """The command ran but did not produce all it was asked: printed as one line, exit 1."""


# The dataset being generated now: a Ctrl-C reports how many of its chunks are saved.
current_output: list[Path] = []


def check_llm_spec(args: argparse.Namespace) -> None:
    """Refuse, before any work, an LLM that cannot answer (no API key, no server URL)."""
    if getattr(args, "generator", "llm") != "llm":
        return
    kind, _, model = args.llm.partition(":")
    if kind == "openai" and model and not (args.api_key or os.environ.get("OPENAI_API_KEY")):
        raise CLIError(f"--llm {args.llm} needs an API key: set OPENAI_API_KEY or pass --api-key")
    if kind == "openai-like" and model and not args.api_base:
        raise CLIError(
            "--llm openai-like:<model> needs --api-base URL (e.g. http://localhost:8000/v1)"
        )


# ---- building blocks -------------------------------------------------------------------


@functools.lru_cache(maxsize=4)  # `run` asks twice (train and val files): load the model once
def build_llm(spec: str, api_base: str | None = None, api_key: str | None = None) -> Any:
    """``local`` | ``gguf:<file>`` | ``openai:<model>`` | ``openai-like:<model>`` (with
    ``api_base``) -> an LLM."""
    kind, _, model = spec.partition(":")
    if kind == "local":
        from ..llms.local import LocalLLM

        return LocalLLM()
    if kind == "gguf":
        from ..llms.local import LocalLLM

        path = Path(model).expanduser()
        if not model or not path.is_file():
            raise CLIError(f"--llm gguf:{model}: no such file; give the path of a .gguf model")
        with open(path, "rb") as file:
            if file.read(4) != b"GGUF":
                raise CLIError(f"--llm gguf:{model}: {path} is not a GGUF model file")
        return LocalLLM(model_path=str(path))
    if kind == "openai" and model:
        from llama_index.llms.openai import OpenAI

        return OpenAI(model=model, api_base=api_base, api_key=api_key)
    if kind == "openai-like" and model:
        if not api_base:
            raise CLIError(
                "--llm openai-like:<model> needs --api-base URL (e.g. http://localhost:8000/v1)"
            )
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=model,
            api_base=api_base,
            api_key=api_key or "none",
            is_chat_model=True,
            context_window=8192,
        )
    raise CLIError(
        f"unknown --llm {spec!r}: use local, gguf:<file>, openai:<model> or openai-like:<model>"
    )


@functools.lru_cache(maxsize=8)  # `run` needs the base model for the adapter and the report
def build_embed_model(spec: str, base: str = "offline") -> Any:
    """``offline`` | ``[local:]<id or folder>`` | ``openai:<model>`` | ``adapter:<folder>``."""
    from ..resources import resolve_model_id

    kind, _, rest = spec.partition(":")
    if spec in ("offline", "base") or kind == "local" or ":" not in spec:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        model_id = resolve_model_id(None if spec in ("offline", "base") else spec)
        path = Path(model_id)
        if not path.exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
            raise CLIError(f"embedding model {model_id!r}: no such folder, and the hub is offline")
        kwargs = {}
        if path.exists():
            from ..embeddings.base_models import saved_prompts

            query_prompt, passage_prompt = saved_prompts(path)
            kwargs = {
                "query_instruction": query_prompt or None,
                "text_instruction": passage_prompt or None,
            }
        try:
            return HuggingFaceEmbedding(model_name=model_id, **kwargs)
        except OSError as e:
            raise CLIError(f"embedding model {model_id!r} could not be loaded: {e}") from None
    if kind == "openai" and rest:
        from llama_index.embeddings.openai import OpenAIEmbedding

        return OpenAIEmbedding(model=rest)
    if kind == "adapter" and rest:
        from llama_index.embeddings.adapter import AdapterEmbeddingModel

        if not Path(rest).is_dir():
            raise CLIError(f"adapter folder {rest!r} does not exist")
        return AdapterEmbeddingModel(build_embed_model(base), rest)
    raise CLIError(
        f"unknown model {spec!r}: use offline, local:<id or folder>, openai:<model> or adapter:<folder>"
    )


def load_chunks(paths: list[str], args: argparse.Namespace, max_chunks: int | None) -> list:
    """Files -> chunks, sampled per file (``max_chunks``, seeded by ``--seed``)."""
    from ..documents import load_nodes

    nodes = load_nodes(
        paths,
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
        max_chunks=max_chunks,
        seed=args.seed,
    )
    logger.info("%d chunks from %s", len(nodes), ", ".join(map(str, paths)))
    return nodes


def generate_dataset(nodes: list, output: Path, args: argparse.Namespace) -> Any:
    """Chunks -> (question, chunk) pairs, saved to ``output`` (resumable).

    Raises:
        IncompleteRun: some chunks got no questions (after the dataset of the others is
            saved), or none did.
    """
    current_output[:] = [output]
    if args.generator == "pseudo":
        from ..generation.pseudo_queries import generate_pseudo_query_pairs

        ds = generate_pseudo_query_pairs(
            nodes, num_questions_per_chunk=args.num_questions, output_path=output, seed=args.seed
        )
        if not len(ds):
            raise IncompleteRun(f"no chunk gave a question ({len(nodes)} chunks) -> {output}")
        return ds
    from ..generation import generate_qa_embedding_pairs

    llm = build_llm(args.llm, args.api_base, args.api_key)
    kwargs: dict[str, Any] = {"num_workers": args.num_workers} if args.num_workers else {}
    if args.round_trip_k:  # the base embedding model must rank the chunk within k
        kwargs["round_trip_model"] = build_embed_model(
            args.round_trip_model or getattr(args, "model", "offline")
        )
        kwargs["round_trip_top_k"] = args.round_trip_k
    ds, report = generate_qa_embedding_pairs(
        nodes=nodes,
        llm=llm,
        output_path=output,
        num_questions_per_chunk=args.num_questions,
        qa_generate_prompt_tmpl=args.prompt,
        quality_filter=args.quality_filter,
        follow_up=args.follow_up,
        append=args.append,
        return_report=True,
        **kwargs,
    )
    current_output.clear()
    if report.resumed:
        print(f"resumed {report.resumed} of {report.chunks} chunks from an earlier run")
    if report.follow_ups:
        print(
            f"follow-ups: {report.follow_ups} chunks with too few questions asked once more, "
            f"{report.follow_up_questions} new questions"
        )
    if report.unanswered:
        print(f"{report.unanswered} of {report.chunks} chunks got answers with no question in them")
    if report.dropped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.dropped.items()))
        print(f"quality gate: dropped {sum(report.dropped.values())} questions ({reasons})")
    if not len(ds):
        raise IncompleteRun(f"no chunk got a question ({report.chunks} chunks asked)")
    if report.failed:
        raise IncompleteRun(
            f"{report.failed} of {report.chunks} chunks got no questions "
            f"({len(ds)} questions over {len(ds.corpus)} chunks saved to {output}); "
            f"rerun the same command to ask only those again: {rerun_command()}"
        )
    return ds


def rerun_command() -> str:
    """The command line this process was started with, ready to paste."""
    import shlex
    import sys

    return shlex.join(["llamaindex-finetune", *sys.argv[1:]])


def load_dataset(path: str) -> Any:
    from ..dataset import EmbeddingQAFinetuneDataset

    if not Path(path).is_file():
        raise CLIError(
            f"dataset {path!r} does not exist (make one with `llamaindex-finetune generate`)"
        )
    ds = EmbeddingQAFinetuneDataset.from_json(path)
    if not len(ds):
        raise CLIError(
            f"{path}: the dataset has no questions (make one with `llamaindex-finetune generate`)"
        )
    return ds


def train_model(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Path:
    from ..embeddings.sentence_transformer import SentenceTransformersFinetuneEngine

    kwargs = {
        k: v
        for k, v in (
            ("batch_size", args.batch_size),
            ("epochs", args.epochs),
            ("hard_negatives", args.hard_negatives),
        )
        if v is not None
    }
    engine = SentenceTransformersFinetuneEngine(
        train,
        model_id=args.model,
        model_output_path=str(output),
        val_dataset=val,
        overwrite=args.overwrite,
        **kwargs,
    )
    with _quiet_stdout(args):
        engine.finetune()
    return output


def _quiet_stdout(args: argparse.Namespace) -> Any:
    """Without ``-v``, the trainer's printed log dicts and the miner's statistics table stay
    out of the terminal (its progress bars, on stderr, stay)."""
    import contextlib
    import io

    if getattr(args, "verbose", False):
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(io.StringIO())


def train_adapter(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Path:
    from ..embeddings.adapter import EmbeddingAdapterFinetuneEngine

    base = build_embed_model(args.model)
    adapter_model = None
    if args.adapter == "two-layer":
        from llama_index.embeddings.adapter.utils import TwoLayerNN

        dim = len(base.get_text_embedding("dimension probe"))
        adapter_model = TwoLayerNN(dim, 1024, dim, bias=True, add_residual=True)
    kwargs = {
        k: v
        for k, v in (("batch_size", args.adapter_batch_size), ("epochs", args.adapter_epochs))
        if v is not None
    }
    engine = EmbeddingAdapterFinetuneEngine(
        train,
        base,
        model_output_path=str(output),
        adapter_model=adapter_model,
        val_dataset=val,
        overwrite=args.overwrite,
        **kwargs,
    )
    engine.finetune()
    return output


def evaluate_models(
    dataset: Any,
    models: dict[str, Any],
    output_dir: Path,
    top_k: list[int],
    overwrite: bool = False,
    title: str | None = None,
    dataset_name: str | None = None,
    seed: int = 0,
) -> Any:
    """Compare ``models`` on ``dataset`` (the first is the baseline): print the headline
    table, with paired intervals and wins/losses, and write every metric to ``output_dir``."""
    from ..evaluation import compare

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
        print(f"\n{title}")
    print(comparison.to_markdown())
    print(f"report written to {output_dir}")
    return comparison


def parse_models(items: list[str], base: str) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise CLIError(
                f"--model {item!r}: use NAME=SPEC, e.g. base=offline or tuned=local:my_model"
            )
        models[name] = build_embed_model(spec, base)
    return models
