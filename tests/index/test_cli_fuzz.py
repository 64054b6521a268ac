"""`python -m index` with arbitrary arguments and file contents (hypothesis): every run ends
with a result or `error:` lines only, with a documented exit code, and a run that is refused
leaves the index exactly as it was."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from core.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_SOME_FAILED
from core.settings import Settings
from index.catalog import Catalog
from index.store import CATALOG_FILE
from index.vector_store import make_vector_store
from tests.fuzz import SUBPROCESS_EXAMPLES, argv_text, error_lines, python_m

SHIPPED = {"guardian-baghuz-final-battle", "spiegel-beaten-but-not-defeated"}
# Words the CLI knows, mixed with anything else. (`--rebuild` rewrites the whole index: it has
# tests of its own.)
words = st.sampled_from(["build", "add", "remove", "list", "stats", "--json", "--folder", "-h", "--", "-"])
argv = st.lists(words | argv_text, max_size=4)
contents = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.builds(
        lambda t: f"<html><title>{t}</title><body><p>{t}</p></body></html>".encode(), st.text(max_size=50)
    ),
)
suffixes = st.sampled_from([".txt", ".md", ".html", ".htm", ".png", "", ".TXT"])


def snapshot(settings: Settings) -> tuple:
    """Everything a run could change: documents with their hashes, chunk ids, vector ids."""
    catalog = Catalog(settings.index_dir / CATALOG_FILE)
    try:
        docs = sorted((d.doc_id, d.content_hash) for d in catalog.documents())
        return (
            docs,
            catalog.pending(),
            catalog.chunk_ids(),
            make_vector_store(settings, "all-MiniLM-L6-v2-int8").all_ids(),
        )
    finally:
        catalog.close()


@pytest.fixture
def data_dir(copy_data_dir) -> Path:
    return copy_data_dir()


@SUBPROCESS_EXAMPLES
@given(args=argv)
@example(args=["build", "/etc/hostname"])  # a file, not a folder
@example(args=["build", "--folder", "no-such-folder"])
@example(args=["build", "one", "--folder", "two"])
@example(args=["add", os.fsdecode(b"\xff\xfe.txt")])
@example(args=["remove", "\udcff"])
@example(args=["stats", "--json", "extra"])
@example(args=["list"])
def test_any_arguments_end_in_a_result_or_one_line_errors(
    args, data_dir: Path, model_cache: Path, tmp_path
) -> None:
    settings = Settings(data_dir=data_dir, cache_dir=model_cache)
    before = snapshot(settings)
    work = Path(tempfile.mkdtemp(dir=tmp_path))  # relative paths in the arguments land here
    result = python_m(
        ["index", *args], {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache)}, work
    )
    errors = error_lines(result)
    event(f"exit {result.returncode}")
    assert result.returncode in (EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT), errors
    assert (result.returncode == EXIT_OK) == (errors == [])
    assert snapshot(settings) == before  # nothing here adds an article: refused or read-only
    if result.returncode == EXIT_OK and args[:1] == ["list"]:
        assert {line.split("\t")[0] for line in result.stdout.decode().splitlines()} == SHIPPED
    if result.returncode == EXIT_OK and args[:2] == ["stats", "--json"]:
        assert json.loads(result.stdout)["consistent"]


@settings(SUBPROCESS_EXAMPLES, max_examples=15)  # an added file costs two runs (add, remove)
@given(data=contents, suffix=suffixes, stem=st.text(st.characters(codec="utf-8"), min_size=1, max_size=12))
@example(data=b"\x00\x01binary", suffix=".txt", stem="binary")
@example(data="na\u00efve".encode("latin-1"), suffix=".txt", stem="latin1")
@example(data=b"", suffix=".md", stem="empty")
@example(data=b"Harbour notes\n\nThe ferry Saltfjord carries 412 passengers.\n", suffix=".txt", stem="ferry")
def test_adding_any_file_adds_it_or_changes_nothing(
    data, suffix, stem, data_dir: Path, model_cache: Path, tmp_path
) -> None:
    settings = Settings(data_dir=data_dir, cache_dir=model_cache, max_file_bytes=250)
    before = snapshot(settings)
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    path = work / (stem.replace("/", "_").replace("\x00", "_").strip(".") or "x")
    path = path.with_name(path.name + suffix)
    path.write_bytes(data)
    env = {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache), "RAG_MAX_FILE_BYTES": "250"}
    result = python_m(["index", "add", str(path)], env, work)
    errors = error_lines(result)
    event(f"exit {result.returncode}")
    if result.returncode == EXIT_OK:
        # Added: in both stores, in step; then taken out again for the next example.
        docs, pending, chunk_ids, vector_ids = snapshot(settings)
        assert pending == [] and chunk_ids == vector_ids and len(docs) == len(before[0]) + 1
        [added] = {d for d, _ in docs} - {d for d, _ in before[0]}
        assert python_m(["index", "remove", added], env, work).returncode == EXIT_OK
    else:
        assert result.returncode == EXIT_SOME_FAILED and len(errors) == 1, errors
        assert str(path) in errors[0] or path.name in errors[0] or "rename" in errors[0]
    assert snapshot(settings) == before
