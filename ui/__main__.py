"""``python -m ui [--host H] [--port N] [--share]`` — start the chat (building the index if empty).

``python -m ui --export-feedback FILE`` writes the rated answers as JSON lines and exits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import core.offline  # noqa: F401  (before gradio, chroma and onnxruntime load)
from core.cli import ArgumentParser, run_cli
from core.errors import EXIT_OK, InputError, SettingsError
from core.settings import Settings, load_settings


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m ui", description="Start the news QA chat.")
    parser.add_argument("--host", help="address to bind (default: RAG_UI_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: RAG_UI_PORT, 7860)")
    parser.add_argument("--share", action="store_true", default=None, help="open a public Gradio link")
    parser.add_argument("--export-feedback", type=Path, metavar="FILE", help="write feedback as JSONL")
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in {"ui_host": args.host, "ui_port": args.port, "ui_share": args.share}.items()
        if value is not None
    }
    return load_settings(**overrides)


def _export_feedback(settings: Settings, path: Path) -> int:
    from ui.chat_store import ChatStore, feedback_as_json

    rows = ChatStore(settings.chat_db_path).feedback()
    text = feedback_as_json(rows)
    try:
        path.write_text(text + ("\n" if text else ""), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {len(rows)} rated answers to {path}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.export_feedback:
        return _export_feedback(settings, args.export_feedback)

    # Heavy imports only now: --help and bad settings answer at once.
    from index.ingest import Ingestor
    from index.store import open_index
    from rag.engine import AnswerEngine
    from rag.llm import LLMError
    from ui.app import build_app, launch_options
    from ui.chat_store import ChatStore

    store = ChatStore(settings.chat_db_path)  # a damaged chat file is reported before the model loads
    index = open_index(settings)
    if index.is_empty():
        print(f"The index is empty: indexing {settings.articles_dir} first…", flush=True)
        results = Ingestor(index, show_progress=True).sync_folder(settings.articles_dir)
        for result in results:
            if not result.ok:
                print(f"  {result.message}", file=sys.stderr)
    print(f"Loading the answer engine ({settings.llm_backend})…", flush=True)
    engine = AnswerEngine(settings, index=index)
    try:
        engine.warm_up()  # the prompt every question shares, read now, not by the first users
    except LLMError as exc:  # an endpoint not up yet: each question will say so
        print(f"warning: could not warm up the model: {exc}", file=sys.stderr)
    app = build_app(settings, engine, store)
    try:
        app.launch(**launch_options(settings))
    except OSError as exc:  # port taken, address not available
        where = f"{settings.ui_host}:{settings.ui_port}"
        raise SettingsError(
            f"cannot start the chat on {where} ({exc}); choose another --port or RAG_UI_PORT"
        ) from None
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: _serve(_parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
