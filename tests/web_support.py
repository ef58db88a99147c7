"""Helpers for the web tests: a workspace with chosen ``[web]`` settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

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
