"""An address as it goes on the wire: the domain IDNA-encoded, the local part as it is.

The store keeps an address in its readable, normalised form (``jose@exämple.org``, see
``audience.records.normalise_email``). Mail servers, DNS and the ``To`` header need the domain
in its ASCII form (``jose@xn--exmple-cua.org``), which every server understands. A local part
that is not ASCII (``zoë@example.org``) has no ASCII form at all: such a message can only go
through a server that offers SMTPUTF8 (RFC 6531), with its headers in UTF-8 (RFC 6532).

Nearly every address is plain ASCII and passes through untouched, without a lookup.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

#: Why a message for an address with a non-ASCII local part was not sent.
NEEDS_SMTPUTF8 = "needs SMTPUTF8, which the server does not offer"


class AddressError(ValueError):
    """An address that cannot be written into a message or an SMTP command."""


def wire_address(email: str) -> str:
    """``email`` with its domain in ASCII (IDNA); the local part unchanged, ASCII or not."""
    if email.isascii():
        return email
    return _wire(email)


def needs_smtputf8(email: str) -> bool:
    """Whether ``email`` can only be sent with SMTPUTF8: its local part is not ASCII."""
    return not wire_address(email).isascii()


@lru_cache(maxsize=4096)
def _wire(email: str) -> str:
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(f"{email!r} is not an address mail can be sent to: {exc}") from None
    return f"{email.rpartition('@')[0]}@{checked.ascii_domain}"
