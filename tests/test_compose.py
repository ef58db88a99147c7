"""Per-recipient messages for a real campaign: tokens, variants, DKIM that verifies."""

from __future__ import annotations

import email
from collections import Counter
from dataclasses import dataclass
from email import policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dkim
import pytest

from postduif.audience.greetings import Greeter, Greeting
from postduif.audience.tokens import read_token
from postduif.build import envelope
from postduif.errors import SendError
from postduif.lists import available_lists
from postduif.message import Envelope, MessageTemplate, Recipient, message_id, message_id_key
from postduif.render import Rendered
from postduif.send.compose import Composer, DkimKey
from postduif.send.job import prepare_job
from postduif.workspace import Workspace

from .dkim_support import DOMAIN, SELECTOR, KeyPair, make_key

KEY = b"k" * 32


@dataclass(frozen=True)
class Target:
    email: str
    name: str
    variant: str


def composer(workspace: Path, dkim_key: DkimKey | None = None,
             token_key: bytes = KEY) -> tuple[Composer, Workspace]:
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign("2026-12-community-update"))
    return Composer(ws.render(plan), envelope(ws, plan), list_name="nieuwsbrief",
                    unsubscribe_url=ws.settings.unsubscribe_url,
                    preferences_url=ws.settings.preferences_url,
                    base_url=ws.site.config.base_url, token_key=token_key, dkim_key=dkim_key), ws


def test_each_recipient_gets_their_variant_and_their_own_unsubscribe_token(
        workspace: Path) -> None:
    compose, ws = composer(workspace)
    for target in (Target("sam@example.org", "Sam de Vries", "nl"),
                   Target("jo@example.org", "", "en")):
        msg = email.message_from_bytes(compose(target), policy=policy.default)
        assert msg["Content-Language"] == target.variant
        page = ws.site.get("posts/2026-12", target.variant)
        assert page is not None
        assert page.url in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        link = msg["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
        assert link.startswith(f"{ws.settings.web.public_url}{target.variant}/")
        token = parse_qs(urlsplit(link).query)["token"][0]
        assert read_token(KEY, token, action="unsubscribe") == (target.email, "nieuwsbrief")


def test_the_message_id_is_keyed_with_the_token_key(workspace: Path) -> None:
    """A report quoting the Message-ID proves we mailed that person only if nobody without
    the key can compute it: another token key gives another Message-ID."""
    compose, ws = composer(workspace)
    target = Target("sam@example.org", "Sam de Vries", "nl")
    sent = email.message_from_bytes(compose(target), policy=policy.default)["Message-ID"]
    assert sent == message_id("2026-12-community-update", target.email,
                              ws.settings.sender.domain, message_id_key(KEY))
    other, _ = composer(workspace, token_key=b"another-token-key-0123456789")
    assert email.message_from_bytes(other(target), policy=policy.default)["Message-ID"] != sent


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key(tmp_path_factory.mktemp("dkim"))


def signed_message(workspace: Path, key: KeyPair) -> bytes:
    compose, _ = composer(workspace, DkimKey(SELECTOR, DOMAIN, key.private))
    return compose(Target("sam@example.org", "Sam de Vries", "nl"))


def signature_tags(raw: bytes) -> dict[str, str]:
    signature = email.message_from_bytes(raw, policy=policy.default)["DKIM-Signature"]
    pairs = (tag.split("=", 1) for tag in str(signature).replace(" ", "").split(";") if tag)
    return {name: value for name, value in pairs}


def test_dkim_signature_verifies_and_covers_the_list_headers(
        workspace: Path, rsa_key: KeyPair) -> None:
    raw = signed_message(workspace, rsa_key)
    assert dkim.verify(raw, dnsfunc=rsa_key.dns())
    tags = signature_tags(raw)
    assert tags["c"] == "relaxed/relaxed"
    covered = Counter(tags["h"].lower().split(":"))
    head = email.message_from_bytes(raw, policy=policy.default)
    present = Counter(name.lower() for name in head)
    for name in ("list-id", "content-type", "message-id"):
        assert covered[name] == present[name] == 1, name
    for name in ("from", "subject", "to", "date", "reply-to", "list-unsubscribe",
                 "list-unsubscribe-post"):
        assert present[name] == 1 and covered[name] == 2, f"{name} is not oversigned"


def _add_header(raw: bytes, line: bytes, *, at_top: bool) -> bytes:
    if at_top:
        return line + b"\r\n" + raw
    head, _, body = raw.partition(b"\r\n\r\n")
    return head + b"\r\n" + line + b"\r\n\r\n" + body


TAMPERED = {
    "second Subject on top": lambda raw: _add_header(
        raw, b"Subject: You won a prize", at_top=True),
    "second Subject below": lambda raw: _add_header(
        raw, b"Subject: You won a prize", at_top=False),
    "added List-Unsubscribe": lambda raw: _add_header(
        raw, b"List-Unsubscribe: <https://evil.example/u>", at_top=True),
    "added Reply-To": lambda raw: _add_header(raw, b"Reply-To: x@evil.example", at_top=True),
    "changed body": lambda raw: raw.replace(b"Sam de Vries", b"Sam de Vriez"),
    "changed name in To": lambda raw: raw.replace(b"To: Sam de Vries", b"To: Sam de Vriez"),
}


@pytest.mark.parametrize("change", TAMPERED, ids=list(TAMPERED))
def test_a_tampered_copy_fails_dkim(workspace: Path, rsa_key: KeyPair, change: str) -> None:
    raw = signed_message(workspace, rsa_key)
    tampered = TAMPERED[change](raw)
    assert tampered != raw
    assert not dkim.verify(tampered, dnsfunc=rsa_key.dns())


def test_relaxed_canonicalisation_survives_a_relay_refolding_headers(
        workspace: Path, rsa_key: KeyPair) -> None:
    """A relay that refolds a header or pads the body's end keeps the signature valid."""
    raw = signed_message(workspace, rsa_key)
    relayed = raw.replace(b"\r\nFrom: Techwerkers", b"\r\nFrom:  Techwerkers\r\n   ")
    relayed = relayed.removesuffix(b"\r\n") + b"  \r\n\r\n"  # padded last line, blank line
    assert relayed != raw and dkim.verify(relayed, dnsfunc=rsa_key.dns())


def test_confirmation_and_welcome_emails_are_signed_too(
        workspace: Path, rsa_key: KeyPair, monkeypatch: pytest.MonkeyPatch) -> None:
    with (workspace / "postduif.toml").open("a", encoding="utf-8") as settings:
        settings.write(f'\n[dkim]\nselector = "{SELECTOR}"\ndomain = "{DOMAIN}"\n')
    monkeypatch.setenv("POSTDUIF_DKIM_KEY", rsa_key.private.decode())
    ws = Workspace.open(workspace)
    greeter = Greeter(ws, {"nieuwsbrief": ws.list_def("nieuwsbrief")}, KEY)
    for kind in ("confirmation", "welcome"):
        raw = greeter.compose(Greeting(kind, "sam@example.org", "Sam", "nieuwsbrief", "nl"))
        assert dkim.verify(raw, dnsfunc=rsa_key.dns()), kind
        assert signature_tags(raw)["h"].lower().split(":").count("subject") == 2


def test_dkim_configured_without_its_key_is_refused_by_name(
        workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (workspace / "postduif.toml").open("a", encoding="utf-8") as settings:
        settings.write(f'\n[dkim]\nselector = "{SELECTOR}"\n')
    monkeypatch.delenv("POSTDUIF_DKIM_KEY", raising=False)
    ws = Workspace.open(workspace)
    with pytest.raises(SendError, match="POSTDUIF_DKIM_KEY is not set"):
        Greeter(ws, {"nieuwsbrief": ws.list_def("nieuwsbrief")}, KEY)
    with pytest.raises(SendError, match="POSTDUIF_DKIM_KEY is not set"):
        prepare_job(ws, "2026-12-community-update", token_key=KEY)


def test_encoded_parts_decode_to_exactly_the_filled_in_email(workspace: Path) -> None:
    """The per-piece quoted-printable encoding loses or adds nothing, at any value length."""
    from postduif.message import Recipient, personal_values
    from postduif.render import personalise

    compose, _ = composer(workspace)
    for variant, template in compose.templates.items():
        for name in ("", "Zoë", "Ä" * 300 + " " + "=" * 80):
            recipient = Recipient("x@example.org", name, variant)
            link = "https://example.org/u?token=" + "a" * 500
            raw = template.render(recipient, unsubscribe_url=link)
            head, _, body = raw.partition(b"\r\n\r\n")
            assert max(len(line) for line in head.split(b"\r\n")) <= 998
            assert max(len(line) for line in body.split(b"\r\n")) <= 76
            msg = email.message_from_bytes(raw, policy=policy.default)
            expected_html, expected_text = personalise(template.rendered, personal_values(
                template.rendered, recipient, unsubscribe_url=link))
            text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
            assert text.replace("\r\n", "\n") == expected_text.replace("\r\n", "\n")
            assert html.replace("\r\n", "\n") == expected_html.replace("\r\n", "\n")


# -- line ends: the SMTP transport writes the composed bytes as they are ---------------------

def assert_crlf_only(raw: bytes) -> None:
    """Every line ends in CRLF, there is no bare CR or LF, and no line is over 998 octets."""
    assert raw.endswith(b"\r\n")
    rest = raw.replace(b"\r\n", b"")
    assert b"\r" not in rest, "a bare CR"
    assert b"\n" not in rest, "a bare LF"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


NAMES = ("Sam de Vries", "Zoë", "")  # with a name, a one-word name, and without


@pytest.mark.parametrize("mode", ["per-subscriber", "bilingual"])
def test_every_campaign_variant_has_crlf_line_ends_only(
        workspace: Path, rsa_key: KeyPair, mode: str) -> None:
    campaign_file = workspace / "campaigns" / "2026-12-community-update.toml"
    text = campaign_file.read_text(encoding="utf-8")
    campaign_file.write_text(text.replace('mode = "per-subscriber"', f'mode = "{mode}"'),
                             encoding="utf-8")
    plain, _ = composer(workspace)
    signed, _ = composer(workspace, DkimKey(SELECTOR, DOMAIN, rsa_key.private))
    variants = set(plain.templates)
    assert variants == ({"nl", "en"} if mode == "per-subscriber" else {"nl+en"})
    for compose in (plain, signed):
        for variant in variants:
            for name in NAMES:
                assert_crlf_only(compose(Target("sam@example.org", name, variant)))


def test_every_greeting_has_crlf_line_ends_only(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    lists = {name: ws.list_def(name) for name in available_lists(ws.settings.lists_dir)}
    greeter = Greeter(ws, lists, KEY)
    count = 0
    for list_name in lists:
        for kind in ("confirmation", "welcome"):
            for lang in ("nl", "en"):
                for name in NAMES:
                    greeting = Greeting(kind, "sam@example.org", name, list_name, lang)
                    assert_crlf_only(greeter.compose(greeting))
                    count += 1
    assert count == len(lists) * 12 >= 24


def test_stray_line_ends_in_the_rendered_email_become_crlf() -> None:
    """A lone CR (an old Mac file) or LF, in the text, the HTML or a greeting, is a line end."""
    rendered = Rendered(
        lang="nl", subject="Nieuws", preheader="",
        html="<p>\r%%GREETING%%</p>\r<p>twee\nregels\r\nen een</p>\r",
        text="%%GREETING%%\rtweede regel\n\rderde\r\n\r\nvierde\r",
        greeting_named="Hoi {name},\r", greeting_anonymous="Hoi,\n")
    envelope = Envelope(campaign="dec", sender_name="Techwerkers",
                        sender_email="nb@techwerkers.nl", reply_to="", list_id="nb.techwerkers.nl",
                        list_name="Nieuwsbrief")
    template = MessageTemplate(rendered, envelope)
    for name in NAMES:
        raw = template.render(Recipient("sam@example.org", name, "nl"),
                              unsubscribe_url="https://x.nl/u?t=1")
        assert_crlf_only(raw)
        text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",))
        assert text is not None
        assert "tweede regel\n\nderde\n\nvierde" in text.get_content().replace("\r\n", "\n")
