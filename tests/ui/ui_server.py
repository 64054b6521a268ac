"""``python -m ui`` as a real subprocess on a free loopback port, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.settings import PROJECT_ROOT
from tests.servers import free_port, wait_for_http

# Start-up builds the index of the shipped articles (first start) and loads the model; on two
# busy cores that can take a while.
STARTUP_TIMEOUT_S = 300


class UIServer:
    def __init__(self, data_dir: Path, model_cache: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "RAG_DATA_DIR": str(data_dir),
            "RAG_CACHE_DIR": str(model_cache),
            "GRADIO_TEMP_DIR": str(data_dir / "gradio-tmp"),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.data_dir / f"ui-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ui", "--port", str(self.port)],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_http(self.url, self.proc, timeout=STARTUP_TIMEOUT_S)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n--- server log ---\n{self.log.read_text()[-4000:]}") from exc

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
