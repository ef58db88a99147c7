"""From a rendered message and one recipient to an :class:`email.message.EmailMessage`.

Pure functions, no I/O: the same inputs always give the same message (Date aside), which is what
makes a resumed send safe to reason about. Every header value passes through
:func:`_header_safe`, so a name or subject with CR/LF cannot inject headers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from postduif.render import Rendered, personalise

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""
    lang: str = ""


@dataclass(frozen=True)
class Envelope:
    """Who a campaign's messages come from and what list they belong to."""

    campaign: str
    sender_name: str
    sender_email: str
    reply_to: str
    list_id: str  # e.g. "nieuwsbrief.techwerkers.nl"
    list_name: str


def _header_safe(value: str) -> str:
    """Collapse control characters (CR, LF, NUL...) to spaces: header injection is impossible."""
    return _CONTROL.sub(" ", value).strip()


def message_id(campaign: str, recipient_email: str, domain: str) -> str:
    """A Message-ID stable per campaign and recipient, so a resend is recognisably the same mail."""
    digest = hashlib.sha256(f"{campaign}\0{recipient_email.lower()}".encode()).hexdigest()[:24]
    return f"<{campaign}.{digest}@{domain}>"


def personal_values(rendered: Rendered, recipient: Recipient, *, unsubscribe_url: str,
                    confirm_url: str = "") -> dict[str, str]:
    """The placeholder values for one recipient; a missing name gives the anonymous greeting."""
    first_name = recipient.name.split()[0] if recipient.name.strip() else ""
    greeting = (rendered.greeting_named.format(name=first_name) if first_name
                else rendered.greeting_anonymous)
    return {
        "GREETING": greeting,
        "FIRST_NAME": first_name,
        "EMAIL": recipient.email,
        "UNSUBSCRIBE_URL": unsubscribe_url,
        "CONFIRM_URL": confirm_url,
    }


def build_message(rendered: Rendered, recipient: Recipient, envelope: Envelope, *,
                  unsubscribe_url: str, confirm_url: str = "",
                  date: datetime | None = None) -> EmailMessage:
    """multipart/alternative (text, then HTML), UTF-8, quoted-printable, list headers set."""
    html, text = personalise(rendered, personal_values(
        rendered, recipient, unsubscribe_url=unsubscribe_url, confirm_url=confirm_url))
    msg = EmailMessage()
    domain = envelope.sender_email.rpartition("@")[2]
    msg["From"] = Address(_header_safe(envelope.sender_name), addr_spec=envelope.sender_email)
    msg["To"] = Address(_header_safe(recipient.name), addr_spec=_header_safe(recipient.email))
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    msg["Subject"] = _header_safe(rendered.subject)
    msg["Date"] = format_datetime(date or datetime.now().astimezone())
    msg["Message-ID"] = message_id(envelope.campaign, recipient.email, domain)
    msg["List-Id"] = f"{_header_safe(envelope.list_name)} <{envelope.list_id}>"
    msg["List-Unsubscribe"] = (f"<{unsubscribe_url}>, "
                               f"<mailto:{envelope.sender_email}?subject=unsubscribe>")
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    # After the parts: set_content() drops every Content-* header set before it.
    msg["Content-Language"] = rendered.lang.replace("+", ", ")
    return msg
