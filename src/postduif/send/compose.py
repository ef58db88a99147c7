"""Per-recipient message bytes: the only work done once per recipient.

Everything that can be done once per campaign is done in :class:`Composer`'s constructor (the
rendered HTML and text per variant, the envelope, the DKIM key). Per recipient it fills the
placeholders, makes two tokens (unsubscribe, for the one-click link and List-Unsubscribe's
``mailto:`` alike, and the preference page, each good for one action only, so a leaked
preference link cannot unsubscribe by one-click POST and vice versa), builds
the MIME message and, when configured, adds a DKIM signature that covers the list headers, so a
receiver can trust List-Unsubscribe.

The signature is ``relaxed/relaxed`` (survives a relay that refolds headers or trims trailing
space) and oversigns the headers a reader trusts: each is listed once more than it occurs, so a
copy added on the way (a second Subject or List-Unsubscribe, which many clients show instead of
the first) breaks the signature instead of riding on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import dkim

from postduif.audience.tokens import fill_link, make_token, signed_link
from postduif.config import Settings
from postduif.errors import SendError
from postduif.message import Envelope, MessageTemplate, Recipient, message_id_key
from postduif.render import Rendered

UNSUBSCRIBE_TTL = timedelta(days=365 * 2)  # old newsletters stay in inboxes for a long time
PREFERENCES_TTL = UNSUBSCRIBE_TTL  # the two links sit side by side in the footer
#: Signed where present: the headers a reader or a receiver's filter acts on.
DKIM_HEADERS = (b"from", b"reply-to", b"to", b"subject", b"date", b"message-id",
                b"content-language", b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
                b"mime-version", b"content-type")
#: Oversigned: listed once more than they occur, so an added copy fails verification.
DKIM_OVERSIGNED = frozenset({b"from", b"subject", b"to", b"date", b"reply-to",
                             b"list-unsubscribe", b"list-unsubscribe-post"})
DKIM_CANONICALIZE = (b"relaxed", b"relaxed")
_HEADER_NAME = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)


class Addressee(Protocol):
    """What the composer needs of a ledger row (``postduif.send.Target`` fits)."""

    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def variant(self) -> str: ...


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimKey | None:
        """The workspace's signing key; ``None`` when ``[dkim]`` has no selector."""
        dkim_settings = settings.dkim
        if not dkim_settings.selector:
            return None
        key = dkim_settings.private_key()
        if key is None:
            raise SendError(f"DKIM is configured (selector {dkim_settings.selector!r}) but "
                            f"{dkim_settings.key_env} is not set",
                            hint="put the PEM private key in it")
        return cls(dkim_settings.selector, dkim_settings.domain or settings.sender.domain, key)


class Composer:
    """Builds each recipient's message from the campaign's rendered variants."""

    def __init__(self, rendered: Mapping[str, Rendered], envelope: Envelope, *,
                 list_name: str, unsubscribe_url: str, preferences_url: str, base_url: str,
                 token_key: bytes, dkim_key: DkimKey | None = None,
                 date: datetime | None = None) -> None:
        keyed = replace(envelope, id_key=message_id_key(token_key))
        self.templates = {key: MessageTemplate(r, keyed, date=date)
                          for key, r in rendered.items()}
        self.list_name = list_name
        self.unsubscribe_url = unsubscribe_url
        self.preferences_url = preferences_url
        self.base_url = base_url
        self.token_key = token_key
        self.dkim_key = dkim_key

    def unsubscribe_token(self, email: str) -> str:
        """One token for both unsubscribe routes: the one-click link and the ``mailto:``."""
        return make_token(self.token_key, action="unsubscribe", email=email,
                          list=self.list_name, ttl=UNSUBSCRIBE_TTL)

    def preferences_link(self, email: str, variant: str) -> str:
        """The preference page in the variant's (first) language, where it can be changed."""
        return signed_link(self.preferences_url, self.token_key, action="preferences",
                           email=email, list=self.list_name, base_url=self.base_url,
                           lang=variant.split("+")[0], ttl=PREFERENCES_TTL)

    def __call__(self, target: Addressee, *, msgid: str = "") -> bytes:
        """``target``'s message; ``msgid`` replaces its stable Message-ID (review copies)."""
        token = self.unsubscribe_token(target.email)
        raw = self.templates[target.variant].render(
            Recipient(target.email, target.name, target.variant),
            unsubscribe_url=fill_link(self.unsubscribe_url, token, base_url=self.base_url,
                                      lang=target.variant.split("+")[0]),
            unsubscribe_token=token,
            preferences_url=self.preferences_link(target.email, target.variant), msgid=msgid)
        return dkim_signed(raw, self.dkim_key) if self.dkim_key else raw


def dkim_signed(raw: bytes, key: DkimKey) -> bytes:
    """``raw`` with a DKIM-Signature header in front (campaigns and greetings alike)."""
    try:
        signature = dkim.sign(raw, key.selector.encode(), key.domain.encode(),
                              key.private_key, canonicalize=DKIM_CANONICALIZE,
                              include_headers=signed_headers(raw))
    except dkim.DKIMException as exc:
        raise SendError(f"DKIM signing failed: {exc}",
                        hint="check the key in the environment variable named by "
                             "dkim.key_env") from None
    return bytes(signature) + raw


def signed_headers(raw: bytes) -> list[bytes]:
    """The DKIM ``h=`` list for ``raw``: each of :data:`DKIM_HEADERS` as often as it occurs,
    the oversigned ones once more (also when absent, so none can be added later)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = [name.lower() for name in _HEADER_NAME.findall(head)]
    return [name for name in DKIM_HEADERS
            for _ in range(names.count(name) + (name in DKIM_OVERSIGNED))]
