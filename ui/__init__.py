"""The Gradio chat: streamed, cited answers over the indexed articles, and article management."""

import core.offline  # noqa: F401  (before gradio: it reads GRADIO_ANALYTICS_ENABLED at import)
