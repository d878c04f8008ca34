"""Files and folders -> chunks (nodes), with one clear error for each way a file can be bad.

Example::

    from llama_index.finetuning.documents import load_nodes

    nodes = load_nodes(["../shared/data/10k/lyft_2021.pdf"], max_chunks=50)

PDFs are read page by page by llama-index-readers-file (through ``SimpleDirectoryReader``),
and split with ``SentenceSplitter``. Node ids are derived from the file name and the
chunk's position, so the same files give the same ids on every run (which lets question
generation resume and datasets line up with indexes).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from llama_index.core import SimpleDirectoryReader
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode, Document

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md", ".html", ".htm", ".docx", ".csv", ".json", ".epub")


class DocumentError(ValueError):
    """An input file or folder that cannot give any text."""


def _expand(paths: Sequence[str | os.PathLike]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise DocumentError(f"{path}: no such file or folder")
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            if not found:
                raise DocumentError(
                    f"{path}: the folder has no readable documents ({', '.join(SUPPORTED_SUFFIXES)})"
                )
            files += found
        elif not os.access(path, os.R_OK):
            raise DocumentError(f"{path}: the file cannot be read (permissions)")
        else:
            files.append(path)
    return files


def _check_pdf(path: Path) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        # Many filings are "encrypted" with an empty user password: readable by anyone.
        encrypted = reader.is_encrypted and not reader.decrypt("")
    except (PdfReadError, OSError, ValueError) as e:
        raise DocumentError(f"{path}: not a readable PDF ({e})") from None
    if encrypted:
        raise DocumentError(f"{path}: the PDF is encrypted; decrypt it first (e.g. qpdf --decrypt)")


def load_documents(paths: Sequence[str | os.PathLike]) -> list[Document]:
    """Read files and folders into Documents (one per PDF page), checking each file."""
    files = _expand(paths)
    documents: list[Document] = []
    for path in files:
        if path.suffix.lower() == ".pdf":
            _check_pdf(path)
        try:
            docs = SimpleDirectoryReader(input_files=[str(path)]).load_data()
        except Exception as e:  # noqa: BLE001  readers raise many kinds; name the file
            raise DocumentError(f"{path}: could not be read ({type(e).__name__}: {e})") from None
        if not any(d.get_content().strip() for d in docs):
            raise DocumentError(
                f"{path}: no text found (a scanned PDF? run OCR on it first, e.g. ocrmypdf)"
            )
        documents += docs
    return documents


def load_nodes(
    paths: Sequence[str | os.PathLike],
    chunk_size: int = 1024,
    chunk_overlap: int = 200,
    max_chunks: int | None = None,
) -> list[BaseNode]:
    """Read and split files into chunks with stable ids ``<file stem>-<position>``.

    ``max_chunks`` keeps an evenly spaced sample of that many chunks (for a quick look).
    """
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    nodes: list[BaseNode] = []
    for path in _expand(paths):
        file_nodes = splitter.get_nodes_from_documents(load_documents([path]))
        for i, node in enumerate(file_nodes):
            node.id_ = f"{path.stem}-{i}"
        nodes += file_nodes
    if max_chunks is not None and len(nodes) > max_chunks:
        step = len(nodes) / max_chunks
        nodes = [nodes[int(i * step)] for i in range(max_chunks)]
    return nodes
