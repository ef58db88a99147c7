"""Unsubscribe requests by mail: the ``mailto:`` of List-Unsubscribe, sent by a reader's client.

Every message carries ``<mailto:RETURN-MAILBOX?subject=unsubscribe%20TOKEN>`` (see
``postduif.message``), with the same signed, expiring token as the one-click link. A client
sends that mail to the return mailbox, where ``postduif bounces`` finds it; only the token says
whom to unsubscribe from which list. A From address proves nothing (anyone can send as anyone),
so a request without a valid token is listed for an organiser and never applied.

What the client sends varies, so the token is looked for in:

* the Subject, after RFC 2047 decoding (done by ``classify``) and percent-decoding (a client
  that copied ``unsubscribe%20TOKEN`` as it was), with any ``Re:``/``Fwd:`` in front;
* the body's own text (not lines quoted with ``>``), as ``unsubscribe TOKEN``: a client that
  puts the mailto's subject into the body, or a reader who pastes it there.

A newsletter quoted in a reply holds the token too, but only inside links
(``.../unsubscribe/?token=TOKEN``), which this never reads as a request.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import unquote

from postduif.audience.tokens import MAX_TOKEN_LENGTH, read_token
from postduif.errors import TokenError
from postduif.message import UNSUBSCRIBE_SUBJECT

#: A token of the shortest list and address is longer than this (see ``audience.tokens``).
_MIN_TOKEN = 32
_REQUEST = re.compile(rf"(?i)\b{UNSUBSCRIBE_SUBJECT}[\s+:]+([A-Za-z0-9_-]{{{_MIN_TOKEN},"
                      rf"{MAX_TOKEN_LENGTH}}})(?![A-Za-z0-9_-])")
#: Words for "unsubscribe" in the languages members write in: a mail using one without a
#: token is most likely someone asking by hand, which an organiser should see as such.
_ASKS = re.compile(r"(?i)\b(unsubscribe|afmelden|uitschrijven|abmelden|abbestellen|"
                   r"d[ée]sinscri|d[ée]sabonn)")
NO_TOKEN = ("asks to unsubscribe but carries no unsubscribe token: not applied, since a From "
            "address alone proves nothing; if it is really the subscriber, use "
            "postduif subscribers unsubscribe")
_TAG = re.compile(r"<[^>]*>")
_MAX_TOKENS = 5  # candidates tried per mail: a mail full of token-like words costs no more


def tokens_in(subject: str, texts: Iterable[str], html_texts: Iterable[str]) -> tuple[str, ...]:
    """The candidate tokens of an unsubscribe request, the subject's first; () when none."""
    found = [*_REQUEST.findall(subject), *_REQUEST.findall(unquote(subject))]
    for text in [*texts, *(html.unescape(_TAG.sub(" ", h)) for h in html_texts)]:
        own = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
        found += _REQUEST.findall(own)
    return tuple(dict.fromkeys(found))[:_MAX_TOKENS]


def asks_to_unsubscribe(subject: str, texts: Iterable[str]) -> bool:
    """Whether a mail without a token seems to ask for an unsubscribe (for the organiser)."""
    return bool(_ASKS.search(subject)) or any(_ASKS.search(text) for text in texts)


def read_request(key: bytes | None, tokens: Iterable[str]) -> tuple[str, str]:
    """``(email, list)`` of the first valid token, or :class:`TokenError` saying why the
    first candidate (the subject's, when it has one) is not."""
    if key is None:
        raise TokenError("the token key is not set, so the token cannot be checked",
                         hint="set the environment variable named by links.token_key_env")
    reasons = []
    for token in tokens:
        try:
            return read_token(key, token, action="unsubscribe")
        except TokenError as exc:
            reasons.append(exc)
    raise reasons[0] if reasons else TokenError("it carries no token")
