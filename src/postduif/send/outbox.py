"""The dry run: every recipient's message as an ``.eml`` file, and an index to browse them.

Written into a fresh directory beside the target and renamed into place at the end, so a reader
never sees a half-written outbox nor a mix of an old and a new run. The index is streamed to
disk as the messages are written, so memory stays flat whatever the size of the list.
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from typing import TextIO

from postduif.errors import SendError
from postduif.send.model import Compose, Target

FIRST = 10  # how many written files the report names, for a preview on the terminal
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")

_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outbox: {title}</title>
<style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;text-align:left}}</style>
</head><body><h1>Outbox: {title}</h1>
<table><thead><tr><th>#</th><th>Recipient</th><th>Variant</th><th>Subject</th><th>File</th>
</tr></thead><tbody>
"""
_ROW = ("<tr><td>{number}</td><td>{recipient}</td><td>{variant}</td><td>{subject}</td>"
        '<td><a href="{href}">{name}</a></td></tr>\n')
_FOOT = "</tbody></table>\n<p>{total} messages.</p>\n</body></html>\n"


@dataclass(frozen=True)
class OutboxReport:
    directory: Path
    index: Path
    counts: dict[str, int]  # messages per variant
    total: int
    files: tuple[Path, ...]  # the first few files, in order; not all, so memory stays flat


def eml_name(number: int, email: str) -> str:
    """``00001-ann@example.org.eml``: sorted like the list, safe on any file system."""
    return f"{number:05d}-{_UNSAFE.sub('_', email)[:120]}.eml"


def write_outbox(directory: Path, targets: Iterable[Target], compose: Compose) -> OutboxReport:
    """Write one ``.eml`` per target and an ``index.html``, replacing ``directory`` whole.

    A disk that is full or read-only is one :class:`SendError` naming the folder, and the old
    outbox (if any) stays as it was. ``targets`` is closed either way, so a generator reading
    the store finishes while the store is still open.
    """
    with _closing(targets):
        try:
            directory.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        except OSError as exc:
            raise _unwritable(directory, exc) from None
        try:
            counts, first = _write_all(staging, directory.name, targets, compose)
            _replace(directory, staging)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise _unwritable(directory, exc) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return OutboxReport(directory=directory, index=directory / "index.html",
                        counts=dict(counts), total=sum(counts.values()),
                        files=tuple(directory / name for name in first))


@contextmanager
def _closing(items: Iterable[object]) -> Iterator[None]:
    """Close ``items`` on the way out when it is a generator (a no-op for a list)."""
    try:
        yield
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _unwritable(directory: Path, exc: OSError) -> SendError:
    reason = exc.strerror or str(exc)
    return SendError(f"cannot write the dry run's messages into {directory}: {reason}",
                     hint="nothing was written there; make room (or fix the folder's "
                          "permissions) and run it again")


def _write_all(staging: Path, title: str, targets: Iterable[Target],
               compose: Compose) -> tuple[Counter[str], list[str]]:
    counts: Counter[str] = Counter()
    first: list[str] = []
    with (staging / "index.html").open("w", encoding="utf-8") as index:
        index.write(_HEAD.format(title=html.escape(title)))
        for number, target in enumerate(targets, start=1):
            path = staging / eml_name(number, target.email)
            message = compose(target)
            path.write_bytes(message)
            _index_row(index, number, target, path.name, message)
            counts[target.variant] += 1
            if len(first) < FIRST:
                first.append(path.name)
        index.write(_FOOT.format(total=sum(counts.values())))
    return counts, first


def _index_row(index: TextIO, number: int, target: Target, name: str, message: bytes) -> None:
    headers = BytesHeaderParser(policy=default).parsebytes(message)
    index.write(_ROW.format(
        number=number, recipient=html.escape(target.email), variant=html.escape(target.variant),
        subject=html.escape(str(headers.get("Subject", ""))), href=html.escape(name),
        name=html.escape(name)))


def _replace(directory: Path, staging: Path) -> None:
    """Swap the new outbox in; the old one is moved aside first, then deleted."""
    old = None
    if directory.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
        directory.rename(old / directory.name)
    try:
        staging.rename(directory)
    except OSError:
        if old is not None:  # put the old outbox back: a failed run changes nothing
            (old / directory.name).rename(directory)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
