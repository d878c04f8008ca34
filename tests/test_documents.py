"""Files -> chunks: stable ids and one clear error per bad input."""

from __future__ import annotations

import pytest
from pypdf import PdfReader, PdfWriter
from support.paths import SHARED_DATA

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
    sample = load_nodes([tmp_path], chunk_size=256, chunk_overlap=20, max_chunks=3)
    # per file: 3 of a.txt's chunks, b.md's only chunk; seeded, in document order
    assert [n.node_id for n in sample][-1] == "b-0" and len(sample) == 4
    assert [n.node_id for n in sample] == [
        n.node_id for n in load_nodes([tmp_path], chunk_size=256, chunk_overlap=20, max_chunks=3)
    ]
    other_seed = load_nodes([tmp_path], chunk_size=256, chunk_overlap=20, max_chunks=3, seed=1)
    assert [n.node_id for n in other_seed] != [n.node_id for n in sample]
    a_ids = [n.node_id for n in sample if n.node_id.startswith("a-")]
    assert a_ids == sorted(a_ids, key=lambda i: int(i.split("-")[1]))


def test_same_file_names_in_different_folders_both_arrive(tmp_path):
    """Finding 12.3: per-year folders with the same file names used to share chunk ids."""
    for year in ("2020", "2021"):
        (tmp_path / "dup" / year).mkdir(parents=True)
        (tmp_path / "dup" / year / "report.txt").write_text(f"Revenue in {year} was large.")
    nodes = load_nodes([tmp_path / "dup"])
    assert [n.node_id for n in nodes] == ["2020/report-0", "2021/report-0"]
    # the same two files given directly: their stems collide, so their paths are the ids
    direct = load_nodes([tmp_path / "dup" / "2020" / "report.txt", tmp_path / "dup" / "2021"])
    assert len({n.node_id for n in direct}) == 2
    single = load_nodes([tmp_path / "dup" / "2020" / "report.txt"])
    assert [n.node_id for n in single] == ["report-0"]  # a file given alone keeps its stem


@pytest.mark.skipif(not (SHARED_DATA / "lyft_2021.pdf").exists(), reason="shared data absent")
def test_the_tutorial_pdf_is_read_page_by_page(tmp_path):
    # its first 6 pages (8 chunks): reading all 238 took 10-16 s and showed nothing more
    writer = PdfWriter()
    for page in PdfReader(SHARED_DATA / "lyft_2021.pdf").pages[:6]:
        writer.add_page(page)
    writer.write(tmp_path / "lyft_2021.pdf")
    nodes = load_nodes([tmp_path / "lyft_2021.pdf"], max_chunks=5)
    assert len(nodes) == 5
    assert all(n.metadata.get("page_label") for n in nodes)


def test_an_index_of_the_nodes_embeds_the_text_the_pairs_hold(tmp_path):
    """VectorStoreIndex(nodes) embeds MetadataMode.EMBED text; the pairs, the
    training and the evaluation hold the chunk alone. The page label and path stay with the
    node (and in what an LLM reads), out of its embedding."""
    from llama_index.core.schema import MetadataMode

    from llama_index.finetuning.dataset import chunk_text

    writer = PdfWriter()
    for page in PdfReader(SHARED_DATA / "lyft_2021.pdf").pages[:2]:
        writer.add_page(page)
    writer.write(tmp_path / "lyft_2021.pdf")
    (tmp_path / "notes.md").write_text("Drivers in Chicago earned more in the fourth quarter.")
    nodes = load_nodes([tmp_path])
    assert nodes and {n.metadata["chunk_source"] for n in nodes} == {"lyft_2021", "notes"}
    for node in nodes:
        assert node.metadata["file_path"]
        assert node.get_content(MetadataMode.EMBED) == chunk_text(node)
        assert chunk_text(node) == node.get_content(MetadataMode.NONE)
        assert "file_path: " in node.get_content(MetadataMode.LLM)


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
        (
            lambda d: (d / "a.bin").write_bytes(bytes(range(256)) * 8) and d / "a.bin",
            "a.bin: not a document \\(binary data\\)",
        ),
        (
            lambda d: (d / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64)) and d / "x.png",
            "x.png: an image, not a document",
        ),
        (
            lambda d: (
                (d / "photo.pdf").write_bytes(b"\xff\xd8\xff\xe0" + bytes(64)) and d / "photo.pdf"
            ),
            "photo.pdf: an image, not a document",
        ),
    ],
)
def test_bad_inputs_are_one_clear_error_naming_the_file(tmp_path, make, message):
    with pytest.raises(DocumentError, match=message):
        load_nodes([make(tmp_path)])


def write_docx(path, paragraphs):
    """A minimal Word .docx (what Word saves, less the styles): a zip with word/document.xml."""
    import zipfile
    from xml.sax.saxutils import escape

    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    with zipfile.ZipFile(path, "w") as docx:
        docx.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        docx.writestr("word/document.xml", f'<w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>')  # fmt: skip
    return path


def test_docx_is_read_with_the_packages_own_dependencies(tmp_path):
    """Every suffix listed as readable is read by what the install holds (.docx once needed
    docx2txt, which it lacks)."""
    import importlib.util

    from llama_index.finetuning.documents import SUPPORTED_SUFFIXES

    assert importlib.util.find_spec("docx2txt") is None  # not installed: our reader reads it
    folder = tmp_path / "docs"
    folder.mkdir()
    write_docx(folder / "memo.docx", ["Lyft grew revenue in 2021.", "Drivers earned more."])
    nodes = load_nodes([folder])
    assert [n.node_id for n in nodes] == ["memo-0"]
    assert "Lyft grew revenue in 2021.\nDrivers earned more." in nodes[0].text
    assert ".docx" in SUPPORTED_SUFFIXES and ".epub" not in SUPPORTED_SUFFIXES  # no EbookLib

    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DocumentError, match="broken.docx: could not be read"):
        load_nodes([folder / "broken.docx"])
