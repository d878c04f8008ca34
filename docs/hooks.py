"""MkDocs hook: the benchmarks' own pages become pages of the site.

``results.md`` includes ``benchmarks/RESULTS.md``, whose links are relative to
``benchmarks/`` (``experiments/results/writer_ceiling.md``, ``data/uber_reference.md``).
Every other Markdown file under ``benchmarks/`` is added at that same relative path, so
those links resolve on the site as they do in the repository, and ``--strict`` still fails
on a link to a page that does not exist.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def on_files(files: Files, config) -> Files:
    for path in sorted(BENCHMARKS.rglob("*.md")):
        uri = path.relative_to(BENCHMARKS).as_posix()
        if uri.startswith("out/"):  # what benchmark runs leave (model cards): not pages
            continue
        if uri != "RESULTS.md" and files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
