"""Helpers for cases_faults.py: the dry run's outbox on a small real filesystem."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import test_store_disk as store_disk

from .support import Around


def outbox_on_full_disk(size: str) -> Around:
    """``[paths] outbox`` on a tmpfs of ``size`` (mounting needs root) while the steps run."""
    @contextlib.contextmanager
    def around(workspace: Path) -> Iterator[None]:
        if not store_disk.ROOT:
            pytest.skip("a real small filesystem needs mount (root)")
        with store_disk.small_disk(workspace / "disk", size):
            with (workspace / "postduif.toml").open("a", encoding="utf-8") as config:
                config.write('\n[paths]\noutbox = "disk/outbox"\n')
            yield
    return around
