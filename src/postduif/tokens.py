"""Signed, expiring tokens for confirmation and unsubscribe links.

A token is ``payload.signature``: the payload is compact JSON (version, action, list, email,
expiry in unix seconds), the signature HMAC-SHA256 over the encoded payload; both are urlsafe
base64 without padding, so the token fits in a URL unescaped. The store keeps no token table:
the signature alone proves the link came from us, the expiry bounds how long it works, and the
action stops an unsubscribe link from being used as a confirmation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime, timedelta

from postduif.errors import TokenError

VERSION = 1
ACTIONS = ("confirm", "unsubscribe")
MIN_KEY_LENGTH = 16
_INVALID = "this link is not valid"
# What an expired link is called, and what to do about it, per action.
_EXPIRED = {
    "confirm": ("confirmation link", "sign up again to receive a new one"),
    "unsubscribe": ("unsubscribe link", "use the link in a more recent email"),
}


def token_key(env_name: str = "POSTDUIF_TOKEN_KEY") -> bytes:
    """The signing key from the environment; never from a file that might be committed."""
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
    data = {"v": VERSION, "a": action, "l": list, "e": email, "x": expires}
    payload = _encode(json.dumps(data, separators=(",", ":")).encode())
    return f"{payload}.{_sign(key, payload)}"


def signed_link(url: str, key: bytes, *, action: str, email: str, list: str, base_url: str,
                lang: str, ttl: timedelta) -> str:
    """A link from a ``links.*`` setting such as ``{base_url}{lang}/.../?token={token}``."""
    token = make_token(key, action=action, email=email, list=list, ttl=ttl)
    return url.format(base_url=base_url, lang=lang, token=token)


def read_token(key: bytes, token: str, *, action: str,
               now: datetime | None = None) -> tuple[str, str]:
    """``(email, list)`` from a token made for ``action``, or :class:`TokenError`."""
    payload, dot, signature = token.strip().partition(".")
    if not dot or not hmac.compare_digest(signature.encode(), _sign(key, payload).encode()):
        raise TokenError(_INVALID, hint="the link is incomplete or was altered; "
                                        "copy the whole link from the email")
    # The signature matched, so the payload is ours: malformed content means a bug or a key
    # reused by another program, and is refused all the same.
    try:
        data = json.loads(_decode(payload))
        fields = (data["v"], data["a"], data["l"], data["e"], data["x"])
    except (ValueError, TypeError, KeyError):
        raise TokenError(_INVALID) from None
    version, token_action, list_name, email, expires = fields
    if version != VERSION or not isinstance(expires, int):
        raise TokenError(_INVALID)
    if token_action != action:
        raise TokenError(_INVALID, hint=f"this link is not a {action} link")
    if (now or datetime.now(UTC)).timestamp() > expires:
        noun, hint = _EXPIRED.get(action, ("link", "ask for a new one"))
        raise TokenError(f"this {noun} has expired", hint=hint)
    return str(email), str(list_name)


def _sign(key: bytes, payload: str) -> str:
    return _encode(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
