"""The sample workspace, copied for a bench run: every bench starts from the same files with an
empty store, so runs compare only what they measure."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("postduif.toml", "hugo.toml", "content", "templates", "campaigns", "lists")


def copy_workspace(target: Path) -> Path:
    """Copy the sample workspace into ``target`` (created if missing), without the store or
    lock files a local run may have left there."""
    target.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part,
                            ignore=shutil.ignore_patterns("*.sqlite3*", "*.lock"))
        else:
            shutil.copy2(source, target / part)
    return target
