"""``python -m rag ask "question"`` — or ``python -m rag ask`` alone for an interactive chat.

Prints the model's answer as it streams, then the checked answer with its numbered sources.
``--json`` prints the :class:`Answer` as one JSON object; ``--history FILE`` takes earlier turns
as JSON (``[{"user": ..., "assistant": ...}]``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from core.settings import load_settings
from index.vector_store import VectorStoreError
from rag.engine import AnswerEngine, AnswerEvent, EmptyIndexError, QuestionError, TokenEvent
from rag.llm import LLMError
from rag.types import Answer, Turn

_TURNS = TypeAdapter(list[Turn])


def _load_history(path: Path | None) -> list[Turn]:
    if path is None:
        return []
    try:
        return _TURNS.validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QuestionError(f"cannot read history file {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = str(exc).splitlines()[0]
        raise QuestionError(
            f'{path}: not a history list like [{{"user": "...", "assistant": "..."}}] ({first})'
        ) from None


def format_sources(answer: Answer) -> str:
    """The numbered sources of an answer, or the related reading of a refusal."""
    lines = []
    if answer.refused:
        lines.append("Related reading:")
        for p in answer.passages[:3]:
            lines.append(f"  [{p.n}] {p.title} ({p.publication}): {p.text[:160].strip()}…")
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"  [{c.n}] {c.title} ({c.publication}), chars {c.start}-{c.end}:\n      “{c.quote}”")
    return "\n".join(lines)


def _answer_once(engine: AnswerEngine, question: str, history: list[Turn], as_json: bool) -> Answer:
    answer: Answer | None = None
    drafting = False
    for event in engine.stream(question, history):
        # Only checked words are shown: the model's draft may be withdrawn by the checks.
        if isinstance(event, TokenEvent) and not as_json and not drafting:
            print("Checking the answer against the articles…", file=sys.stderr, flush=True)
            drafting = True
        elif isinstance(event, AnswerEvent):
            answer = event.answer
    assert answer is not None
    if as_json:
        print(answer.model_dump_json())
    else:
        t = answer.timings
        print(f"{answer.answer}\n\n{format_sources(answer)}")
        print(f"\n(retrieval {t.retrieval_s:.2f}s, first token {t.ttft_s or 0:.2f}s, total {t.total_s:.2f}s)")
    return answer


def _interactive(engine: AnswerEngine, history: list[Turn]) -> None:
    print("Ask about the articles. Empty line or Ctrl-D to quit; /new starts a new conversation.")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            return
        if not question:
            return
        if question == "/new":
            history = []
            continue
        try:
            answer = _answer_once(engine, question, history, as_json=False)
        except QuestionError as exc:
            print(f"error: {exc}")
            continue
        history.append(Turn(user=question, assistant=answer.answer))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Ask questions about the articles.")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer a question (interactive when no question is given)")
    ask.add_argument("question", nargs="?", help="the question; omit for an interactive chat")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.add_argument("--history", type=Path, help='earlier turns: [{"user": ..., "assistant": ...}]')
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"error: bad settings: {exc}", file=sys.stderr)
        return 2
    try:
        history = _load_history(args.history)
        if args.question is not None:
            engine = AnswerEngine(settings)
            _answer_once(engine, args.question, history, args.json)
        else:
            _interactive(AnswerEngine(settings), history)
        return 0
    except QuestionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (EmptyIndexError, LLMError, VectorStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
