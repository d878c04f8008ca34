"""Files -> chunks: stable ids and one clear error per bad input."""

from __future__ import annotations

import pytest
from conftest import SHARED_DATA
from pypdf import PdfWriter

from llama_index.finetuning.documents import DocumentError, load_nodes


def blank_pdf(path, password=None):
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if password:
        writer.encrypt(password)
    with open(path, "wb") as f:
        writer.write(f)
    return path


def test_text_files_and_folders_give_stable_ids(tmp_path):
    (tmp_path / "a.txt").write_text("Lyft reported revenue of $3.2 billion. " * 200)
    (tmp_path / "b.md").write_text("# Uber\nUber has drivers in many cities.")
    first = load_nodes([tmp_path], chunk_size=256, chunk_overlap=20)
    again = load_nodes([tmp_path], chunk_size=256, chunk_overlap=20)
    assert [n.node_id for n in first] == [n.node_id for n in again]
    assert first[0].node_id == "a-0" and first[-1].node_id == "b-0"
    assert len(load_nodes([tmp_path], chunk_size=256, chunk_overlap=20, max_chunks=3)) == 3


@pytest.mark.skipif(not (SHARED_DATA / "lyft_2021.pdf").exists(), reason="shared data absent")
def test_the_tutorial_pdf_is_read_page_by_page():
    nodes = load_nodes([SHARED_DATA / "lyft_2021.pdf"], max_chunks=5)
    assert len(nodes) == 5
    assert all(n.metadata.get("page_label") for n in nodes)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.pdf", "missing.pdf: no such file or folder"),
        (
            lambda d: (d / "empty").mkdir() or d / "empty",
            "empty: the folder has no readable documents",
        ),
        (lambda d: blank_pdf(d / "scan.pdf"), "scan.pdf: no text found"),
        (lambda d: blank_pdf(d / "locked.pdf", password="pw"), "locked.pdf: the PDF is encrypted"),
        (
            lambda d: (d / "junk.pdf").write_bytes(b"not a pdf at all") and d / "junk.pdf",
            "junk.pdf: not a readable PDF",
        ),
    ],
)
def test_bad_inputs_are_one_clear_error_naming_the_file(tmp_path, make, message):
    with pytest.raises(DocumentError, match=message):
        load_nodes([make(tmp_path)])
