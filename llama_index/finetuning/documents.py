"""Files and folders -> chunks (nodes), with one clear error for each way a file can be bad.

Example::

    from llama_index.finetuning.documents import load_nodes

    nodes = load_nodes(["../shared/data/10k/lyft_2021.pdf"], max_chunks=50)

PDFs are read page by page by llama-index-readers-file (through ``SimpleDirectoryReader``),
and split with ``SentenceSplitter``. Node ids are derived from the file's path relative to
the input given (``report-3`` for a file given directly, ``2021/report-3`` for
``2021/report.txt`` inside a folder given) and the chunk's position, so the same inputs
give the same ids on every run (which lets question generation resume and datasets line
up with indexes), and two files of the same name in different folders never share an id.

A node's metadata (the reader's page label and file path) stays with it but is kept out of
the text an index embeds, so that ``VectorStoreIndex(nodes)`` embeds the text the pairs hold
and models are trained and judged on (see ``benchmarks/results/metadata_text.md``).
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Sequence
from pathlib import Path

from llama_index.core import SimpleDirectoryReader
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import BaseNode, Document

# Every one of these is read with the package's own dependencies (.docx by _DocxReader; an
# .epub would need EbookLib, which the install does not bring, so folders skip it).
SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md", ".html", ".htm", ".docx", ".csv", ".json")
_BINARY_FORMATS = (".pdf", ".docx", ".epub")  # binary containers that hold text
_IMAGE_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF",
)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic")


class DocumentError(ValueError):
    """An input file or folder that cannot give any text."""


class SkippedFilesWarning(UserWarning):
    """``skip_unreadable=True`` left out files that cannot give text; the message names them."""


def _skipping(skipped: list[str], skip_unreadable: bool, error: DocumentError) -> None:
    """Note ``error``'s file as skipped, or raise it (``skip_unreadable`` off)."""
    if not skip_unreadable:
        raise error
    skipped.append(str(error))


def _said_skipped(skipped: list[str], kept: int, stacklevel: int = 3) -> None:
    """Warn naming the skipped files; none of the files readable is an error."""
    if not skipped:
        return
    if not kept:
        raise DocumentError(f"no input file could be read: {'; '.join(skipped)}")
    warnings.warn(
        f"skipped {len(skipped)} unreadable file(s): {'; '.join(skipped)}",
        SkippedFilesWarning,
        stacklevel=stacklevel,
    )


class _DocxReader(BaseReader):
    """The text of a Word .docx (paragraphs, tabs, line breaks) with the standard library:
    llama-index's own reader needs docx2txt, which this package's install does not bring."""

    def load_data(self, file: Path, extra_info: dict | None = None, **_: object) -> list[Document]:
        import zipfile
        from xml.etree import ElementTree

        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        try:
            with zipfile.ZipFile(file) as docx:
                root = ElementTree.fromstring(docx.read("word/document.xml"))
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as e:
            raise ValueError(f"not a Word .docx file ({e})") from None
        paragraphs = []
        for paragraph in root.iter(f"{w}p"):
            parts = []
            for node in paragraph.iter():
                if node.tag == f"{w}t":
                    parts.append(node.text or "")
                elif node.tag == f"{w}tab":
                    parts.append("\t")
                elif node.tag in (f"{w}br", f"{w}cr"):
                    parts.append("\n")
            paragraphs.append("".join(parts))
        return [Document(text="\n".join(paragraphs), metadata=extra_info or {})]


def _check_kind(path: Path) -> None:
    """Name an image or a binary file as such, before a reader makes nonsense of it."""
    with open(path, "rb") as f:
        head = f.read(8192)
    suffix = path.suffix.lower()
    if suffix in _IMAGE_SUFFIXES or (
        head.startswith(_IMAGE_MAGIC) and not head.startswith(b"%PDF")
        and (not head.startswith(b"RIFF") or head[8:12] == b"WEBP")
    ):  # fmt: skip
        raise DocumentError(f"{path}: an image, not a document (run OCR on it first)")
    if suffix not in _BINARY_FORMATS and b"\x00" in head:
        raise DocumentError(f"{path}: not a document (binary data)")


def _expand(paths: Sequence[str | os.PathLike]) -> list[tuple[Path, str]]:
    """The files to read, each with its id prefix (its path relative to the input given)."""
    files: list[tuple[Path, str]] = []
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
            files += [(p, p.relative_to(path).with_suffix("").as_posix()) for p in found]
        elif not os.access(path, os.R_OK):
            raise DocumentError(f"{path}: the file cannot be read (permissions)")
        else:
            files.append((path, path.stem))
    return _unique_prefixes(files)


def _unique_prefixes(files: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """Drop a file given twice; where two files share a prefix, use their paths as given."""
    seen: set[Path] = set()
    unique = []
    for path, prefix in files:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append((path, prefix))
    counts: dict[str, int] = {}
    for _, prefix in unique:
        counts[prefix] = counts.get(prefix, 0) + 1
    return [(p, p.as_posix() if counts[prefix] > 1 else prefix) for p, prefix in unique]


def input_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The files ``paths`` name (folders expanded to their documents), as they are read."""
    return [path for path, _ in _expand(paths)]


def check_inputs(paths: Sequence[str | os.PathLike], skip_unreadable: bool = False) -> int:
    """Check that every path exists and is a readable document; returns the number of files
    (``skip_unreadable``: of the readable ones; reading names the others, :func:`load_nodes`).

    Cheap (no file is parsed): meant to run before any slow work.
    """
    files, skipped = _expand(paths), list[str]()
    for path, _ in files:
        try:
            _check_kind(path)
        except DocumentError as e:
            _skipping(skipped, skip_unreadable, e)
    if skipped and len(skipped) == len(files):
        raise DocumentError(f"no input file could be read: {'; '.join(skipped)}")
    return len(files) - len(skipped)


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
    documents: list[Document] = []
    for path, _ in _expand(paths):
        _check_kind(path)
        if path.suffix.lower() == ".pdf":
            _check_pdf(path)
        try:
            docs = SimpleDirectoryReader(
                input_files=[str(path)],
                file_extractor={".docx": _DocxReader()},
                raise_on_error=True,  # a reader's error is the file's, not "no text found"
            ).load_data()
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
    seed: int = 0,
    skip_unreadable: bool = False,
) -> list[BaseNode]:
    """Read and split files into chunks with stable ids ``<relative path>-<position>``.

    ``skip_unreadable``: a file that gives no text (not a readable PDF, an image, a scanned
    PDF, ...) is left out and named in a :class:`SkippedFilesWarning`, instead of raising
    :class:`DocumentError` (which it still does when no file can be read).

    ``max_chunks`` keeps a random sample of at most that many chunks of each file, seeded
    with ``seed`` and the file's id prefix (so the sample of one file does not depend on the
    others), in document order.
    """
    if max_chunks is not None and max_chunks < 1:
        raise ValueError(f"max_chunks must be at least 1, got {max_chunks}")
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    nodes: list[BaseNode] = []
    files, skipped = _expand(paths), list[str]()
    for path, prefix in files:
        try:
            documents = load_documents([path])
        except DocumentError as e:
            _skipping(skipped, skip_unreadable, e)
            continue
        file_nodes = splitter.get_nodes_from_documents(documents)
        for i, node in enumerate(file_nodes):
            node.id_ = f"{prefix}-{i}"
            node.metadata["chunk_source"] = prefix
            # an index embeds the chunk text alone, the text pairs carry (dataset.chunk_text):
            # the reader's page label and path stay with the node, out of its embedding
            node.excluded_embed_metadata_keys = list(node.metadata)
            node.excluded_llm_metadata_keys = [*node.excluded_llm_metadata_keys, "chunk_source"]
        nodes += file_nodes
    _said_skipped(skipped, len(files) - len(skipped))
    return sample_chunks(nodes, max_chunks, seed)


def sample_chunks(nodes: list[BaseNode], max_chunks: int | None, seed: int = 0) -> list[BaseNode]:
    """At most ``max_chunks`` chunks of each file of :func:`load_nodes`, a seeded random
    sample kept in document order (``None``: all)."""
    if max_chunks is None:
        return list(nodes)
    if max_chunks < 1:
        raise ValueError(f"max_chunks must be at least 1, got {max_chunks}")
    by_file: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        by_file.setdefault(node.metadata.get("chunk_source", ""), []).append(i)
    keep: set[int] = set()
    for prefix, positions in by_file.items():
        if len(positions) <= max_chunks:
            keep.update(positions)
        else:
            keep.update(random.Random(f"{seed}\x1f{prefix}").sample(positions, max_chunks))
    return [n for i, n in enumerate(nodes) if i in keep]
