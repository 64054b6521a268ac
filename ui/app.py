"""The Gradio Blocks app: chat with sources and article view, and an Articles tab.

``build_app(settings, engine)`` lays out the page and wires events to the handlers of
``ui/chat.py`` and ``ui/articles.py``; ``launch_options(settings)`` holds what Gradio 6 takes at
launch (theme, CSS, auth, limits). Answers go through the engine only; uploads through the index.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from core.errors import NewsQAError
from core.settings import Settings
from ui import render
from ui.articles import ArticleManager, Outcome
from ui.chat import ChatHandlers, ChatUpdate, Engine, warn
from ui.chat_store import ChatStore
from ui.frontend import ARTICLE_JS, CSS, SOURCES_JS

EXAMPLE_QUESTIONS = (
    "How many people emerged from Baghuz?",
    "Where did Baghdadi flee to?",
    "Which city did US airstrikes save from an Isis incursion?",
)
QUEUE_MAX_SIZE = 512  # waiting requests; beyond this Gradio says the queue is full
BROWSER_STORAGE_KEY = "newsqa-conversation"
SANS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Liberation Sans", "sans-serif")
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")


def browser_state_secret(data_dir: Path) -> str:
    """The key that encrypts the conversation id in the browser, kept so a restart can read it."""
    path = data_dir / "ui-secret"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 1_000_000:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"


def build_app(settings: Settings, engine: Engine, store: ChatStore | None = None) -> gr.Blocks:
    store = store or ChatStore(settings.chat_db_path)
    chat = ChatHandlers(engine, store)
    articles = ArticleManager(engine.index, settings)

    # --- handlers that need Gradio's event objects --------------------------------------------
    def ask_example(conversation_id: object, evt: gr.SelectData) -> Iterator[ChatUpdate]:
        value = evt.value if isinstance(evt.value, dict) else {}
        yield from chat.respond(str(value.get("text", "")), conversation_id)

    def open_clicked(conversation_id: object, evt: gr.EventData) -> tuple[Any, str]:
        return chat.open_ref(conversation_id, getattr(evt, "ref", None))

    def open_source(conversation_id: str, ref: str) -> str:
        """The article view for a chip or source reference (``cite-<turn>-c<i>``), as HTML."""
        return chat.open_ref(conversation_id, ref)[1]

    def rate(conversation_id: object, evt: gr.LikeData) -> None:
        chat.record_feedback(conversation_id, evt.index, evt.liked)

    def article_lists() -> tuple[str, Any]:
        return (
            render.articles_table_html(articles.rows()),
            gr.Dropdown(choices=articles.choices(), value=None),
        )

    def add_articles(
        files: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008  (Gradio injects progress via this default)
    ) -> tuple[str, str, Any, Any]:
        refusal = articles.check_batch(files)
        if refusal:
            warn(refusal)
            return render.results_html([(False, refusal)]), *article_lists(), gr.skip()
        try:
            outcomes = articles.add(files or [], lambda fraction, desc: progress(fraction, desc=desc))
        except NewsQAError as exc:  # the index is busy or damaged: nothing was added
            warn(str(exc))
            return render.results_html([(False, f"{exc}. Nothing was added.")]), *article_lists(), gr.skip()
        bad = [o for o in outcomes if not o.ok]
        if bad:
            warn(f"{len(bad)} of {len(outcomes)} files could not be added; see the list below.")
        report = render.results_html([(o.ok, o.message) for o in outcomes])
        return report, *article_lists(), None

    def remove_article(doc_id: str | None) -> tuple[str, str, Any]:
        try:
            outcome = articles.remove(doc_id)
        except NewsQAError as exc:  # the index is busy or damaged
            outcome = Outcome(doc_id or "", False, str(exc))
        if not outcome.ok:
            warn(outcome.message)
        return render.results_html([(outcome.ok, outcome.message)]), *article_lists()

    # --- layout -------------------------------------------------------------------------------
    with gr.Blocks(title="News QA", fill_width=True) as app:
        conversation = gr.BrowserState(
            "", storage_key=BROWSER_STORAGE_KEY, secret=browser_state_secret(settings.data_dir)
        )
        gr.Markdown(
            "# News QA\nAsk about the indexed news articles. Every sentence of an answer is tied to "
            "the passage that supports it; click a number to read it in the article.",
            elem_id="title",
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            elem_id="chatbot",
                            height=520,
                            # Messages are HTML built (and escaped) by ui/render.py; no Markdown
                            # pass, Gradio's sanitizer on top, and no custom tags let through.
                            render_markdown=False,
                            sanitize_html=True,
                            allow_tags=False,
                            buttons=[],
                            examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
                            placeholder="**Ask a question about the articles**, or try one of these:",
                            feedback_options=("Like", "Dislike"),
                        )
                        question = gr.Textbox(
                            show_label=False,
                            placeholder=f"Ask a question (up to {settings.max_question_chars} characters)…",
                            submit_btn="Ask",
                            lines=1,
                            max_lines=4,
                            autofocus=True,
                            elem_id="question",
                        )
                        with gr.Row():
                            new_chat = gr.Button("New chat", size="sm", variant="secondary", scale=0)
                        status = gr.HTML("", elem_id="status")
                    with gr.Column(scale=2, min_width=320):
                        sources = gr.HTML(
                            render.SOURCES_PLACEHOLDER,
                            js_on_load=SOURCES_JS,
                            max_height=620,
                            padding=True,
                            container=True,
                            elem_id="sources",
                        )
                article = gr.HTML(
                    render.ARTICLE_PLACEHOLDER,
                    js_on_load=ARTICLE_JS,
                    max_height=560,
                    padding=False,  # the sticky article header sits flush with the top
                    elem_id="article-box",
                )
            with gr.Tab("Articles", id="articles"):
                gr.Markdown(
                    f"Add `.txt`, `.md` or `.html` articles: up to {settings.ui_max_upload_files} files "
                    f"at once, each at most {_mb(settings.max_file_bytes)}. A file with the name of an "
                    "indexed article replaces it."
                )
                files = gr.File(file_count="multiple", type="filepath", label="Articles to add")
                add_button = gr.Button("Add to index", variant="primary")
                upload_report = gr.HTML("", elem_id="upload-report")
                gr.Markdown("### Indexed articles")
                table = gr.HTML("", elem_id="articles-table")
                with gr.Row():
                    remove_choice = gr.Dropdown(label="Article to remove", choices=[], scale=3)
                    remove_button = gr.Button("Remove from index", variant="stop", scale=1)
                remove_report = gr.HTML("", elem_id="remove-report")

        # --- events -----------------------------------------------------------------------------
        chat_outputs = [chatbot, sources, status, question, conversation]
        app.load(
            chat.restore,
            inputs=[conversation],
            outputs=[chatbot, sources, conversation, status, article],
            api_name="restore",
        )
        app.load(article_lists, outputs=[table, remove_choice], api_name="list_articles")
        # As many answers at once as the model has slots (RAG_LLM_PARALLEL), in arrival order;
        # the rest wait in the queue, which shows their position, instead of failing.
        answering = {
            "outputs": chat_outputs,
            "concurrency_limit": settings.llm_parallel,
            "concurrency_id": "answer",
            "show_progress": "minimal",
        }
        asked = question.submit(chat.respond, inputs=[question, conversation], api_name="ask", **answering)
        example_asked = chatbot.example_select(
            ask_example, inputs=[conversation], api_visibility="private", **answering
        )
        # A new chat stops the answer still being made for the old one, which frees its slot.
        new_chat.click(
            chat.new_chat,
            outputs=[chatbot, sources, article, status, conversation, question],
            api_name="new_chat",
            cancels=[asked, example_asked],
        )
        sources.click(
            open_clicked,
            inputs=[conversation],
            outputs=[sources, article],
            api_visibility="private",
            show_progress="hidden",
        )
        gr.api(open_source, api_name="open_source")
        chatbot.like(rate, inputs=[conversation], outputs=None, api_visibility="private")
        add_button.click(
            add_articles,
            inputs=[files],
            outputs=[upload_report, table, remove_choice, files],
            api_name="add_articles",
            concurrency_limit=1,
            concurrency_id="ingest",
        )
        remove_button.click(
            remove_article,
            inputs=[remove_choice],
            outputs=[remove_report, table, remove_choice],
            api_name="remove_article",
            concurrency_limit=1,
            concurrency_id="ingest",
        )
    app.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=4)
    return app


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``app.launch``: Gradio 6 takes theme, CSS and auth there."""
    auth = (settings.ui_username, settings.ui_password) if settings.ui_username else None
    return {
        "server_name": settings.ui_host,
        "server_port": settings.ui_port,
        "share": settings.ui_share,
        "auth": auth,
        # System fonts: nothing to fetch, and the bundled web font lacks some bold glyphs.
        "theme": gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=SANS, font_mono=MONO),
        "css": CSS,
        # Bigger files than this never reach the handler; up to it, the handler explains.
        "max_file_size": 4 * settings.max_file_bytes,
        "show_error": False,
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
    }
