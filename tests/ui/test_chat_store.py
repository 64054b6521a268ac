"""The chat store: turns and feedback in SQLite, surviving a reopen (a server restart)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tests.ui.helpers import answer_about, document, refusal
from ui.chat_store import ChatStore, feedback_as_json, new_conversation_id, valid_conversation_id


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "chat.sqlite3"


def test_turns_survive_reopening_with_their_citations(db: Path) -> None:
    conv = new_conversation_id()
    doc = document()
    store = ChatStore(db)
    first = store.add_turn(conv, answer_about(doc, "How many passengers?"))
    second = store.add_turn(conv, refusal(doc, "And the election?"))
    store.close()

    reopened = ChatStore(db)
    turns = reopened.turns(conv)
    assert [t.id for t in turns] == [first.id, second.id]
    assert [t.position for t in turns] == [0, 1]
    again = turns[0]
    assert again.question == "How many passengers?"
    assert again.answer.startswith("The Saltfjord carries 412 passengers [1].")
    assert again.citations == first.citations and again.citations[0].quote.startswith("The ferry")
    # Only the cited passage is kept for a normal answer; a refusal keeps its related reading.
    assert [p.n for p in again.passages] == [1]
    assert turns[1].refused and [p.n for p in turns[1].passages] == [1, 2]
    assert again.timings.total_s == 1.25 and again.model == "fake-model"
    # Citations are stored as JSON in the turn's row.
    row = sqlite3.connect(db).execute("SELECT citations FROM turns WHERE id = ?", (first.id,)).fetchone()
    assert '"quote":"The ferry Saltfjord carries 412 passengers."' in row[0]


def test_history_is_questions_and_checked_answers(db: Path) -> None:
    store = ChatStore(db)
    conv = new_conversation_id()
    doc = document()
    store.add_turn(conv, answer_about(doc, "Q1"))
    store.add_turn(conv, refusal(doc, "Q2"))
    history = store.history(conv)
    assert [(t.user, t.assistant[:20]) for t in history] == [
        ("Q1", "The Saltfjord carrie"),
        ("Q2", "The articles don't s"),
    ]


def test_conversations_are_kept_apart(db: Path) -> None:
    store = ChatStore(db)
    mine, theirs = new_conversation_id(), new_conversation_id()
    turn = store.add_turn(theirs, answer_about(document()))
    assert store.turns(mine) == []
    # Knowing a turn id is not enough: it must belong to the caller's conversation.
    assert store.turn(mine, turn.id) is None
    assert store.turn(theirs, turn.id) == turn
    assert store.set_feedback(mine, turn.id, "up") is False


@pytest.mark.parametrize(
    "bad", ["", "short", "x" * 65, "../../etc/passwd____", None, 12, "a b c d e f g h i j k"]
)
def test_conversation_ids_from_the_browser_are_checked(db: Path, bad) -> None:
    assert not valid_conversation_id(bad)
    store = ChatStore(db)
    assert store.turns(bad) == []
    with pytest.raises(ValueError):
        store.add_turn(bad, answer_about(document()))


def test_new_ids_are_valid_and_distinct() -> None:
    ids = {new_conversation_id() for _ in range(100)}
    assert len(ids) == 100 and all(valid_conversation_id(i) for i in ids)


def test_feedback_is_stored_with_question_answer_and_citations(db: Path) -> None:
    store = ChatStore(db)
    conv = new_conversation_id()
    turn = store.add_turn(conv, answer_about(document(), "How many passengers?"))
    assert store.set_feedback(conv, turn.id, "up")
    assert store.set_feedback(conv, turn.id, "down")  # changing one's mind updates the row
    store.close()

    reopened = ChatStore(db)
    rows = reopened.feedback()
    assert len(rows) == 1
    row = rows[0]
    assert (row.turn_id, row.rating, row.question) == (turn.id, "down", "How many passengers?")
    assert row.answer == turn.answer and row.citations == turn.citations and not row.refused
    assert reopened.ratings(conv) == {turn.id: "down"}
    assert '"rating": "down"' in feedback_as_json(rows)

    assert reopened.set_feedback(conv, turn.id, None)  # un-rating removes it
    assert reopened.feedback() == [] and reopened.ratings(conv) == {}


def test_concurrent_turns_get_distinct_positions(db: Path) -> None:
    store = ChatStore(db)
    conv = new_conversation_id()
    answer = answer_about(document())
    threads = [threading.Thread(target=store.add_turn, args=(conv, answer)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [t.position for t in store.turns(conv)] == list(range(8))


def test_feedback_export_cli_writes_json_lines(tmp_path: Path, monkeypatch) -> None:
    from ui.__main__ import main

    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    store = ChatStore(tmp_path / "chat.sqlite3")
    conv = new_conversation_id()
    turn = store.add_turn(conv, answer_about(document(), "How many passengers?"))
    store.set_feedback(conv, turn.id, "down")
    out = tmp_path / "feedback.jsonl"
    assert main(["--export-feedback", str(out)]) == 0
    (line,) = out.read_text().splitlines()
    assert '"rating": "down"' in line and '"question": "How many passengers?"' in line
