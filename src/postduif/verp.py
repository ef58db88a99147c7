"""VERP: an envelope sender of its own for every message, so a bounce names its message.

A relay reports a failure to the envelope sender (MAIL FROM), often without the original
headers and sometimes naming an address the message was forwarded to. With ``[bounces] verp``
every campaign message and greeting goes out from ``local+<id>@domain`` of the return path, and
the address a report is delivered to says exactly which ledger row or greeting it is about.

The id is ``<kind><number in base 36>-<tag>``, all lower case (some mail systems lower-case
the local part): ``m`` and the ledger row id for a campaign message, ``c`` (confirmation) or
``w`` (welcome) and the subscriber id for a greeting. The tag is HMAC-SHA256 over the id (and,
for a greeting, the list), truncated to 50 bits in base 32: without the token key nobody can
make an id that matches, so a forged report cannot bounce or unsubscribe anyone. The key is
derived from ``POSTDUIF_TOKEN_KEY`` with HKDF and an ``info`` of its own, so it is never the
links' key. A greeting's list is not spelled out (list names can be long; the local part may
have 64 characters): the matcher tries the subscriber's lists against the tag.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from postduif.config import Settings
from postduif.errors import ConfigError

#: The one-letter kinds of id, and what each number counts.
KINDS = {"m": "message", "c": "confirmation", "w": "welcome"}
_LETTER = {kind: letter for letter, kind in KINDS.items()}
TAG_CHARS = 10  # 50 bits
MAX_LOCAL = 64  # RFC 5321 4.5.3.1.1
# The longest id: a kind, a 64-bit number in base 36 (13 digits), "-", the tag.
_ID_ROOM = 1 + 13 + 1 + TAG_CHARS
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID = re.compile(rf"([mcw])([0-9a-z]{{1,13}})-([a-z2-7]{{{TAG_CHARS}}})")


@dataclass(frozen=True)
class VerpId:
    """What a VERP address says, once its shape is right; :meth:`ReturnPath.genuine` checks
    the tag."""

    kind: str  # "message", "confirmation" or "welcome"
    number: int  # the ledger row id, or the subscriber id of a greeting
    tag: str


class ReturnPath:
    """The envelope sender of everything postduif sends, one per message when ``key`` is set.

    Without a key every message gets the plain address; with one, :meth:`for_message` and
    :meth:`for_greeting` sign the message's id into it.
    """

    def __init__(self, address: str, key: bytes | None = None) -> None:
        local, _, domain = address.rpartition("@")
        if not local or not domain:
            raise ConfigError(f"the return path {address!r} is not an email address")
        self.address = address
        self.verp = key is not None
        self._prefix = local + "+"
        self._suffix = "@" + domain
        self._match_prefix = self._prefix.lower()
        self._match_suffix = self._suffix.lower()
        self._mac = b"" if key is None else _mac_key(key)

    def for_message(self, row_id: int) -> str:
        """MAIL FROM of one campaign message (its ledger row)."""
        if not self.verp:
            return self.address
        return self._address("m", row_id, "")

    def for_greeting(self, kind: str, subscriber_id: int, list: str) -> str:
        """MAIL FROM of one confirmation or welcome email."""
        if not self.verp:
            return self.address
        return self._address(_LETTER[kind], subscriber_id, list)

    def read(self, address: str) -> VerpId | None:
        """The id in ``address`` if it is one of our VERP addresses in shape; not yet checked."""
        text = address.strip().strip("<>").lower()
        if not (text.startswith(self._match_prefix) and text.endswith(self._match_suffix)):
            return None
        found = _ID.fullmatch(text[len(self._match_prefix):-len(self._match_suffix)])
        if found is None:
            return None
        letter, number, tag = found.groups()
        return VerpId(KINDS[letter], int(number, 36), tag)

    def genuine(self, verp_id: VerpId, list: str = "") -> bool:
        """Whether the tag is ours for this id (and, for a greeting, this list)."""
        if not self.verp:
            return False
        expected = self._tag(_LETTER[verp_id.kind], verp_id.number, list)
        return hmac.compare_digest(expected, verp_id.tag)

    def _address(self, letter: str, number: int, list: str) -> str:
        return f"{self._prefix}{letter}{_base36(number)}-{self._tag(letter, number, list)}" \
               f"{self._suffix}"

    def _tag(self, letter: str, number: int, list: str) -> str:
        digest = hmac.digest(self._mac, f"{letter}{number}\0{list}".encode(), "sha256")
        return base64.b32encode(digest[:7]).decode("ascii")[:TAG_CHARS].lower()


def _base36(number: int) -> str:
    if number < 0:
        raise ValueError(f"a VERP id is a row or subscriber id, not {number}")
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if not number:
            return digits


@lru_cache(maxsize=8)
def _mac_key(secret: bytes) -> bytes:
    """The HMAC key for one secret, derived once: a distinct ``info`` from the links' key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"postduif verp v1: HMAC-SHA256").derive(secret)


def sending_return_path(settings: Settings, key: bytes | None) -> ReturnPath:
    """The return path campaigns and greetings are sent with: VERP only when switched on.

    ``bounces.verp`` without a token key is an error before anything is sent, not a silent
    fallback to the plain address.
    """
    if not settings.bounces.verp:
        return ReturnPath(settings.return_path)
    if key is None:
        raise ConfigError(f"bounces.verp is true, but {settings.token_key_env} is not set: "
                          "VERP addresses are signed with the token key",
                          hint=f"set {settings.token_key_env}, or bounces.verp = false")
    local, _, domain = settings.return_path.rpartition("@")
    if len(local) + 1 + _ID_ROOM > MAX_LOCAL:
        raise ConfigError(
            f"bounces.verp: the local part of {settings.return_path!r} is too long for VERP "
            f"ids (at most {MAX_LOCAL - 1 - _ID_ROOM} characters)",
            hint=f"set bounces.address to a shorter address, such as bounces@{domain}")
    return ReturnPath(settings.return_path, key)
