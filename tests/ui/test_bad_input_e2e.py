"""Bad input through the running chat (``python -m ui`` in a subprocess, driven by
gradio_client like a browser): questions that are not text, blank or too long, and files that
cannot be articles, get a clear message and change nothing; so does an upload while another
ingest holds the index. (Answering for real is tested in ``test_app_e2e.py``.)"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import SUBPROCESS_EXAMPLES
from tests.index.lock_holder import lock_holder
from tests.ui.helpers import text_of
from tests.ui.ui_server import UIServer
from ui.chat_store import ChatStore

MAX_FILE_BYTES = 3000


@pytest.fixture(scope="module")
def server(
    built_data_dir: Path, model_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UIServer]:
    data_dir = tmp_path_factory.mktemp("ui-bad-input") / "data"
    shutil.copytree(built_data_dir, data_dir)  # indexed already: the chat starts sooner
    srv = UIServer(
        data_dir,
        model_cache,
        RAG_MAX_FILE_BYTES=str(MAX_FILE_BYTES),
        RAG_INDEX_LOCK_WAIT_S="2",
        # No question here reaches a model: an endpoint backend (built, never contacted; nothing
        # listens on the discard port) spares loading the embedded one.
        RAG_LLM_BACKEND="openai",
        RAG_LLM_BASE_URL="http://127.0.0.1:9/v1",
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: UIServer) -> Client:
    return Client(server.url, verbose=False)


def articles_table(client: Client) -> str:
    return client.predict(api_name="/list_articles")[0]


def upload(client: Client, *paths: Path) -> str:
    return text_of(client.predict([handle_file(str(p)) for p in paths], api_name="/add_articles")[0])


# Questions the chat must refuse: control characters, blank, too long. (Text that is not UTF-8
# cannot travel through gradio_client's JSON encoder: see the raw request below.)
sendable = st.text(st.characters(codec="utf-8"), max_size=40)
bad_questions = st.one_of(
    st.tuples(sendable, st.sampled_from(["\x00", "\x07", "\x1b[31m", "\x7f"]), sendable).map("".join),
    st.text(" \t\n\r", max_size=5),
    st.text(min_size=501, max_size=520).filter(lambda s: len(" ".join(s.split())) > 500),
)


@SUBPROCESS_EXAMPLES
@given(question=bad_questions)
@example(question="")
def test_a_bad_question_gets_a_message_and_no_turn(server: UIServer, client: Client, question: str) -> None:
    conv = client.predict("", api_name="/restore")[2]
    messages, _sources, status, _question, conv_out = client.predict(question, conv, api_name="/ask")
    _assert_refused(server, conv, messages, status, conv_out)


def test_a_question_that_is_not_utf8_gets_a_message(server: UIServer, client: Client) -> None:
    """Bytes that were not UTF-8 can reach the server as JSON escapes of lone surrogates."""
    conv = client.predict("", api_name="/restore")[2]
    # json.dumps writes lone surrogates as backslash-u escapes, in plain ASCII.
    body = json.dumps({"data": ["\udcff\udcfe ok?", conv]})
    messages, _sources, status, _question, conv_out = call_raw(server.url, "ask", body)
    _assert_refused(server, conv, messages, status, conv_out)
    assert "not valid UTF-8" in text_of(status)


def call_raw(url: str, api_name: str, body: str) -> list:
    """Gradio's HTTP API called with a JSON body as given (not re-encoded by a client library)."""
    request = urllib.request.Request(
        f"{url}gradio_api/call/{api_name}",
        data=body.encode("ascii"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.load(response)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=120) as response:
        events = response.read().decode("utf-8")
    # Server-sent events: the last "data:" line after "event: complete" holds the outputs.
    assert "event: complete" in events, events
    return json.loads(events.split("event: complete", 1)[1].split("data:", 1)[1].splitlines()[0])


def _assert_refused(server: UIServer, conv: str, messages: list, status: str, conv_out: str) -> None:
    said = text_of(status)
    assert said and "went wrong" not in said, status
    assert any(
        words in said
        for words in ("not valid UTF-8", "control character", "type a question", "characters long")
    ), said
    assert messages == [] and conv_out == conv
    assert ChatStore(server.data_dir / "chat.sqlite3").turns(conv) == []


bad_files = st.one_of(
    st.tuples(st.binary(max_size=40), st.just(b"\x00"), st.binary(max_size=40)).map(b"".join),  # binary
    st.binary(min_size=1, max_size=60).filter(lambda b: _not_utf8(b)),
    st.binary(min_size=MAX_FILE_BYTES + 1, max_size=MAX_FILE_BYTES + 10),
    st.just(b""),
)


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return True
    return False


@SUBPROCESS_EXAMPLES
@given(data=bad_files, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_a_bad_file_gets_a_message_and_changes_nothing(
    client: Client, data: bytes, suffix: str, tmp_path
) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(data)
    before = articles_table(client)
    report = upload(client, path)
    assert f"upload{suffix}: " in report and "nothing was changed" in report, report
    assert articles_table(client) == before


def test_an_upload_while_another_ingest_runs_says_so(server: UIServer, client: Client, tmp_path) -> None:
    path = tmp_path / "lighthouse.txt"
    path.write_text("Lighthouse log\n\nThe Vardoya lighthouse was painted teal in 2031.\n", encoding="utf-8")
    before = articles_table(client)
    with lock_holder(server.data_dir, "hold"):
        report = upload(client, path)
    assert "another ingest is running" in report and "Nothing was added" in report, report
    assert articles_table(client) == before
    assert "added as" in upload(client, path)  # and once it has finished, the upload goes in
