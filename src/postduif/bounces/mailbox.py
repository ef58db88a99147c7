"""Where bounce reports are read from: the return mailbox over IMAP, or a Maildir or mbox.

Every source gives the same thing, one :class:`~postduif.bounces.model.Item` (a handle and the
message's bytes) per message, so classifying and matching never know where a report came from.
Reading never changes a message: IMAP fetches with ``BODY.PEEK`` (no ``\\Seen``), local paths
are only read. Only :meth:`Mailbox.processed` changes anything, and on IMAP it moves the message
to ``[bounces] processed_folder`` (never deletes it), a batch per UID MOVE since one command per
message costs a round trip and a sync each; on a local path it does nothing, since postduif
remembers the reports it handled by their keys.
"""

from __future__ import annotations

import imaplib
import mailbox as stdlib_mailbox
import ssl
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypeVar

import imap_tools
from imap_tools.errors import ImapToolsError, UnexpectedCommandStatusError
from imap_tools.message import MailMessage

from postduif.bounces.model import Item
from postduif.config import BounceSettings
from postduif.errors import MailboxError

_FETCH_BULK = 200  # messages per UID FETCH: few round trips, bounded memory
_MOVE_BULK = 200  # handled messages moved per UID MOVE (one each costs a round trip and a sync)
T = TypeVar("T")


class Mailbox(Protocol):
    """A source of reports; a context manager that closes what it opened."""

    name: str  # for messages: imap://user@host:port/FOLDER, or the path

    def items(self) -> Iterator[Item]:
        """Every message in the source, oldest first where the source knows the order."""
        ...

    def processed(self, item: Item) -> None:
        """The report was handled: move it out of the way (IMAP: in batches, the last when
        the ``with`` block ends) or nothing (local paths)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None: ...


def open_mailbox(settings: BounceSettings, path: Path | None) -> Mailbox:
    """``--from PATH`` if given, else the IMAP mailbox of ``[bounces]``."""
    if path is not None:
        return open_path(path)
    if settings.host:
        return ImapMailbox(settings)
    raise MailboxError("no return mailbox to read",
                       hint="set [bounces] host in postduif.toml, or pass --from PATH "
                            "(a Maildir or an mbox file)")


def open_path(path: Path) -> Mailbox:
    """A Maildir (a folder with cur, new and tmp) or an mbox file, read only."""
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return LocalMailbox(str(path), stdlib_mailbox.Maildir(path, factory=None,
                                                                  create=False))
        raise MailboxError("is a folder but not a Maildir (no cur, new and tmp in it)",
                           path=path)
    if not path.is_file():
        raise MailboxError("no such file or folder", path=path)
    try:
        with path.open("rb") as file:
            start = file.read(5)
    except OSError as error:
        raise MailboxError(f"cannot be read: {error.strerror}", path=path) from error
    if start not in (b"From ", b""):
        raise MailboxError("is neither a Maildir nor an mbox file (an mbox starts with "
                           "'From ')", path=path)
    return LocalMailbox(str(path), stdlib_mailbox.mbox(path, factory=None, create=False))


class LocalMailbox:
    """A Maildir or an mbox, read through the stdlib ``mailbox`` module and never changed."""

    def __init__(self, name: str, box: stdlib_mailbox.Mailbox[stdlib_mailbox.Message]) -> None:
        self.name = name
        self._box = box

    def items(self) -> Iterator[Item]:
        try:
            for key in sorted(self._box.keys(), key=str):
                yield Item(handle=str(key), raw=self._box.get_bytes(key))
        except OSError as error:
            raise MailboxError(f"cannot be read: {error.strerror or error}",
                               path=Path(self.name)) from error

    def processed(self, item: Item) -> None:
        """Nothing: a local copy is only read (the store remembers what was handled)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._box.close()


class _RawMessage(MailMessage):
    """A fetched message kept as bytes: imap-tools' own class parses every message, which
    classifying does anyway."""

    def __init__(self, fetch_data: list[object]) -> None:
        raw, self._raw_uid_data, self._raw_flag_data = self._get_message_data_parts(fetch_data)
        self.raw: bytes = raw


class ImapMailbox:
    """The ``[bounces]`` IMAP mailbox: TLS, STARTTLS or plain, through imap-tools."""

    def __init__(self, settings: BounceSettings) -> None:
        self._settings = settings
        self._where = f"{settings.host}:{settings.port}"
        self.name = f"imap://{settings.username}@{self._where}/{settings.folder}"
        self._box: imap_tools.BaseMailBox | None = None
        self._processed_ready = False
        self._handled: list[str] = []  # UIDs to move, sent _MOVE_BULK at a time

    def __enter__(self) -> Self:
        password = self._password()
        box = self._connect()
        username = self._settings.username
        # LOGIN is ASCII only; a UTF-8 name or password goes by AUTHENTICATE PLAIN instead.
        login = box.login if (username + password).isascii() else box.login_utf8
        try:
            self._call(f"login as {username!r} refused", login, username, password,
                       initial_folder=None)
            self._call(f"folder {self._settings.folder!r} cannot be opened",
                       box.folder.set, self._settings.folder)
        except MailboxError:
            _close(box)
            raise
        self._box = box
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        """Move what is still waiting, then log out. Reports handled before an error are
        moved too; a failure to move them then must not hide that error."""
        if self._box is None:
            return
        try:
            if error is None:
                self._move_handled()
            else:
                with suppress(MailboxError):
                    self._move_handled()
        finally:
            _close(self._box)
            self._box = None

    def items(self) -> Iterator[Item]:
        """The folder's messages by UID, fetched ``_FETCH_BULK`` at a time: moving one away
        meanwhile (``processed``) does not disturb the rest."""
        box = self._open()
        uids = self._call("cannot list the messages", box.uids)
        for start in range(0, len(uids), _FETCH_BULK):
            chunk = uids[start:start + _FETCH_BULK]
            for message in self._call("cannot fetch the messages", _fetch, box, chunk):
                assert isinstance(message, _RawMessage)
                if message.uid is not None:
                    yield Item(handle=message.uid, raw=message.raw)

    def processed(self, item: Item) -> None:
        """Move the message to ``processed_folder`` (created the first time): in batches, the
        last one when the ``with`` block ends."""
        self._open()
        self._handled.append(item.handle)
        if len(self._handled) >= _MOVE_BULK:
            self._move_handled()

    def _move_handled(self) -> None:
        if not self._handled:
            return
        box = self._open()
        target = self._settings.processed_folder
        if not self._processed_ready:
            if not self._call("cannot list the folders", box.folder.exists, target):
                self._call(f"cannot create the folder {target!r}", box.folder.create, target)
            self._processed_ready = True
        self._call(f"cannot move {len(self._handled)} handled messages to {target!r}",
                   box.move, self._handled, target)
        self._handled = []

    def _open(self) -> imap_tools.BaseMailBox:
        if self._box is None:
            raise RuntimeError("ImapMailbox is used outside its with block")
        return self._box

    def _password(self) -> str:
        """The password, after the checks that need no connection."""
        s = self._settings
        if s.ca_file and s.security == "none":
            raise MailboxError(f"[bounces] ca_file is set but security is 'none': nothing "
                               f"would check {self._where}'s certificate",
                               hint="set security = \"tls\" or \"starttls\", or remove ca_file")
        if s.processed_folder == s.folder:
            raise MailboxError(f"[bounces] processed_folder is the folder read ({s.folder!r}): "
                               "handled reports would never leave it",
                               hint="set processed_folder to another folder")
        if not s.username:
            raise MailboxError(f"[bounces] host is {s.host!r} but username is empty",
                               hint="set [bounces] username in postduif.toml")
        password = s.password()
        if password is None:
            raise MailboxError(f"the environment variable {s.password_env} is not set "
                               f"(the password for {s.username!r} at {self._where})",
                               hint=f"export {s.password_env}=... before running postduif")
        return password

    def _connect(self) -> imap_tools.BaseMailBox:
        s = self._settings
        box: imap_tools.BaseMailBox
        try:
            if s.security == "tls":
                box = imap_tools.MailBox(s.host, s.port, timeout=s.timeout,
                                         ssl_context=self._tls())
            elif s.security == "starttls":
                box = imap_tools.MailBoxStartTls(s.host, s.port, timeout=s.timeout,
                                                 ssl_context=self._tls())
            else:
                box = imap_tools.MailBoxUnencrypted(s.host, s.port, timeout=s.timeout)
        except ssl.SSLError as error:
            raise MailboxError(f"TLS with the IMAP server at {self._where} failed: "
                               f"{error}") from error
        except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
            raise MailboxError(f"cannot connect to the IMAP server at {self._where} "
                               f"({s.security}): {_words(error)}") from error
        box.email_message_class = _RawMessage
        return box

    def _tls(self) -> ssl.SSLContext:
        cafile = self._settings.ca_file or None
        try:
            return ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as error:
            raise MailboxError(f"the CA file {cafile} cannot be used: {error}") from error

    def _call(self, what: str, action: Callable[..., T], *args: object,
                 **kwargs: object) -> T:
        """Run one IMAP command; its failure becomes a MailboxError with the server's words."""
        try:
            return action(*args, **kwargs)
        except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
            raise MailboxError(f"IMAP server at {self._where}: {what}: {_words(error)}") \
                from error


def _fetch(box: imap_tools.BaseMailBox, uids: list[str]) -> list[MailMessage]:
    """The messages with these UIDs in one UID FETCH of ``BODY.PEEK[]``: \\Seen stays unset."""
    return list(box.fetch(uid_list=uids, mark_seen=False, bulk=len(uids) > 1))


def _words(error: BaseException) -> str:
    """What the server (or the socket) said, without imap-tools' wrapping."""
    if isinstance(error, UnexpectedCommandStatusError):
        status, data = error.command_result[0], error.command_result[1]
        lines = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d)
                 for d in (data if isinstance(data, list) else [data]) if d is not None]
        return f"{status} {' '.join(lines)}".strip()
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _close(box: imap_tools.BaseMailBox) -> None:
    """Log out, or at least drop the connection: closing must not hide the real error."""
    try:
        box.logout()
    except (OSError, imaplib.IMAP4.error, ImapToolsError):
        with suppress(OSError):
            box.client.shutdown()
