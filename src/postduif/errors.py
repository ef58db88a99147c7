"""Every error postduif raises on purpose, in one place.

The CLI catches :class:`PostduifError` alone and prints ``Error: <message>`` (plus the hint, if
any) with exit status 1, so a user error never shows a traceback. Anything else that escapes is a
bug and is allowed to crash loudly.

Hierarchy::

    PostduifError
    ├── ConfigError      postduif.toml, the Hugo site config, workspace discovery
    ├── ContentError     a Hugo page that cannot be read (front matter, encoding, missing file)
    ├── CampaignError    a campaign file that is missing, malformed or names unknown things
    │   └── FeedError    its agenda's calendar feed cannot be fetched or read (naming the URL)
    ├── RenderError      a template that fails in Jinja or MJML
    ├── ImageError       an image that cannot be made into an email rendition (not decodable,
    │                    too many pixels), or a rendition that cannot be written (naming the file)
    ├── StoreError       the subscriber store: unknown subscriber or membership, database locked
    ├── JoinImportError  an import file (join requests, a listmonk export) that cannot be imported
    │                    at all (binary, not UTF-8, not the expected header, ...)
    ├── TokenError       a confirmation token that is tampered, expired or malformed; a missing key
    ├── SendError        a send that cannot start or must stop: refused, paused or locked
    └── MailboxError     the return mailbox cannot be read: IMAP refused, login or folder
                         rejected (naming host:port and the server's words), not a Maildir/mbox
"""

from __future__ import annotations

from pathlib import Path


class PostduifError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class ConfigError(PostduifError):
    """The workspace or Hugo site settings are missing or invalid."""


class ContentError(PostduifError):
    """A content file cannot be read at all (unlike a :class:`~postduif.problems.Problem`)."""


class CampaignError(PostduifError):
    """A campaign definition is missing, malformed or inconsistent with the content."""


class FeedError(CampaignError):
    """A campaign's calendar feed cannot be fetched (and has no cached copy) or parsed."""


class RenderError(PostduifError):
    """A template failed to render (Jinja) or to compile (MJML)."""


class ImageError(PostduifError):
    """An email rendition cannot be made (the image does not decode, or has more pixels than
    is safe to decode) or written (a read-only or full disk); the message names the file."""


class StoreError(PostduifError):
    """The subscriber store cannot do what was asked (unknown subscriber, locked too long)."""


class JoinImportError(PostduifError):
    """An import file cannot be imported at all (binary, not UTF-8, neither JSON nor CSV, or
    not the header a listmonk export has)."""


class TokenError(PostduifError):
    """A confirmation or unsubscribe token is refused, or the key to check it is missing."""


class SendError(PostduifError):
    """A delivery cannot start or must stop: connection or login refused (naming host:port),
    the campaign paused by a 5.7.x policy reply, or the campaign locked by another process."""


class MailboxError(PostduifError):
    """The return mailbox cannot be read: the IMAP server unreachable or refusing the login, the
    folder or the TLS handshake (naming host:port and the server's own words, never the
    password), its password variable unset, or a ``--from`` path that is no Maildir or mbox."""
