"""Encrypted, expiring tokens for the confirmation, unsubscribe and preference links.

A token is ``base64url(version || AES-SIV(payload, associated data = version))`` without
padding, so it fits in a URL unescaped. The payload is binary: the action's code, the expiry
in unix seconds, the list and the address. Why this shape:

* Links end up in mail scanners' logs, proxies' logs and forwarded emails, so a token must
  not reveal whom it belongs to: the payload is encrypted, not just signed. AES-SIV is
  authenticated (a changed byte, another key or a cut-off token all fail to decrypt) and
  deterministic, so it needs no nonce: no randomness per token and 16 bytes of overhead,
  where AES-GCM would need 28 and a nonce that must never repeat.
* The store keeps no token table: decrypting proves the link came from us, the expiry
  bounds how long it works, and the action stops an unsubscribe link from being used as a
  confirmation. The list and address bind the token to one membership.
* The cipher key is derived from the secret with HKDF, once per secret (composing a campaign
  makes two tokens per recipient), with the format version in the derivation, so a future
  format cannot be mistaken for this one.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from postduif.errors import TokenError

VERSION = 2  # 1 was base64 JSON with the address readable, signed with HMAC
#: Append only: an action's position is its code inside every token already sent.
ACTIONS = ("confirm", "unsubscribe", "preferences")
MIN_KEY_LENGTH = 16
#: Longer than any token we make (an address is at most 254 octets); longer input is refused
#: before any work is done on it.
MAX_TOKEN_LENGTH = 600
_INVALID = "this link is not valid"
_TAMPERED = "the link is incomplete or was altered; copy the whole link from the email"
# What an expired link is called, and what to do about it, per action.
_EXPIRED = {
    "confirm": ("confirmation link", "sign up again to receive a new one"),
    "unsubscribe": ("unsubscribe link", "use the link in a more recent email"),
    "preferences": ("preferences link", "use the link in a more recent email"),
}
_HEADER = bytes([VERSION])
_FIXED = struct.Struct(">BIB")  # action code, expiry (unix seconds), length of the list name
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def token_key(env_name: str = "POSTDUIF_TOKEN_KEY") -> bytes:
    """The secret from the environment; never from a file that might be committed."""
    value = os.environ.get(env_name, "")
    if len(value) < MIN_KEY_LENGTH:
        problem = "is not set" if not value else f"is shorter than {MIN_KEY_LENGTH} characters"
        raise TokenError(f"the token key {env_name} {problem}",
                         hint=f"set {env_name} to a long random secret, for example the output "
                              "of: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return value.encode()


def make_token(key: bytes, *, action: str, email: str, list: str, ttl: timedelta,
               now: datetime | None = None) -> str:
    if action not in ACTIONS:
        raise TokenError(f"unknown token action {action!r}; expected one of {', '.join(ACTIONS)}")
    expires = int(((now or datetime.now(UTC)) + ttl).timestamp())
    list_name = list.encode()
    try:
        fixed = _FIXED.pack(ACTIONS.index(action), expires, len(list_name))
    except struct.error:
        raise TokenError(f"cannot make a token for list {list!r} expiring at {expires}",
                         hint="list names are at most 255 bytes; expiry before 2106") from None
    sealed = _cipher(key).encrypt(fixed + list_name + email.encode(), [_HEADER])
    return base64.urlsafe_b64encode(_HEADER + sealed).rstrip(b"=").decode("ascii")


def signed_link(url: str, key: bytes, *, action: str, email: str, list: str, base_url: str,
                lang: str, ttl: timedelta) -> str:
    """A link from a ``links.*`` setting such as ``{base_url}{lang}/.../?token={token}``."""
    token = make_token(key, action=action, email=email, list=list, ttl=ttl)
    return fill_link(url, token, base_url=base_url, lang=lang)


def fill_link(url: str, token: str, *, base_url: str, lang: str) -> str:
    """A ``links.*`` setting with its placeholders filled: for a token already made (the
    unsubscribe token goes into the link and into List-Unsubscribe's ``mailto:`` alike)."""
    return url.format(base_url=base_url, lang=lang, token=token)


def read_token(key: bytes, token: str, *, action: str,
               now: datetime | None = None) -> tuple[str, str]:
    """``(email, list)`` from a token made for ``action``, or :class:`TokenError`."""
    text = token.strip()
    if len(text) > MAX_TOKEN_LENGTH or not _ALPHABET.fullmatch(text):
        raise TokenError(_INVALID, hint=_TAMPERED)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(_INVALID, hint=_TAMPERED) from None
    if raw[:1] != _HEADER:
        raise TokenError(_INVALID, hint=_TAMPERED)
    try:
        payload = _cipher(key).decrypt(raw[1:], [_HEADER])
    except (InvalidTag, ValueError):  # ValueError: shorter than the 16-byte tag
        raise TokenError(_INVALID, hint=_TAMPERED) from None
    # The payload decrypted, so it is ours: malformed content means a bug or a key reused by
    # another program, and is refused all the same.
    try:
        code, expires, length = _FIXED.unpack_from(payload)
        start = _FIXED.size
        list_name = payload[start:start + length].decode()
        email = payload[start + length:].decode()
        token_action = ACTIONS[code]
    except (struct.error, UnicodeDecodeError, IndexError):
        raise TokenError(_INVALID) from None
    if len(payload) < start + length or not email:
        raise TokenError(_INVALID)
    if token_action != action:
        raise TokenError(_INVALID, hint=f"this link is not a {action} link")
    if (now or datetime.now(UTC)).timestamp() > expires:
        noun, hint = _EXPIRED.get(action, ("link", "ask for a new one"))
        raise TokenError(f"this {noun} has expired", hint=hint)
    return email, list_name


@lru_cache(maxsize=8)
def _cipher(key: bytes) -> AESSIV:
    """The AES-SIV cipher for one secret, derived once (HKDF costs more than a token)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                   info=b"postduif token v%d: AES-256-SIV" % VERSION).derive(key)
    return AESSIV(derived)
