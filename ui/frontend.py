"""The page's own CSS and the two small JavaScript snippets (click routing, scroll to the mark)."""

from __future__ import annotations

from ui.render import MARK_ID

# Runs once when the sources panel (a gr.HTML) mounts. Chips live inside the Chatbot, whose
# sanitizer strips event handlers, so one capturing listener on the document routes clicks on
# chips and source cards to this component's `click` event with the reference as event data.
# `trigger` is re-published on every mount so a re-rendered panel keeps working.
SOURCES_JS = r"""
window.__newsqaOpen = (ref) => trigger('click', {ref: ref});
if (!window.__newsqaClicks) {
  window.__newsqaClicks = true;
  document.addEventListener('click', (event) => {
    const link = event.target && event.target.closest
      ? event.target.closest('a.cite-chip, a.source-link') : null;
    if (!link) return;
    const href = link.getAttribute('href') || '';
    if (!/^#cite-\d+-[cr]\d+$/.test(href)) return;
    event.preventDefault();
    event.stopPropagation();
    window.__newsqaOpen(href.slice(1));
  }, true);
}
"""

# Runs once when the article view mounts; `watch` calls back after every new value is rendered.
ARTICLE_JS = (
    "watch('value', () => {"
    f" const mark = element.querySelector('mark#{MARK_ID}');"
    " if (mark) mark.scrollIntoView({block: 'center'});"
    " });"
)

CSS = """
.gradio-container { max-width: 1400px !important; margin: 0 auto; }
#title h1 { margin-bottom: 0; }
#title p { margin-top: .25em; color: var(--body-text-color-subdued); }
.user-question { white-space: pre-wrap; }
.answer p { margin: 0; line-height: 1.55; }
.answer .refusal { font-weight: 600; }
.answer .refusal-note { margin-top: .4em; font-size: .9em; color: var(--body-text-color-subdued); }
.answer .thinking { color: var(--body-text-color-subdued); font-style: italic; }
.answer .cursor { opacity: .6; margin-left: 1px; }
.small-print { margin-top: .55em; font-size: .72em; color: var(--body-text-color-subdued); }
a.cite-chip, span.cite-chip {
  display: inline-block; min-width: 1.35em; padding: 0 .38em; margin: 0 .08em 0 .15em;
  border-radius: 999px; background: var(--color-accent-soft); color: var(--color-accent) !important;
  border: 1px solid var(--color-accent); font-size: .78em; font-weight: 700; line-height: 1.45;
  text-align: center; text-decoration: none !important; cursor: pointer; vertical-align: .08em;
}
span.cite-chip { cursor: default; }
a.cite-chip:hover, a.cite-chip:focus { background: var(--color-accent); color: white !important; }
mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.sources, .article-view { text-align: left; }
.sources h3 { margin: 0 0 .5em 0; font-size: 1.05em; }
.sources.empty p, .sources .sources-note { color: var(--body-text-color-subdued); font-size: .9em; }
.source-list { list-style: none; padding: 0; margin: 0; }
.source { margin: 0 0 .6em 0; }
a.source-link {
  display: block; padding: .6em .75em; border: 1px solid var(--border-color-primary);
  border-radius: 8px; color: inherit !important; text-decoration: none !important;
  background: var(--background-fill-primary); cursor: pointer; text-align: left;
}
a.source-link:hover, a.source-link:focus { border-color: var(--color-accent); }
.source-head { display: flex; gap: .5em; align-items: baseline; font-weight: 600; }
.source-n {
  flex: none; min-width: 1.5em; padding: 0 .35em; border-radius: 999px; text-align: center;
  background: var(--color-accent-soft); color: var(--color-accent); font-size: .8em;
}
.source-pub {
  display: block; font-size: .78em; color: var(--body-text-color-subdued); margin: .1em 0 .3em 0;
}
.source-text { display: block; font-size: .86em; line-height: 1.45; }
.article-view header {
  position: sticky; top: 0; z-index: 1; padding: .6em 0 .4em 0; background: var(--background-fill-primary);
  border-bottom: 1px solid var(--border-color-primary);
}
.article-view header h3 { margin: 0; }
.article-view .article-pub, .article-view .article-note {
  font-size: .85em; color: var(--body-text-color-subdued);
}
.article-view .article-body p { margin: .6em 0; line-height: 1.6; }
.article-view.empty p { color: var(--body-text-color-subdued); }
#article-box { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0 !important; }
/* The scrolling box of gr.HTML pads its top, which would show text above the sticky header. */
#article-box .html-container { padding-top: 0 !important; }
.article-view { padding: 0 1.1em .8em 1.1em; }
.article-view.empty { padding: .8em 1.1em; }
.status { padding: .5em .8em; border-radius: 6px; margin: .25em 0; }
.status-error { background: #fee2e2; color: #7f1d1d; border: 1px solid #fca5a5; }
.status-info { background: #e0f2fe; color: #0c4a6e; border: 1px solid #7dd3fc; }
.file-results { list-style: none; padding: 0; }
.file-results li { margin: .2em 0; }
.file-results li.bad { color: #b91c1c; }
.articles-table { width: 100%; border-collapse: collapse; font-size: .9em; }
.articles-table th, .articles-table td {
  text-align: left; padding: .35em .5em; border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important;
}
"""
