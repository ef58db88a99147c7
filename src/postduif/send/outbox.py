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

from postduif.addresses import needs_smtputf8
from postduif.errors import SendError
from postduif.send.model import Compose, Target, cannot_compose

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
_FAILED_ROW = ('<tr class="failed"><td>{number}</td><td>{recipient}</td><td>{variant}</td>'
               "<td colspan=\"2\">failed: {reason}</td></tr>\n")
_FOOT = "</tbody></table>\n<p>{total} messages.{failed}</p>\n</body></html>\n"


@dataclass(frozen=True)
class OutboxReport:
    directory: Path
    index: Path
    counts: dict[str, int]  # messages per variant
    total: int
    files: tuple[Path, ...]  # the first few files, in order; not all, so memory stays flat
    failed: int = 0  # recipients whose message could not be made (listed in the index)
    failures: tuple[tuple[str, str], ...] = ()  # the first few: (address, reason)
    smtputf8: int = 0  # messages that only a server offering SMTPUTF8 can take


def eml_name(number: int, email: str) -> str:
    """``00001-ann@example.org.eml``: sorted like the list, safe on any file system."""
    return f"{number:05d}-{_UNSAFE.sub('_', email)[:120]}.eml"


def write_outbox(directory: Path, targets: Iterable[Target], compose: Compose) -> OutboxReport:
    """Write one ``.eml`` per target and an ``index.html``, replacing ``directory`` whole.

    A target whose message cannot be composed is that recipient's failure, as in a real send:
    listed in the index and the report, and the others are written. A disk that is full or
    read-only is one :class:`SendError` naming the folder, and the old outbox (if any) stays
    as it was. ``targets`` is closed either way, so a generator reading the store finishes
    while the store is still open.
    """
    with _closing(targets):
        try:
            directory.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        except OSError as exc:
            raise _unwritable(directory, exc) from None
        try:
            written = _write_all(staging, directory.name, targets, compose)
            _replace(directory, staging)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise _unwritable(directory, exc) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return OutboxReport(directory=directory, index=directory / "index.html",
                        counts=dict(written.counts), total=sum(written.counts.values()),
                        files=tuple(directory / name for name in written.first),
                        failed=written.failed, failures=tuple(written.failures),
                        smtputf8=written.smtputf8)


@dataclass
class _Written:
    counts: Counter[str]
    first: list[str]
    failed: int
    failures: list[tuple[str, str]]
    smtputf8: int = 0


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
               compose: Compose) -> _Written:
    written = _Written(Counter(), [], 0, [])
    with (staging / "index.html").open("w", encoding="utf-8") as index:
        index.write(_HEAD.format(title=html.escape(title)))
        for number, target in enumerate(targets, start=1):
            path = staging / eml_name(number, target.email)
            try:
                message = compose(target)
            except Exception as exc:  # noqa: BLE001 - this recipient's failure, not the run's
                _failed_row(index, number, target, cannot_compose(exc), written)
                continue
            path.write_bytes(message)
            utf8 = not target.email.isascii() and needs_smtputf8(target.email)
            written.smtputf8 += utf8
            _index_row(index, number, target, path.name, message, utf8=utf8)
            written.counts[target.variant] += 1
            if len(written.first) < FIRST:
                written.first.append(path.name)
        failed = f" {written.failed} failed." if written.failed else ""
        index.write(_FOOT.format(total=sum(written.counts.values()), failed=failed))
    return written


def _failed_row(index: TextIO, number: int, target: Target, reason: str,
                written: _Written) -> None:
    written.failed += 1
    if len(written.failures) < FIRST:
        written.failures.append((target.email, reason))
    index.write(_FAILED_ROW.format(
        number=number, recipient=html.escape(target.email),
        variant=html.escape(target.variant), reason=html.escape(reason)))


def _index_row(index: TextIO, number: int, target: Target, name: str, message: bytes, *,
               utf8: bool = False) -> None:
    headers = BytesHeaderParser(policy=default).parsebytes(message)
    recipient = html.escape(target.email) + (" (needs SMTPUTF8)" if utf8 else "")
    index.write(_ROW.format(
        number=number, recipient=recipient, variant=html.escape(target.variant),
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
