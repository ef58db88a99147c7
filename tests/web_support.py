"""Helpers for the web tests: a workspace with chosen ``[web]`` settings, a real ``serve``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

KEY = "a-test-key-that-is-long-enough"
# The shape the site's join form posts (see shared/corpus/README.md).
JOIN = {
    "email": "Bea.Bakker@Example.org", "firstName": "Bea", "lastName": "Bakker",
    "socialLink1": "https://social.example/@bea", "socialLink2": "",
    "organization": "Voorbeeld BV", "goals": "Organising my workplace.\r\nAnd learning.",
}


def configure_web(workspace: Path, **settings: object) -> Path:
    """Set keys of ``[web]`` in the workspace's postduif.toml (each key is on its own line).

    ``send_greetings`` is switched off unless given: these tests have no SMTP server.
    """
    settings.setdefault("send_greetings", False)
    path = workspace / "postduif.toml"
    text = path.read_text(encoding="utf-8")
    for key, value in settings.items():
        line = f"{key} = {json.dumps(value)}"  # JSON strings, numbers, lists are valid TOML
        text, found = re.subn(rf"^{key} = .*$", line, text, flags=re.MULTILINE)
        assert found == 1, f"no line for web.{key} in {path}"
    path.write_text(text, encoding="utf-8")
    return workspace


START_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Serve:
    """A running ``postduif serve``; ``log`` holds what it wrote to stdout and stderr."""

    url: str
    process: subprocess.Popen[bytes]
    workspace: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def serve(workspace: Path, tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """A factory: ``serve(**web_settings)`` runs ``postduif serve`` in a child process."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**web: object) -> Serve:
        configure_web(workspace, **web)
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "postduif", "serve", "--port", str(port)],
                cwd=workspace, env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY}, stdout=output,
                stderr=subprocess.STDOUT)
        started.append(process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"postduif serve exited with {process.returncode}: "
                                   f"{log.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postduif serve did not listen within "
                                       f"{START_TIMEOUT_S} s") from None
                time.sleep(0.05)
        return Serve(f"http://127.0.0.1:{port}", process, workspace, log)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
