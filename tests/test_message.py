"""Messages built from a rendered email and one recipient: structure, headers, safety."""

from __future__ import annotations

import email
import hashlib
from email import policy

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from postduif.audience.tokens import VERSION
from postduif.message import Envelope, Recipient, build_message, message_id, message_id_key
from postduif.render import Rendered, placeholder
from postduif.verp import _mac_key

SECRET = b"message-test-key-0123456789"
ID_KEY = message_id_key(SECRET)
ENVELOPE = Envelope(campaign="dec", sender_name="Techwerkers", sender_email="nb@techwerkers.nl",
                    reply_to="hey@techwerkers.nl", list_id="nieuwsbrief.techwerkers.nl",
                    list_name="Nieuwsbrief Techwerkers", id_key=ID_KEY)


def rendered(subject: str = "Nieuws uit december") -> Rendered:
    greeting = placeholder("GREETING")
    link = placeholder("UNSUBSCRIBE_URL")
    long_line = "woord " * 400  # one 2,400-character line: must be folded by the encoding
    return Rendered(
        lang="nl", subject=subject, preheader="",
        html=(f"<html><body><p>{greeting}</p><p>{long_line}</p>"
              f'<a href="{link}">uit</a></body></html>'),
        text=f"{greeting}\n\n{long_line}\n\nAfmelden: {link}\n",
        greeting_named="Hoi {name},", greeting_anonymous="Hoi,",
    )


def parse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_alternative_parts_personalised_and_short_lines() -> None:
    raw = build_message(rendered(), Recipient("sam@example.org", "Sam de Vries", "nl"), ENVELOPE,
                        unsubscribe_url="https://x.nl/u?t=a&b=1")
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line ends only"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    parsed = parse(raw)
    assert parsed["Content-Language"] == "nl"
    assert parsed["From"].addresses[0].display_name == "Techwerkers"
    assert parsed["To"].addresses[0].addr_spec == "sam@example.org"
    assert parsed.get_content_type() == "multipart/alternative"
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parsed.iter_parts())
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("Hoi Sam,")
    assert "https://x.nl/u?t=a&b=1" in text
    assert 'href="https://x.nl/u?t=a&amp;b=1"' in html
    assert "%%" not in text + html
    assert parsed["List-Unsubscribe"].strip().startswith("<https://x.nl/u?t=a&b=1>")
    assert parsed["Message-ID"] == message_id("dec", "sam@example.org", "techwerkers.nl",
                                             ID_KEY)


def test_no_name_gives_the_anonymous_greeting() -> None:
    msg = parse(build_message(rendered(), Recipient("anon@example.org"), ENVELOPE,
                              unsubscribe_url="u"))
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n").startswith("Hoi,\n")


@pytest.mark.parametrize("evil", ["Sam\r\nBcc: victim@example.org", "Sam\nX-Evil: 1"])
def test_header_injection_through_name_or_subject_is_impossible(evil: str) -> None:
    raw = build_message(rendered(subject=evil), Recipient("sam@example.org", evil), ENVELOPE,
                        unsubscribe_url="u\r\nX-Evil: 2")
    parsed = parse(raw)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "\n" not in parsed["Subject"]


def test_message_id_is_stable_and_distinct_per_recipient_and_campaign() -> None:
    a = message_id("dec", "Sam@Example.org", "techwerkers.nl", ID_KEY)
    assert a == message_id("dec", "sam@example.org", "techwerkers.nl", ID_KEY)
    assert a != message_id("dec", "jo@example.org", "techwerkers.nl", ID_KEY)
    assert a != message_id("jan", "sam@example.org", "techwerkers.nl", ID_KEY)
    assert a.startswith("<dec.") and a.endswith("@techwerkers.nl>")


def test_message_id_cannot_be_computed_without_the_key() -> None:
    """Anyone knows the campaign name and an address: the old unkeyed digest, or one made
    with another key, must not be the Message-ID we send."""
    ours = message_id("dec", "sam@example.org", "techwerkers.nl", ID_KEY)
    unkeyed = hashlib.sha256(b"dec\0sam@example.org").hexdigest()[:24]
    assert ours != f"<dec.{unkeyed}@techwerkers.nl>"
    assert ours != message_id("dec", "sam@example.org", "techwerkers.nl",
                              message_id_key(b"another-key-0123456789"))
    assert ours != message_id("dec", "sam@example.org", "techwerkers.nl", SECRET)


def test_the_message_id_key_is_neither_the_links_nor_the_verp_key() -> None:
    """One secret, three keys: a leaked Message-ID key must not sign links or VERP ids."""
    key = message_id_key(SECRET)
    assert len(key) == 32 and key == message_id_key(SECRET)
    links = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                 info=b"postduif token v%d: AES-256-SIV" % VERSION).derive(SECRET)
    assert key not in (SECRET, _mac_key(SECRET), links[:32], links[32:])


def test_non_ascii_subject_and_name_are_encoded_and_round_trip() -> None:
    subject = "Één nieuwsbrief — met “aanhalingstekens” en ümlauts " * 3
    raw = build_message(rendered(subject=subject), Recipient("zoe@example.org", "Zoë Ça"),
                        ENVELOPE, unsubscribe_url="u")
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    parsed = parse(raw)
    assert parsed["Subject"] == subject.strip()
    assert parsed["To"].addresses[0].display_name == "Zoë Ça"
