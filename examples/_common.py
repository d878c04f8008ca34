"""What the two tutorial scripts share: data paths, the LLM line, the base model, arguments."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "10k"
TRAIN_FILES = [str(DATA / "lyft_2021.pdf")]
VAL_FILES = [str(DATA / "uber_2021.pdf")]


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--max-chunks",
        type=int,
        default=None,
        help="use this many chunks per corpus (a quick look; default: all)",
    )
    parser.add_argument("--output-dir", default="tutorial_output")
    return parser.parse_args()


def get_llm():
    """The one line the tutorials change: OpenAI when a key is set, else the bundled local LLM."""
    if os.environ.get("OPENAI_API_KEY"):
        from llama_index.llms.openai import OpenAI

        return OpenAI(model="gpt-4o-mini")
    from llama_index.finetuning.llms.local import LocalLLM

    return LocalLLM()


def base_model_id() -> str:
    """BAAI/bge-small-en as in the tutorial when the hub is reachable, else the bundled MiniLM."""
    from llama_index.finetuning.resources import resolve_model_id

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return resolve_model_id(None)
    return "BAAI/bge-small-en"


def load_corpus(files, max_chunks=None, verbose=False):
    """The tutorial's loader: PDF pages -> SentenceSplitter chunks (evenly sampled if limited)."""
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter

    docs = SimpleDirectoryReader(input_files=files).load_data()
    nodes = SentenceSplitter().get_nodes_from_documents(docs, show_progress=verbose)
    if max_chunks is not None and len(nodes) > max_chunks:
        step = len(nodes) / max_chunks
        nodes = [nodes[int(i * step)] for i in range(max_chunks)]
    return nodes
