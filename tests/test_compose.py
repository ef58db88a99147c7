"""Per-recipient messages for a real campaign: tokens, variants, DKIM that verifies."""

from __future__ import annotations

import base64
import email
import subprocess
from dataclasses import dataclass
from email import policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dkim
import pytest

from postduif.audience.greetings import Greeter, Greeting
from postduif.audience.tokens import read_token
from postduif.build import envelope
from postduif.lists import available_lists
from postduif.message import Envelope, MessageTemplate, Recipient
from postduif.render import Rendered
from postduif.send.compose import Composer, DkimKey
from postduif.workspace import Workspace

KEY = b"k" * 32


@dataclass(frozen=True)
class Target:
    email: str
    name: str
    variant: str


def composer(workspace: Path, dkim_key: DkimKey | None = None) -> tuple[Composer, Workspace]:
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign("2026-12-community-update"))
    return Composer(ws.render(plan), envelope(ws, plan), list_name="nieuwsbrief",
                    unsubscribe_url=ws.settings.unsubscribe_url,
                    preferences_url=ws.settings.preferences_url,
                    base_url=ws.site.config.base_url, token_key=KEY, dkim_key=dkim_key), ws


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


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(private), "2048"],
                   check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    return private.read_bytes(), base64.b64encode(public)


def test_dkim_signature_verifies_and_covers_the_list_headers(
        workspace: Path, rsa_key: tuple[bytes, bytes]) -> None:
    private, public = rsa_key
    compose, _ = composer(workspace, DkimKey("pd2026", "techwerkers.nl", private))
    raw = compose(Target("sam@example.org", "Sam de Vries", "nl"))

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"pd2026._domainkey.techwerkers.nl."
        return b"v=DKIM1; k=rsa; p=" + public

    assert dkim.verify(raw, dnsfunc=dns)
    signed = email.message_from_bytes(raw, policy=policy.default)["DKIM-Signature"]
    covered = signed.split("h=", 1)[1].split(";", 1)[0].replace(" ", "").lower()
    assert {"list-unsubscribe", "list-unsubscribe-post", "list-id"} <= set(covered.split(":"))
    assert not dkim.verify(raw.replace(b"Sam de Vries", b"Sam de Vriez"), dnsfunc=dns)


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
        workspace: Path, rsa_key: tuple[bytes, bytes], mode: str) -> None:
    campaign_file = workspace / "campaigns" / "2026-12-community-update.toml"
    text = campaign_file.read_text(encoding="utf-8")
    campaign_file.write_text(text.replace('mode = "per-subscriber"', f'mode = "{mode}"'),
                             encoding="utf-8")
    plain, _ = composer(workspace)
    signed, _ = composer(workspace, DkimKey("pd2026", "techwerkers.nl", rsa_key[0]))
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
