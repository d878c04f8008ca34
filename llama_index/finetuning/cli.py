"""``llamaindex-finetune``: from PDFs to a better embedding model and the proof, in one command.

Example::

    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf --output-dir out
    llamaindex-finetune generate docs/ --output train.json --llm openai:gpt-4o-mini
    llamaindex-finetune train train.json --val val.json --output my_model
    llamaindex-finetune adapt train.json --val val.json --output my_adapter
    llamaindex-finetune evaluate val.json --model base=offline --model tuned=local:my_model

Every subcommand has ``--help``. Models are named as ``offline`` (the bundled
all-MiniLM-L6-v2), ``local:<hub id or folder>``, ``openai:<model>`` or, for evaluation,
``adapter:<folder>`` (over ``--base``). LLMs are ``local`` (the bundled SmolLM2, default),
``openai:<model>`` (needs OPENAI_API_KEY) or ``openai-like:<model>`` with ``--api-base``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger("llamaindex-finetune")

GENERATORS = ("llm", "pseudo")
DEFAULT_GENERATOR = "llm"


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


# ---- building blocks -------------------------------------------------------------------


def build_llm(spec: str, api_base: str | None = None, api_key: str | None = None) -> Any:
    """``local`` | ``openai:<model>`` | ``openai-like:<model>`` (with ``api_base``) -> an LLM."""
    kind, _, model = spec.partition(":")
    if kind == "local":
        from .llms.local import LocalLLM

        return LocalLLM()
    if kind == "openai" and model:
        from llama_index.llms.openai import OpenAI

        return OpenAI(model=model, api_base=api_base, api_key=api_key)
    if kind == "openai-like" and model:
        if not api_base:
            raise CLIError("--llm openai-like:<model> needs --api-base URL (e.g. http://localhost:8000/v1)")
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(model=model, api_base=api_base, api_key=api_key or "none",
                          is_chat_model=True, context_window=8192)
    raise CLIError(f"unknown --llm {spec!r}: use local, openai:<model> or openai-like:<model>")


def build_embed_model(spec: str, base: str = "offline") -> Any:
    """``offline`` | ``local:<id or folder>`` | ``openai:<model>`` | ``adapter:<folder>``."""
    from .resources import resolve_model_id

    kind, _, rest = spec.partition(":")
    if spec in ("offline", "base") or kind == "local":
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        model_id = resolve_model_id(None if spec in ("offline", "base") else rest)
        path = Path(model_id)
        if not path.exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
            raise CLIError(f"embedding model {model_id!r}: no such folder, and the hub is offline")
        kwargs = {}
        if path.exists():
            from .embeddings.base_models import saved_prompts

            query_prompt, passage_prompt = saved_prompts(path)
            kwargs = {"query_instruction": query_prompt or None, "text_instruction": passage_prompt or None}
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
    raise CLIError(f"unknown model {spec!r}: use offline, local:<id or folder>, openai:<model> or adapter:<folder>")


def generate_dataset(paths: list[str], output: Path, args: argparse.Namespace) -> Any:
    """Files -> chunks -> (question, chunk) pairs, saved to ``output`` (resumable)."""
    from .documents import load_nodes

    nodes = load_nodes(paths, chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap,
                       max_chunks=args.max_chunks)
    logger.info("%d chunks from %s", len(nodes), ", ".join(map(str, paths)))
    if args.generator == "pseudo":
        from .generation.pseudo_queries import generate_pseudo_query_pairs

        return generate_pseudo_query_pairs(nodes, num_questions_per_chunk=args.num_questions,
                                           output_path=output, seed=args.seed)
    from .generation import generate_qa_embedding_pairs

    llm = build_llm(args.llm, args.api_base, args.api_key)
    return generate_qa_embedding_pairs(nodes=nodes, llm=llm, output_path=output,
                                       num_questions_per_chunk=args.num_questions,
                                       num_workers=args.num_workers)


def load_dataset(path: str) -> Any:
    from .dataset import EmbeddingQAFinetuneDataset

    if not Path(path).is_file():
        raise CLIError(f"dataset {path!r} does not exist (make one with `llamaindex-finetune generate`)")
    return EmbeddingQAFinetuneDataset.from_json(path)


def train_model(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Path:
    from .embeddings.sentence_transformer import SentenceTransformersFinetuneEngine

    kwargs = {k: v for k, v in (("batch_size", args.batch_size), ("epochs", args.epochs),
                                ("hard_negatives", args.hard_negatives)) if v is not None}
    engine = SentenceTransformersFinetuneEngine(
        train, model_id=None if args.model == "offline" else args.model,
        model_output_path=str(output), val_dataset=val, **kwargs)
    engine.finetune()
    return output


def train_adapter(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Path:
    from .embeddings.adapter import EmbeddingAdapterFinetuneEngine

    base = build_embed_model(args.model)
    adapter_model = None
    if args.adapter == "two-layer":
        from llama_index.embeddings.adapter.utils import TwoLayerNN

        dim = len(base.get_text_embedding("dimension probe"))
        adapter_model = TwoLayerNN(dim, 1024, dim, bias=True, add_residual=True)
    kwargs = {k: v for k, v in (("batch_size", args.adapter_batch_size),
                                ("epochs", args.adapter_epochs)) if v is not None}
    engine = EmbeddingAdapterFinetuneEngine(train, base, model_output_path=str(output),
                                            adapter_model=adapter_model, val_dataset=val, **kwargs)
    engine.finetune()
    return output


def evaluate_models(dataset: Any, models: dict[str, Any], output_dir: Path, top_k: list[int]) -> Any:
    from .evaluation import compare

    comparison = compare(dataset, models, top_k=top_k, output_dir=output_dir,
                         baseline=next(iter(models)))
    k = max(top_k)  # the terminal gets the headline columns; the files get every metric
    print(comparison.to_markdown(columns=[f"hit_rate@{i}" for i in top_k] + [f"mrr@{k}", f"ndcg@{k}"]))
    print(f"\nreport written to {output_dir}")
    return comparison


def _parse_models(items: list[str], base: str) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise CLIError(f"--model {item!r}: use NAME=SPEC, e.g. base=offline or tuned=local:my_model")
        models[name] = build_embed_model(spec, base)
    return models


# ---- subcommands -------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> None:
    ds = generate_dataset(args.inputs, Path(args.output), args)
    print(f"{len(ds)} questions over {len(ds.corpus)} chunks -> {args.output}")


def cmd_train(args: argparse.Namespace) -> None:
    val = load_dataset(args.val) if args.val else None
    train_model(load_dataset(args.dataset), val, Path(args.output), args)
    print(f"finetuned model saved to {args.output} (use it as 'local:{args.output}')")


def cmd_adapt(args: argparse.Namespace) -> None:
    val = load_dataset(args.val) if args.val else None
    train_adapter(load_dataset(args.dataset), val, Path(args.output), args)
    print(f"adapter saved to {args.output} (use it as 'adapter:{args.output}')")


def cmd_evaluate(args: argparse.Namespace) -> None:
    models = _parse_models(args.model or ["base=offline"], args.base)
    evaluate_models(load_dataset(args.dataset), models, Path(args.output_dir), args.top_k)


def cmd_run(args: argparse.Namespace) -> None:
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    train = generate_dataset(args.train, out / "train_dataset.json", args)
    val = generate_dataset(args.val, out / "val_dataset.json", args)
    print(f"pairs: {len(train)} train, {len(val)} validation")
    model_dir = train_model(train, val, out / "finetuned_model", args)
    adapter_dir = train_adapter(train, val, out / "adapter", args)
    models = {
        "base": build_embed_model(args.model),
        "finetuned": build_embed_model(f"local:{model_dir}"),
        "adapter": build_embed_model(f"adapter:{adapter_dir}", base=args.model),
    }
    evaluate_models(val, models, out / "report", args.top_k)
    print(f"total time: {time.perf_counter() - started:.0f} s")


# ---- argument parsing ----------------------------------------------------------------------


def _add_generation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("question generation")
    g.add_argument("--generator", choices=GENERATORS, default=DEFAULT_GENERATOR,
                   help="llm: an LLM writes questions; pseudo: sentences of the chunk, no LLM "
                        "(default: %(default)s)")
    g.add_argument("--llm", default="local", help="local | openai:<model> | openai-like:<model> (default: local)")
    g.add_argument("--api-base", default=os.environ.get("OPENAI_API_BASE"), help="server URL for openai-like")
    g.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")
    g.add_argument("--num-questions", type=int, default=2, help="questions per chunk (default: 2)")
    g.add_argument("--num-workers", type=int, default=16, help="LLM calls in flight (default: 16)")
    g.add_argument("--max-chunks", type=int, default=None,
                   help="use an evenly spaced sample of this many chunks per input (a quick look)")
    g.add_argument("--chunk-size", type=int, default=1024)
    g.add_argument("--chunk-overlap", type=int, default=200)
    g.add_argument("--seed", type=int, default=0)


def _add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training (defaults: the measured best, see benchmarks/RESULTS.md)")
    g.add_argument("--model", default="offline", help="base model: offline | <hub id or folder> (default: offline)")
    g.add_argument("--epochs", type=int, default=None)
    g.add_argument("--batch-size", type=int, default=None)
    g.add_argument("--hard-negatives", type=int, default=None, help="mined negatives per question")


def _add_adapter_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("adapter")
    g.add_argument("--adapter", choices=("linear", "two-layer"), default="linear")
    g.add_argument("--adapter-epochs", type=int, default=None)
    g.add_argument("--adapter-batch-size", type=int, default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llamaindex-finetune", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="files or folders -> question/chunk pairs (JSON)")
    p.add_argument("inputs", nargs="+", help="PDF/text files or folders")
    p.add_argument("--output", "-o", default="train_dataset.json")
    _add_generation_options(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="finetune a sentence-transformers model on a dataset")
    p.add_argument("dataset")
    p.add_argument("--val", default=None, help="validation dataset: keeps the best checkpoint")
    p.add_argument("--output", "-o", default="finetuned_model")
    _add_training_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("adapt", help="train an adapter over a frozen embedding model")
    p.add_argument("dataset")
    p.add_argument("--val", default=None)
    p.add_argument("--output", "-o", default="adapter")
    p.add_argument("--model", default="offline", help="base: offline | local:<id> | openai:<model>")
    _add_adapter_options(p)
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser("evaluate", help="compare models on a dataset: table, PNG and JSON")
    p.add_argument("dataset")
    p.add_argument("--model", action="append", help="NAME=SPEC, repeatable (default: base=offline)")
    p.add_argument("--base", default="offline", help="base model under adapter:<folder> specs")
    p.add_argument("--top-k", type=int, nargs="+", default=[1, 5, 10])
    p.add_argument("--output-dir", default="evaluation")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("run", help="the whole tutorial: pairs -> finetuned model + adapter -> comparison")
    p.add_argument("--train", nargs="+", required=True, help="training files or folders")
    p.add_argument("--val", nargs="+", required=True, help="validation files or folders")
    p.add_argument("--output-dir", default="finetune_run")
    p.add_argument("--top-k", type=int, nargs="+", default=[1, 5, 10])
    _add_generation_options(p)
    _add_training_options(p)
    _add_adapter_options(p)
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.verbose is False:
        logging.getLogger("llamaindex-finetune").setLevel(logging.INFO)
    from .documents import DocumentError

    try:
        args.func(args)
    except (CLIError, DocumentError, FileNotFoundError) as e:
        print(f"llamaindex-finetune {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # bad datasets and arguments name the bad thing themselves
        print(f"llamaindex-finetune {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
