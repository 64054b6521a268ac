"""The chat end to end: ``python -m ui`` in a subprocess with the real embedded model, driven
through gradio_client as a browser would drive it (the same event endpoints).

About ten model calls in all: each costs seconds on two cores.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from tests.ui.helpers import XSS, assert_safe, text_of
from tests.ui.ui_server import UIServer
from ui.app import EXAMPLE_QUESTIONS
from ui.chat_store import ChatStore

pytestmark = pytest.mark.slow

# An example question of the page whose answer and citation reliably hold the fact.
FACT_QUESTION, FACT = "How many people emerged from Baghuz?", "50,000"

LIGHTHOUSE = (
    "Lighthouse log\n\n"
    "The Vardoya lighthouse was painted teal in 2031. The painting was done by keeper Ingrid Solberg, "
    "who has kept the Vardoya light for eleven years.\n"
)
XSS_ARTICLE = (
    "Harbour bulletin\n\n"
    f"The harbour bulletin {XSS} reports that the ferry Saltfjord carries 412 passengers. "
    "<iframe src=javascript:alert(3)></iframe> The Saltfjord sails from Tromso every morning.\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[UIServer]:
    srv = UIServer(tmp_path_factory.mktemp("ui-e2e"), model_cache)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: UIServer) -> Client:
    return Client(server.url, verbose=False)


def new_conversation(client: Client) -> str:
    return client.predict("", api_name="/restore")[2]


def ask(client: Client, question: str, conv: str) -> tuple[list[str], str, str]:
    """(message HTMLs, sources panel HTML, status HTML) after the answer is complete."""
    messages, sources, status, _question, conv_out = client.predict(question, conv, api_name="/ask")
    assert conv_out == conv
    return [m["content"][0]["text"] for m in messages], sources, status


def marks(fragment: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", fragment, re.S)]


def chip_refs(answer_html: str) -> list[str]:
    return re.findall(r'<a class="cite-chip" href="#(cite-\d+-c\d+)"', answer_html)


def upload(client: Client, *paths: Path) -> str:
    report, _table, _choices, _files = client.predict(
        [handle_file(str(p)) for p in paths], api_name="/add_articles"
    )
    return report


def articles_table(client: Client) -> str:
    return client.predict(api_name="/list_articles")[0]


@pytest.fixture(scope="module")
def fact_conversation(server: UIServer) -> tuple[str, list[str], str]:
    assert FACT_QUESTION in EXAMPLE_QUESTIONS
    client = Client(server.url, verbose=False)
    conv = new_conversation(client)
    messages, sources, status = ask(client, FACT_QUESTION, conv)
    assert status == "", status
    assert "cite-chip" in messages[1], f"the engine gave no cited answer to {FACT_QUESTION!r}: {messages[1]}"
    return conv, messages, sources


def test_question_gets_a_cited_answer_with_chips(server, client, fact_conversation) -> None:
    conv, messages, sources = fact_conversation
    question, answer = messages
    assert FACT_QUESTION in text_of(question)
    assert FACT in text_of(answer), answer
    refs = chip_refs(answer)
    assert refs, answer
    assert any(FACT in quote for quote in marks(sources)), sources
    assert "retrieval" in answer and "first token" in answer and "model " in answer
    # Opening the chip shows the whole article with exactly that quote marked.
    article = client.predict(conv, refs[0], api_name="/open_source")
    quote = marks(article)
    assert quote and all(q in " ".join(marks(sources)) for q in quote)
    assert 'id="article-hl"' in article


def test_follow_up_question_uses_the_conversation(client) -> None:
    conv = new_conversation(client)
    ask(client, "Who is Hoda Muthana?", conv)
    messages, _sources, status = ask(client, "How old was the son she was carrying?", conv)
    assert status == "" and len(messages) == 4
    assert "18" in text_of(messages[3]), messages[3]
    assert chip_refs(messages[3])


def test_uploaded_article_can_be_asked_about(client, tmp_path) -> None:
    path = tmp_path / "vardoya-lighthouse.txt"
    path.write_text(LIGHTHOUSE, encoding="utf-8")
    report = upload(client, path)
    assert "vardoya-lighthouse.txt: added as &#x27;vardoya-lighthouse&#x27;" in report, report
    assert "Lighthouse log" in articles_table(client)
    conv = new_conversation(client)
    messages, sources, _ = ask(client, "Who painted the Vardoya lighthouse teal?", conv)
    assert "Ingrid Solberg" in text_of(messages[1]), messages[1]
    assert "Lighthouse log" in sources and chip_refs(messages[1])


def test_bad_uploads_change_nothing_and_say_why(client, tmp_path) -> None:
    before = articles_table(client)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4 \x00\x01 binary")
    report = upload(client, empty, pdf)
    text = text_of(report)
    assert "empty.txt: file is empty; nothing was changed" in text, text
    assert "scan.pdf: unsupported file type '.pdf'" in text
    assert str(tmp_path) not in text  # names only, no server paths
    many = []
    for i in range(11):  # settings.ui_max_upload_files is 10
        many.append(tmp_path / f"note-{i}.txt")
        many[-1].write_text(f"Note {i}\n\nA short note number {i}.\n")
    assert "at most 10 can be added at once. Nothing was added." in text_of(upload(client, *many))
    assert articles_table(client) == before


def test_markup_in_articles_and_questions_comes_back_escaped(client, tmp_path) -> None:
    path = tmp_path / "harbour-bulletin.txt"
    path.write_text(XSS_ARTICLE, encoding="utf-8")
    assert "added as" in upload(client, path)
    conv = new_conversation(client)
    question = f"How many passengers does the ferry Saltfjord carry? {XSS}"
    messages, sources, status = ask(client, question, conv)
    for fragment in [*messages, sources, status]:
        assert_safe(fragment)
    assert XSS in text_of(messages[0])  # shown as the text it is
    assert "<script" not in sources and "<iframe" not in sources
    assert "&lt;script&gt;" in sources or "&lt;script&gt;" in messages[1], (messages[1], sources)
    refs = re.findall(r'href="#(cite-\d+-[cr]\d+)"', sources)
    article = client.predict(conv, refs[0], api_name="/open_source")
    assert_safe(article)
    assert "&lt;script&gt;" in article and "<script" not in article and "<iframe" not in article


def test_five_simultaneous_users_all_get_answers(server) -> None:
    questions = [
        "On what date did the SDF capture the last part of Baghouz?",
        "Which city did US airstrikes save from an Isis incursion?",
        "How many men did Isis lose in Kobane?",
        "Where did Baghdadi flee to?",
        "Who is Shiraz Maher?",
    ]

    def one(question: str) -> tuple[list[str], str]:
        client = Client(server.url, verbose=False)
        messages, _sources, status = ask(client, question, new_conversation(client))
        return messages, status

    started = time.monotonic()
    with ThreadPoolExecutor(len(questions)) as pool:
        results = list(pool.map(one, questions))
    elapsed = time.monotonic() - started
    assert elapsed < 600, f"5 answers took {elapsed:.0f} s"
    for question, (messages, status) in zip(questions, results, strict=True):
        assert status == "", status
        assert question in text_of(messages[0])
        assert 'class="answer"' in messages[1] and "streaming" not in messages[1]


def test_conversation_survives_a_server_restart(server, fact_conversation) -> None:
    conv, messages, _ = fact_conversation
    server.restart()
    client = Client(server.url, verbose=False)
    chatbot, sources, conv_out, _status, _article = client.predict(conv, api_name="/restore")
    assert conv_out == conv
    restored = chatbot["value"] if isinstance(chatbot, dict) else chatbot  # an update with feedback
    assert [m["content"][0]["text"] for m in restored] == messages
    assert FACT in " ".join(marks(sources))
    assert len(ChatStore(server.data_dir / "chat.sqlite3").turns(conv)) == 1
