"""``python -m rag ask "question"`` — or ``python -m rag ask`` alone for an interactive chat.

Prints the model's answer as it streams, then the checked answer with its numbered sources.
``--json`` prints the :class:`Answer` as one JSON object; ``--history FILE`` takes earlier turns
as JSON (``[{"user": ..., "assistant": ...}]``). The question and the history are checked, and
the index opened, before the model loads: bad input is refused at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from core.cli import ArgumentParser, run_cli
from core.errors import one_line
from core.settings import Settings, load_settings
from rag.questions import QuestionError, check_history_lengths, validate_history, validate_question
from rag.types import Answer, Turn

if TYPE_CHECKING:
    from rag.engine import AnswerEngine

_TURNS = TypeAdapter(list[Turn])


def load_history(path: Path | None, settings: Settings) -> list[Turn]:
    """The turns of a history file, or :class:`QuestionError` saying what is wrong with it."""
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise QuestionError(f"{path}: the history file is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise QuestionError(f"cannot read history file {path}: {exc.strerror or exc}") from None
    try:
        turns = _TURNS.validate_json(text)
    except ValidationError as exc:
        first = one_line(str(exc).splitlines()[0])
        raise QuestionError(
            f'{path}: not a history list like [{{"user": "...", "assistant": "..."}}] ({first})'
        ) from None
    check_history_lengths(turns, settings.max_question_chars)
    return validate_history(turns)


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
    from rag.engine import AnswerEvent, TokenEvent  # loaded with the engine already

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
    # Bytes that are not UTF-8 then arrive as lone surrogates, which the question check refuses
    # with a message, instead of a decoding error ending the chat.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")
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
        except QuestionError as exc:  # the chat goes on
            print(f"error: {one_line(exc)}", file=sys.stderr, flush=True)
            continue
        history.append(Turn(user=question, assistant=answer.answer))


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m rag", description="Ask questions about the articles.")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer a question (interactive when no question is given)")
    ask.add_argument("question", nargs="?", help="the question; omit for an interactive chat")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.add_argument("--history", type=Path, help='earlier turns: [{"user": ..., "assistant": ...}]')
    return run_cli(lambda: _ask(parser.parse_args(argv)))


def _ask(args: argparse.Namespace) -> int:
    settings = load_settings()
    history = load_history(args.history, settings)
    question = None
    if args.question is not None:
        question = validate_question(args.question, settings.max_question_chars)
    elif sys.stdin is None:  # started with standard input closed
        raise QuestionError(
            "there is no standard input to read questions from; give the question as an argument"
        )
    # Chroma, LangChain and the models load only for input that passed the checks above.
    from index.store import open_index
    from rag.engine import AnswerEngine, require_articles

    index = open_index(settings)
    require_articles(index)
    engine = AnswerEngine(settings, index=index)  # loads the model: only now
    if question is None:
        _interactive(engine, history)
    else:
        _answer_once(engine, question, history, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
