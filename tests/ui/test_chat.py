"""The conversation handlers with a fake engine: streaming, history, errors, sources, feedback."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from gradio.components.base import Component

from rag.engine import EmptyIndexError, SentenceEvent
from rag.llm import LLMError
from tests.ui.helpers import (
    XSS,
    FakeEngine,
    FakeIndex,
    answer_about,
    assert_safe,
    document,
    refusal,
    text_of,
)
from ui import render
from ui.chat import ChatHandlers
from ui.chat_store import ChatStore, new_conversation_id


@pytest.fixture
def notes() -> list[str]:
    return []


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(FakeIndex(document()))


@pytest.fixture
def chat(tmp_path: Path, engine: FakeEngine, notes: list[str]) -> ChatHandlers:
    return ChatHandlers(engine, ChatStore(tmp_path / "chat.sqlite3"), notify=notes.append)


def contents(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages]


def is_skip(value: object) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def test_answer_shows_a_checking_state_then_the_checked_answer(chat: ChatHandlers) -> None:
    conv = new_conversation_id()
    updates = list(chat.respond("  How many   passengers? ", conv))
    first, drafts, final = updates[0], updates[1:-1], updates[-1]
    # The question appears at once, the box is cleared, a placeholder draft waits.
    assert render.user_html("How many passengers?") == first[0][0]["content"]
    assert "Searching the articles" in first[0][1]["content"] and first[3] == ""
    # The first token turns it into the checking state; the fake's tokens come within one
    # progress interval, so that is the only draft. The model's unchecked words never appear.
    assert len(drafts) == 1 and "(1 tokens drafted)" in drafts[0][0][-1]["content"]
    for draft in drafts:
        shown = draft[0][-1]["content"]
        assert "Checking the answer" in shown and "cite-chip" not in shown
        assert not any(token.strip() and token.strip() in shown for token in chat.engine.tokens)
    # Then the checked answer, with chips, small print and the sources panel.
    messages, sources, status, _question, conv_out = final
    assert conv_out == conv and status == ""
    assert 'class="cite-chip"' in messages[-1]["content"] and "total 1.25 s" in messages[-1]["content"]
    assert "412 passengers" in html.unescape(sources)
    stored = chat.store.turns(conv)
    assert len(stored) == 1 and stored[0].question == "How many passengers?"


def test_progress_updates_are_spaced_out(chat: ChatHandlers, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 3))  # every reading of the clock is 3 s after the last
    monkeypatch.setattr("ui.chat.time.monotonic", lambda: next(clock) / 10)  # 0.3 s apart
    drafts = list(chat.respond("How many passengers?", new_conversation_id()))[1:-1]
    counts = [re.search(r"\((\d+) tokens drafted\)", d[0][-1]["content"]).group(1) for d in drafts]
    # Five tokens, 0.3 s apart, updates at most once a second: the first token, then the fifth.
    assert counts == ["1", "5"]


def test_free_text_answers_show_each_checked_sentence_with_its_chip(chat: ChatHandlers, engine) -> None:
    doc = next(iter(engine.index.docs.values()))
    final = answer_about(doc)
    first_sentence = final.model_copy(update={"answer": "The Saltfjord carries 412 passengers [1]."})
    engine.events_after_token = {2: SentenceEvent(first_sentence)}
    updates = list(chat.respond("How many passengers?", new_conversation_id()))
    drafts = [u[0][-1]["content"] for u in updates[1:-1]]
    checked = [d for d in drafts if "412 passengers" in d]
    assert checked, drafts
    for draft in checked:
        assert_safe(draft)
        # The sentence with its chip, which names the source but opens nothing yet.
        chip = '<span class="cite-chip" title="Harbour &lt;b&gt;notes&lt;/b&gt; — Pier &amp; Co">1</span>'
        assert chip in draft
        assert "Checking the next sentence" in draft and "<a " not in draft
    # Nothing shown before the final answer is missing from it.
    assert text_of(checked[-1]).split("Checking")[0].strip() in text_of(updates[-1][0][-1]["content"])


def test_closing_the_answer_closes_the_engine_stream(chat: ChatHandlers, engine) -> None:
    conv = new_conversation_id()
    updates = chat.respond("How many passengers?", conv)
    next(updates), next(updates)  # the question, then the first token
    assert engine.open_streams == 1
    updates.close()  # Gradio closes the handler when the user leaves or starts a new chat
    assert engine.open_streams == 0 and engine.closed_early == 1
    assert chat.store.turns(conv) == []  # an abandoned answer is not stored


def test_follow_up_gets_earlier_questions_and_checked_answers(chat: ChatHandlers, engine) -> None:
    conv = new_conversation_id()
    list(chat.respond("How many passengers?", conv))
    list(chat.respond("And who is the harbour master?", conv))
    (_, first_history), (question, history) = engine.calls
    assert first_history == [] and question == "And who is the harbour master?"
    assert [(t.user, t.assistant) for t in history] == [
        ("How many passengers?", chat.store.turns(conv)[0].answer)
    ]
    final_messages = list(chat.respond("third", conv))[-1][0]
    assert len(final_messages) == 6  # two messages per turn


def test_a_missing_or_forged_conversation_id_starts_a_new_one(chat: ChatHandlers) -> None:
    for bad in (None, "", "../etc", 5):
        conv = list(chat.respond("How many passengers?", bad))[-1][4]
        assert conv != bad and len(chat.store.turns(conv)) == 1


def test_too_long_question_is_refused_with_a_message_and_no_model_call(chat, engine, notes) -> None:
    conv = new_conversation_id()
    updates = list(chat.respond("why " * 200, conv))
    assert len(updates) == 1
    messages, sources, status, question, _ = updates[0]
    assert messages == [] and is_skip(sources) and is_skip(question)  # the text stays for editing
    assert "the limit is 500" in status and notes and "limit is 500" in notes[0]
    assert engine.calls == [] and chat.store.turns(conv) == []


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (LLMError("the LLM endpoint at http://x did not answer"), "did not answer"),
        (EmptyIndexError("No articles are indexed yet"), "No articles are indexed yet"),
        (RuntimeError("secret internals\nTraceback"), "Something went wrong while answering (RuntimeError)"),
    ],
)
def test_engine_failures_are_a_sentence_and_change_nothing(tmp_path, notes, error, shown) -> None:
    engine = FakeEngine(FakeIndex(document()))
    chat = ChatHandlers(engine, ChatStore(tmp_path / "c.sqlite3"), notify=notes.append)
    conv = new_conversation_id()
    list(chat.respond("How many passengers?", conv))  # one good turn first
    engine.fail = error
    last = list(chat.respond("Another question?", conv))[-1]
    messages, _, status, question, _ = last
    assert len(messages) == 2  # the failed question is not left in the chat...
    assert question == "Another question?"  # ...it goes back into the box for a retry
    assert shown in html.unescape(status) and "Traceback" not in status and "secret" not in status
    assert len(chat.store.turns(conv)) == 1


def test_question_with_markup_is_shown_as_text(chat: ChatHandlers) -> None:
    final = list(chat.respond(f"What is {XSS}?", new_conversation_id()))[-1]
    for message in final[0]:
        assert_safe(message["content"])
    assert "&lt;script&gt;" in final[0][0]["content"]


def test_restore_after_restart_rebuilds_the_chat(tmp_path, engine, chat) -> None:
    conv = new_conversation_id()
    list(chat.respond("How many passengers?", conv))
    engine.next_answer = refusal(document())
    list(chat.respond("Who won?", conv))
    chat.record_feedback(conv, 1, True)
    chat.store.close()

    again = ChatHandlers(engine, ChatStore(tmp_path / "chat.sqlite3"))
    chatbot, sources, conv_out, status, article = again.restore(conv)
    assert isinstance(chatbot, Component)
    assert conv_out == conv and status == "" and article == render.ARTICLE_PLACEHOLDER
    assert len(chatbot.value) == 4
    assert chatbot.feedback_value == ["Like", None]
    assert "Related reading" in sources  # the panel shows the last turn's sources


def test_restore_with_no_or_unknown_id_gives_an_empty_chat_and_a_new_id(chat) -> None:
    chatbot, sources, conv, _, _ = chat.restore(None)
    assert chatbot.value == [] and sources == render.SOURCES_PLACEHOLDER and len(conv) >= 16


def test_new_chat_starts_over(chat) -> None:
    messages, sources, article, status, conv, question = chat.new_chat()
    assert messages == [] and sources == render.SOURCES_PLACEHOLDER and question == ""
    assert article == render.ARTICLE_PLACEHOLDER and status == ""
    assert conv and conv != chat.new_chat()[4]


def test_opening_a_chip_shows_the_article_at_the_quote(chat, engine) -> None:
    conv = new_conversation_id()
    answer_html = list(chat.respond("How many passengers?", conv))[-1][0][-1]["content"]
    ref = re.search(r'href="#(cite-\d+-c0)"', answer_html).group(1)
    sources, article = chat.open_ref(conv, ref)
    assert_safe(article)
    marked = re.findall(rf'<mark id="{render.MARK_ID}">(.*?)</mark>', article)
    assert [html.unescape(m) for m in marked] == ["The ferry Saltfjord carries 412 passengers."]
    assert "Source [1]" in article and "Sources" in sources
    # Opening it again is a new value, so the page re-renders and scrolls to the mark again.
    assert chat.open_ref(conv, ref)[1] != article


def test_opening_related_reading_of_a_refusal(chat, engine) -> None:
    engine.next_answer = refusal(document())
    conv = new_conversation_id()
    turn_id = list(chat.respond("Who won?", conv)) and chat.store.turns(conv)[0].id
    _, article = chat.open_ref(conv, f"cite-{turn_id}-r1")
    assert "Related passage" in article and "<mark" in article


def test_foreign_or_bogus_references_open_nothing(chat) -> None:
    mine, theirs = new_conversation_id(), new_conversation_id()
    list(chat.respond("How many passengers?", theirs))
    turn_id = chat.store.turns(theirs)[0].id
    for conv, ref in [
        (mine, f"cite-{turn_id}-c0"),
        (theirs, f"cite-{turn_id}-c9"),
        (theirs, "<x>"),
        ("no", "x"),
    ]:
        sources, article = chat.open_ref(conv, ref)
        assert is_skip(sources) and "status-error" in article and "<mark" not in article


def test_removed_or_changed_article_is_handled(chat, engine) -> None:
    conv = new_conversation_id()
    list(chat.respond("How many passengers?", conv))
    ref = f"cite-{chat.store.turns(conv)[0].id}-c0"
    doc = engine.index.docs["harbour"]
    # The article was re-uploaded with text before the quote: the quote is found again.
    engine.index.docs["harbour"] = document(text="New intro.\n\n" + doc.text)
    marked = re.findall(r"<mark[^>]*>(.*?)</mark>", chat.open_ref(conv, ref)[1])
    assert [html.unescape(m) for m in marked] == ["The ferry Saltfjord carries 412 passengers."]
    # Rewritten without the quote: shown without a highlight, with a note.
    engine.index.docs["harbour"] = document(text="Completely different.")
    article = chat.open_ref(conv, ref)[1]
    assert "<mark" not in article and "has changed since the answer" in article
    # Removed.
    del engine.index.docs["harbour"]
    assert "no longer in the index" in chat.open_ref(conv, ref)[1]


def test_feedback_maps_the_message_index_to_its_turn(chat) -> None:
    conv = new_conversation_id()
    list(chat.respond("Q one?", conv))
    list(chat.respond("Q two?", conv))
    first, second = chat.store.turns(conv)
    assert chat.record_feedback(conv, 3, False)  # the second assistant message
    assert chat.record_feedback(conv, [1, 0], True)
    assert chat.store.ratings(conv) == {first.id: "up", second.id: "down"}
    assert chat.record_feedback(conv, 3, "")  # un-rated
    assert chat.store.ratings(conv) == {first.id: "up"}
    rows = chat.store.feedback()
    assert rows[0].question == "Q one?" and rows[0].citations == first.citations
    assert not chat.record_feedback(conv, 9, True) and not chat.record_feedback("bad", 1, True)
