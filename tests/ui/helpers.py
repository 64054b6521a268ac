"""Builders and checks shared by the chat's unit tests (no model, no server)."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

from index.documents import Document
from rag.engine import AnswerEvent, QuestionError, SentenceEvent, TokenEvent
from rag.types import Answer, Citation, Passage, Timings, Turn

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'

# What ui/render.py may emit: anything else (script, img, iframe, ...) means text leaked as markup.
ALLOWED_TAGS = {
    "a", "article", "br", "code", "div", "h3", "header", "li", "mark", "ol", "p", "span",
    "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_safe(html: str) -> None:
    """Only the tags render.py writes, and no event-handler or javascript: attributes."""
    for tag, attrs in parse(html).tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> in {html[:300]}"
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name} in {html[:300]}"
            assert not (value or "").strip().lower().startswith("javascript:")


def text_of(html: str) -> str:
    return "".join(parse(html).text)


ARTICLE_TEXT = (
    "Harbour notes\n\n"
    "The ferry Saltfjord carries 412 passengers. " + XSS + " The harbour master is Ingrid Solberg.\n\n"
    "A second paragraph about the pier."
)


def document(
    doc_id: str = "harbour", text: str = ARTICLE_TEXT, title: str = "Harbour <b>notes</b>"
) -> Document:
    return Document(
        doc_id=doc_id,
        title=title,
        publication="Pier & Co",
        path=f"/x/{doc_id}.txt",
        text=text,
        content_hash="h",
    )


def passage(doc: Document, start: int, end: int, n: int = 1) -> Passage:
    return Passage(
        n=n,
        chunk_id=f"{doc.doc_id}:{start}",
        doc_id=doc.doc_id,
        title=doc.title,
        publication=doc.publication,
        text=doc.text[start:end],
        start=start,
        end=end,
    )


def citation(doc: Document, p: Passage, quote: str, n: int | None = None) -> Citation:
    start = doc.text.index(quote)
    return Citation(
        n=p.n if n is None else n,
        doc_id=doc.doc_id,
        title=doc.title,
        publication=doc.publication,
        chunk_id=p.chunk_id,
        quote=quote,
        start=start,
        end=start + len(quote),
        score=0.9,
    )


def answer_about(doc: Document, question: str = "How many passengers?") -> Answer:
    """A checked answer citing the passenger count of :data:`ARTICLE_TEXT`, with an XSS tail."""
    body_start = doc.text.index("The ferry")
    p = passage(doc, body_start, doc.text.index("\n\nA second"))
    quote = "The ferry Saltfjord carries 412 passengers."
    return Answer(
        question=question,
        standalone_question=question,
        answer=f"The Saltfjord carries 412 passengers [1]. {XSS}",
        citations=[citation(doc, p, quote)],
        passages=[p, passage(doc, doc.text.index("A second"), len(doc.text), n=2)],
        raw_answer="The Saltfjord carries 412 passengers [1].",
        timings=Timings(retrieval_s=0.12, ttft_s=0.5, total_s=1.25, tokens=9),
        model="fake-model",
    )


def refusal(doc: Document, question: str = "Who won the 2022 election?") -> Answer:
    return Answer(
        question=question,
        standalone_question=question,
        answer="The articles don't say.",
        refused=True,
        refusal_reason="no support",
        passages=[passage(doc, 0, 13, n=1), passage(doc, 15, 60, n=2)],
        timings=Timings(retrieval_s=0.1, ttft_s=None, total_s=0.3),
        model="fake-model",
    )


class FakeIndex:
    def __init__(self, *docs: Document) -> None:
        self.docs = {d.doc_id: d for d in docs}

    def document(self, doc_id: str) -> Document | None:
        return self.docs.get(doc_id)

    def documents(self) -> list:
        return []


class FakeEngine:
    """Streams fixed tokens, then the answer its factory builds; records what it was asked."""

    model = "fake-model"

    def __init__(self, index: FakeIndex, tokens: list[str] | None = None, fail: Exception | None = None):
        self.index = index
        self.tokens = tokens if tokens is not None else ["The ", "Saltfjord ", "<b>", "carries ", "412 [1]."]
        self.fail = fail
        self.calls: list[tuple[str, list[Turn]]] = []
        self.next_answer: Answer | None = None
        # Extra events (a checked sentence) to yield after the token with this 1-based number.
        self.events_after_token: dict[int, SentenceEvent] = {}
        self.open_streams = 0
        self.closed_early = 0

    def validate(self, question: str) -> str:
        question = " ".join((question or "").split())
        if not question:
            raise QuestionError("Please type a question.")
        if len(question) > 500:
            raise QuestionError(f"That question is {len(question)} characters long; the limit is 500.")
        return question

    def stream(
        self, question: str, history: list[Turn] | None = None
    ) -> Iterator[TokenEvent | SentenceEvent | AnswerEvent]:
        self.calls.append((question, list(history or [])))
        self.open_streams += 1
        try:
            for i, token in enumerate(self.tokens, 1):
                yield TokenEvent(token)
                if i in self.events_after_token:
                    yield self.events_after_token[i]
            if self.fail is not None:
                raise self.fail
            doc = next(iter(self.index.docs.values()))
            answer = self.next_answer or answer_about(doc, question)
            yield AnswerEvent(answer.model_copy(update={"question": question}))
        except GeneratorExit:
            self.closed_early += 1
            raise
        finally:
            self.open_streams -= 1
