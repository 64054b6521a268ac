"""Building and querying the index opens no network connection at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from core.settings import PROJECT_ROOT

# Runs in a fresh interpreter so that import-time behaviour is covered too: every way of opening
# a connection or resolving a name raises, and each attempt is recorded.
_GUARDED = textwrap.dedent(
    """
    import json, socket, sys
    attempts = []
    def refuse(name):
        def blocked(*args, **kwargs):
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError(f"network blocked by test: {name}")
        return blocked
    socket.socket.connect = refuse("socket.connect")
    socket.socket.connect_ex = refuse("socket.connect_ex")
    socket.create_connection = refuse("create_connection")
    socket.getaddrinfo = refuse("getaddrinfo")

    import core.offline
    from core.settings import load_settings
    from index.ingest import Ingestor
    from index.store import open_index
    settings = load_settings()
    index = open_index(settings)
    results = Ingestor(index, show_progress=False).sync_folder(settings.articles_dir)
    dense = index.dense_search("Who took the photo of the blindfolded fighters?", 5)
    lexical = index.lexical_search("Delil Souleiman", 5)
    during = list(attempts)
    # Canary: proves the guard is live in this interpreter.
    try:
        import urllib.request
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
    except OSError:
        pass
    print(json.dumps({"statuses": [r.status for r in results], "dense": len(dense),
                      "lexical": len(lexical), "attempts": during, "canary": attempts[len(during):]}))
    """
)


def test_build_and_query_make_no_network_connection(tmp_path: Path) -> None:
    # Fresh data and model folders: the tiktoken cache must be seeded from the package, offline.
    env = os.environ | {"RAG_DATA_DIR": str(tmp_path / "data")}
    env.pop("RAG_CACHE_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", _GUARDED],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["statuses"] == ["added", "added"]
    assert report["dense"] == 5 and report["lexical"] >= 1
    assert report["attempts"] == []
    assert report["canary"], "the socket guard did not catch the canary connection"
