"""The conversation handlers: restore, answer (streamed), new chat, open a source, feedback.

Plain methods over an answer engine and a :class:`ChatStore`, so they can be driven by tests
without a browser; ``ui/app.py`` wires them to Gradio events. The store is the source of truth:
every handler rebuilds what it shows from it, so a reload or a second tab sees the same chat.
"""

from __future__ import annotations

import html
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import gradio as gr

from core.errors import NewsQAError
from index.store import ArticleIndex
from rag.engine import AnswerEvent, QuestionError, SentenceEvent, TokenEvent
from rag.types import Answer, Turn
from ui import render
from ui.chat_store import ChatStore, Rating, StoredTurn, new_conversation_id, valid_conversation_id

log = logging.getLogger(__name__)

Message = dict[str, str]
# What the answer handler returns: chatbot, sources panel, status, question box, conversation id.
ChatUpdate = tuple[Any, Any, Any, Any, Any]
# Seconds between two "N tokens drafted" updates: each update is a round trip through Gradio's
# queue, and per-token updates cost CPU the model needs when many users ask at once.
PROGRESS_EVERY_S = 1.0


class Engine(Protocol):
    """What the chat needs of :class:`rag.engine.AnswerEngine` (tests pass a fake)."""

    index: ArticleIndex
    model: str

    def validate(self, question: str) -> str: ...

    def stream(
        self, question: str, history: list[Turn] | None = None
    ) -> Iterator[TokenEvent | SentenceEvent | AnswerEvent]: ...


def warn(message: str) -> None:
    # Gradio renders toast text as HTML: escape it like everything else.
    gr.Warning(html.escape(message))


def user_message(question: str) -> Message:
    return {"role": "user", "content": render.user_html(question)}


def assistant_message(html: str) -> Message:
    return {"role": "assistant", "content": html}


def messages_for(turns: list[StoredTurn]) -> list[Message]:
    """Two messages per turn, always: the like event's message index maps back to a turn."""
    messages: list[Message] = []
    for turn in turns:
        messages.append(user_message(turn.question))
        messages.append(assistant_message(render.answer_html(turn)))
    return messages


def rating_of(liked: object) -> Rating | None:
    """Gradio's like payload: True (thumbs up), False (thumbs down), anything else clears it."""
    if liked is True:
        return "up"
    if liked is False:
        return "down"
    return None


class ChatHandlers:
    def __init__(self, engine: Engine, store: ChatStore, notify: Callable[[str], None] = warn) -> None:
        self.engine = engine
        self.store = store
        self.notify = notify
        self._opened = itertools.count(1)

    # --- conversation -------------------------------------------------------------------------
    def conversation(self, conversation_id: object) -> str:
        return conversation_id if valid_conversation_id(conversation_id) else new_conversation_id()  # type: ignore[return-value]

    def restore(self, conversation_id: object) -> tuple[Any, str, str, str, str]:
        """On page load: the stored chat of the browser's conversation id (a new id if none)."""
        conv = self.conversation(conversation_id)
        turns = self.store.turns(conv)
        ratings = self.store.ratings(conv)
        feedback = [{"up": "Like", "down": "Dislike"}.get(ratings.get(t.id, "")) for t in turns]
        chatbot = gr.Chatbot(value=messages_for(turns), feedback_value=feedback)
        sources = render.sources_html(turns[-1]) if turns else render.SOURCES_PLACEHOLDER
        return chatbot, sources, conv, "", render.ARTICLE_PLACEHOLDER

    def new_chat(self) -> tuple[list[Message], str, str, str, str, str]:
        """A fresh conversation; the old one stays in the store."""
        return [], render.SOURCES_PLACEHOLDER, render.ARTICLE_PLACEHOLDER, "", new_conversation_id(), ""

    def respond(self, question: str | None, conversation_id: object) -> Iterator[ChatUpdate]:
        """Show that the answer is being made and checked, then the checked answer; the model's
        unchecked words are never shown. Updates, in order: the question with "Searching the
        articles…"; the first token ("Checking the answer…"); progress at most every
        ``PROGRESS_EVERY_S``; for free-text answers each newly checked sentence with its chip;
        the checked answer. Closing this generator (the user left or started a new chat) closes
        the engine's stream, which stops the model."""
        conv = self.conversation(conversation_id)
        turns = self.store.turns(conv)
        base = messages_for(turns)
        try:
            question = self.engine.validate(question or "")
        except QuestionError as exc:
            self.notify(str(exc))
            yield base, gr.skip(), render.status_html(str(exc)), gr.skip(), conv
            return
        history = [Turn(user=t.question, assistant=t.answer) for t in turns]
        messages = [*base, user_message(question), assistant_message(render.streaming_html(0))]
        yield messages, gr.skip(), "", "", conv

        tokens = 0
        shown: Answer | None = None
        last_update = 0.0
        answer: Answer | None = None
        problem = ""
        try:
            for event in self.engine.stream(question, history):
                if isinstance(event, AnswerEvent):
                    answer = event.answer
                    continue
                if isinstance(event, TokenEvent):
                    tokens += 1
                    if tokens > 1 and time.monotonic() - last_update < PROGRESS_EVERY_S:
                        continue
                elif isinstance(event, SentenceEvent):
                    shown = event.answer
                last_update = time.monotonic()
                checked = (shown.answer, shown.citations) if shown is not None else None
                # A new list per update: Gradio may still hold the previous one.
                messages = [*messages[:-1], assistant_message(render.streaming_html(tokens, checked))]
                yield messages, gr.skip(), "", gr.skip(), conv
        except NewsQAError as exc:  # bad input, empty or damaged index, model unavailable: say which
            problem = str(exc)
        except Exception as exc:  # the page gets a sentence, the log gets the traceback
            log.exception("answering %r failed", question)
            problem = f"Something went wrong while answering ({type(exc).__name__}); see the server log."
        if answer is None:
            problem = problem or "The answer engine stopped without an answer."
            self.notify(problem)
            # Drop the unanswered question from the chat and give it back for another try.
            yield base, gr.skip(), render.status_html(problem), question, conv
            return
        turn = self.store.add_turn(conv, answer)
        messages = [*messages[:-1], assistant_message(render.answer_html(turn))]
        yield messages, render.sources_html(turn), "", gr.skip(), conv

    # --- sources ------------------------------------------------------------------------------
    def open_ref(self, conversation_id: object, ref: object) -> tuple[Any, str]:
        """A chip or source card was clicked: that turn's sources, and the article at the span."""
        parsed = render.parse_ref(ref)
        if parsed is None or not valid_conversation_id(conversation_id):
            return gr.skip(), render.status_html("That source link is not valid.")
        turn = self.store.turn(str(conversation_id), parsed.turn_id)
        items = turn.citations if turn and parsed.kind == "c" else turn.passages if turn else []
        if turn is None or parsed.index >= len(items):
            return gr.skip(), render.status_html("That source is not part of this conversation.")
        item = items[parsed.index]
        quote = item.quote if parsed.kind == "c" else item.text  # type: ignore[union-attr]
        what = f"Source [{item.n}]" if parsed.kind == "c" else "Related passage"
        return render.sources_html(turn), self._article(item.doc_id, item.title, quote, item.start, what)

    def _article(self, doc_id: str, title: str, quote: str, start: int, what: str) -> str:
        doc = self.engine.index.document(doc_id)
        if doc is None:
            return render.article_missing_html(title)
        end = start + len(quote)
        caption = f"{what}, highlighted below."
        if doc.text[start:end] != quote:
            # The article was replaced since the answer: find the quote again, or say so.
            found = doc.text.find(quote)
            if found == -1:
                caption = "This article has changed since the answer; the quoted passage is no longer in it."
                start = end = 0
            else:
                start, end = found, found + len(quote)
        return render.article_html(
            doc.title, doc.publication, doc.text, start, end, caption, opened=next(self._opened)
        )

    # --- feedback -----------------------------------------------------------------------------
    def record_feedback(self, conversation_id: object, message_index: object, liked: object) -> bool:
        """Thumbs on the assistant message at ``message_index`` (two messages per turn)."""
        if not valid_conversation_id(conversation_id):
            return False
        index = message_index[0] if isinstance(message_index, list | tuple) else message_index
        if not isinstance(index, int) or index < 0:
            return False
        conv = str(conversation_id)
        turns = self.store.turns(conv)
        position = index // 2
        if position >= len(turns):
            return False
        return self.store.set_feedback(conv, turns[position].id, rating_of(liked))
