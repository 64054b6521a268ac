"""Process-wide switches that keep third-party libraries from reaching the network.

Imported first by every entry point (``index``, ``rag``, ``ui``, ``eval``): several libraries
read these variables once at import time, so they must be set before those imports happen.
"""

import os

_OFFLINE_ENV = {
    # onnxruntime looks up a telemetry host unless told not to.
    "ORT_DISABLE_TELEMETRY": "1",
    # Chroma's posthog telemetry.
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    # Anything built on huggingface_hub must use local files only.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # We batch ourselves; the tokenizers thread pool only fights with onnxruntime for 2 cores.
    "TOKENIZERS_PARALLELISM": "false",
}

for _key, _value in _OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)
