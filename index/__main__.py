"""``python -m index build | add PATH... | remove DOC_ID | list | stats``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from core.settings import Settings, load_settings
from index.ingest import FileResult, Ingestor
from index.store import open_index


def _report(results: list[FileResult]) -> int:
    for r in results:
        stream = sys.stderr if r.status == "error" else sys.stdout
        prefix = "error: " if r.status == "error" else ""
        print(prefix + r.message, file=stream)
    return 1 if any(r.status == "error" for r in results) else 0


def _print_stats(settings: Settings) -> None:
    index = open_index(settings)
    stats = index.stats()
    print(
        f"{stats.documents} documents, {stats.chunks} chunks, {stats.vectors} vectors "
        f"({stats.vector_store}), {stats.disk_bytes / 1e6:.1f} MB on disk"
    )
    for d in index.documents():
        print(f"  {d.doc_id}: {d.title!r} — {d.publication}, {d.n_chunks} chunks, {d.n_chars:,} chars")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index", description="Manage the article index.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="index the articles folder (RAG_ARTICLES_DIR), incrementally")
    build.add_argument("--folder", type=Path, help="another folder to index instead")
    add = sub.add_parser("add", help="add or update article files (.txt, .md, .html)")
    add.add_argument("paths", nargs="+", type=Path)
    remove = sub.add_parser("remove", help="remove a document by id (see `list`)")
    remove.add_argument("doc_id")
    sub.add_parser("list", help="list indexed documents")
    stats = sub.add_parser("stats", help="print index statistics")
    stats.add_argument("--json", action="store_true", help="as one JSON object")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"error: bad settings: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "build":
            started = time.perf_counter()
            results = Ingestor(open_index(settings)).sync_folder(args.folder or settings.articles_dir)
            code = _report(results)
            print(f"built in {time.perf_counter() - started:.1f}s")
            _print_stats(settings)
            return code
        if args.command == "add":
            return _report(Ingestor(open_index(settings)).add_paths(args.paths))
        if args.command == "remove":
            return _report([Ingestor(open_index(settings)).remove(args.doc_id)])
        if args.command == "list":
            for d in open_index(settings).documents():
                print(f"{d.doc_id}\t{d.publication}\t{d.n_chunks} chunks\t{d.title}")
            return 0
        stats_obj = open_index(settings).stats()
        if args.json:
            print(json.dumps(asdict(stats_obj) | {"consistent": stats_obj.consistent}))
        else:
            _print_stats(settings)
        return 0
    except KeyboardInterrupt:
        print("interrupted; the index was left consistent", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # model, store and server errors carry a readable message
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
