"""``python -m index build [FOLDER] [--rebuild] | add PATH... | remove DOC_ID | list | stats``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli import ArgumentParser, run_cli
from core.errors import EXIT_OK, EXIT_SOME_FAILED, InputError, one_line
from core.settings import Settings, load_settings

if TYPE_CHECKING:
    from index.ingest import FileResult, Ingestor
    from index.store import ArticleIndex


def _report(results: list[FileResult]) -> int:
    for r in results:
        stream = sys.stderr if r.status == "error" else sys.stdout
        prefix = "error: " if r.status == "error" else ""
        print(prefix + one_line(r.message), file=stream)  # a document id may hold a newline
    return EXIT_SOME_FAILED if any(r.status == "error" for r in results) else EXIT_OK


def _say_waiting() -> None:
    print("waiting for another ingest to finish…", file=sys.stderr, flush=True)


def _ingestor(index: ArticleIndex) -> Ingestor:
    from index.ingest import Ingestor

    return Ingestor(index, on_wait=_say_waiting)


def _print_stats(index: ArticleIndex) -> None:
    stats = index.stats()
    print(
        f"{stats.documents} documents, {stats.chunks} chunks, {stats.vectors} vectors "
        f"({stats.vector_store}), {stats.disk_bytes / 1e6:.1f} MB on disk"
    )
    for d in index.documents():
        print(f"  {d.doc_id}: {d.title!r} — {d.publication}, {d.n_chunks} chunks, {d.n_chars:,} chars")


def _folder(args: argparse.Namespace, settings: Settings) -> Path:
    if args.folder and args.folder_option and args.folder != args.folder_option:
        raise InputError("give the folder once: either FOLDER or --folder")
    folder = args.folder or args.folder_option or settings.articles_dir
    if folder.is_file():
        raise InputError(
            f"{folder} is a file, not a folder; add one file with `python -m index add {folder}`"
        )
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    return folder


def _build(args: argparse.Namespace, settings: Settings) -> int:
    from index.store import delete_index, open_index, writer_lock

    folder = _folder(args, settings)
    started = time.perf_counter()
    # Held from the deletion to the end of the build, so no other writer sees a half-built index.
    with writer_lock(settings).hold(_say_waiting):
        if args.rebuild:
            delete_index(settings)
        index = open_index(settings)
        results = _ingestor(index).sync_folder(folder)
        if args.rebuild and settings.uploads_dir.is_dir():
            # The chat's uploads live in the data folder: bring them back too.
            results += _ingestor(index).sync_folder(settings.uploads_dir)
    code = _report(results)
    print(f"built in {time.perf_counter() - started:.1f}s")
    _print_stats(index)
    return code


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.command == "build":
        return _build(args, settings)
    # Chroma and the index load only now: bad arguments and settings are answered at once.
    from index.store import open_index

    index = open_index(settings)
    if args.command == "add":
        return _report(_ingestor(index).add_paths(args.paths))
    if args.command == "remove":
        return _report([_ingestor(index).remove(args.doc_id)])
    if args.command == "list":
        for d in index.documents():
            print(f"{d.doc_id}\t{d.publication}\t{d.n_chunks} chunks\t{d.title}")
        return EXIT_OK
    with index.writer_lock.try_hold() as no_writer:
        if no_writer:  # the full check reads every page; a write in flight would be reported as damage
            index.check(thorough=True)
        stats = index.stats()
    if args.json:
        print(json.dumps(asdict(stats) | {"consistent": stats.consistent}))
    else:
        _print_stats(index)
    return EXIT_OK


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m index", description="Manage the article index.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="index the articles folder (RAG_ARTICLES_DIR), incrementally")
    build.add_argument("folder", nargs="?", type=Path, help="another folder to index instead")
    build.add_argument("--folder", dest="folder_option", type=Path, help="the same, as an option")
    build.add_argument(
        "--rebuild",
        action="store_true",
        help="delete the index (a damaged one too), then build it from the folder and the chat uploads",
    )
    add = sub.add_parser("add", help="add or update article files (.txt, .md, .html)")
    add.add_argument("paths", nargs="+", type=Path)
    remove = sub.add_parser("remove", help="remove a document by id (see `list`)")
    remove.add_argument("doc_id")
    sub.add_parser("list", help="list indexed documents")
    stats = sub.add_parser("stats", help="check the index and print its statistics")
    stats.add_argument("--json", action="store_true", help="as one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_cli(
        lambda: _run(_parser().parse_args(argv)), interrupted="interrupted; the index was left consistent"
    )


if __name__ == "__main__":
    sys.exit(main())
