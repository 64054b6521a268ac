"""Real servers on 127.0.0.1 for tests: start, wait until they answer, stop."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def running(cmd: list[str], health_url: str, log: Path, **popen: object) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **popen)
        try:
            wait_for_http(health_url, proc)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def chroma_server(path: Path) -> Iterator[int]:
    """``chroma run`` on a free loopback port with its data in ``path``; yields the port."""
    port = free_port()
    chroma = Path(__import__("sys").executable).parent / "chroma"
    cmd = [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)]
    with running(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", path.parent / "chroma.log"):
        yield port
