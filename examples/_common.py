"""What the two tutorial scripts share: data paths, the LLM line, the base model, arguments."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from llama_index.finetuning.cli.arg_types import positive_int

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "10k"
TRAIN_FILES = [str(DATA / "lyft_2021.pdf")]
VAL_FILES = [str(DATA / "uber_2021.pdf")]


def parse_args(description: str) -> argparse.Namespace:
    """The tutorial's sizes by default; smaller ones for a quick look (the tests use tiny ones)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output-dir", default="tutorial_output")
    parser.add_argument(
        "--max-pages",
        type=positive_int,
        default=None,
        help="read this many evenly spaced pages of each PDF (default: all)",
    )
    parser.add_argument(
        "--max-chunks",
        type=positive_int,
        default=None,
        help="use this many chunks per corpus, evenly spaced (default: all)",
    )
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        default=1024,
        help="tokens per chunk (default: 1024, SentenceSplitter's, as in the tutorial)",
    )
    parser.add_argument(
        "--num-questions",
        type=positive_int,
        default=2,
        help="questions the LLM writes per chunk (default: 2, as in the tutorial)",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="train every model this many epochs (default: the tutorial's)",
    )
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


def load_corpus(files, args, verbose=False):
    """The tutorial's loader: PDF pages -> SentenceSplitter chunks, in the sizes ``args`` gives
    (pages and chunks evenly spaced when limited)."""
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.readers.file.base import default_file_metadata_func

    if args.max_pages is None:
        docs = SimpleDirectoryReader(input_files=files).load_data()
    else:  # reading a page costs far more than copying it: read a copy of a few pages
        with tempfile.TemporaryDirectory() as folder:
            copies = {_some_pages(file, args.max_pages, Path(folder)): file for file in files}
            # with the metadata of the file copied (the splitter counts it in the chunk size)
            docs = SimpleDirectoryReader(
                input_files=list(copies),
                file_metadata=lambda copy: default_file_metadata_func(copies[copy]),
            ).load_data()
    for doc in docs:  # an index of the nodes embeds the chunk alone, the text the pairs hold
        doc.excluded_embed_metadata_keys = list(doc.metadata)
    # SentenceSplitter's own overlap (200 tokens) unless the chunks are small
    splitter = SentenceSplitter(
        chunk_size=args.chunk_size, chunk_overlap=min(200, args.chunk_size // 5)
    )
    nodes = splitter.get_nodes_from_documents(docs, show_progress=verbose)
    if args.max_chunks is not None and len(nodes) > args.max_chunks:
        step = len(nodes) / args.max_chunks
        nodes = [nodes[int(i * step)] for i in range(args.max_chunks)]
    return nodes


def _some_pages(file: str, max_pages: int, folder: Path) -> str:
    """A copy of ``file`` holding ``max_pages`` of its pages, evenly spaced."""
    from pypdf import PdfReader, PdfWriter

    pages = PdfReader(file).pages
    step = max(len(pages) / max_pages, 1)
    writer = PdfWriter()
    for i in range(min(max_pages, len(pages))):
        writer.add_page(pages[int(i * step)])
    copy = folder / Path(file).name
    writer.write(copy)
    return str(copy)
