"""Confirmation and unsubscribe tokens: what passes, and everything that must not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from postduif.errors import TokenError
from postduif.tokens import make_token, read_token, token_key

KEY = b"a-test-key-that-is-long-enough"
NOW = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def confirm_token(**overrides: object) -> str:
    options: dict[str, object] = {"action": "confirm", "email": "lotte@voorbeeld.nl",
                                  "list": "nieuwsbrief", "ttl": DAY, "now": NOW}
    options.update(overrides)
    return make_token(KEY, **options)  # type: ignore[arg-type]


def test_round_trip_gives_back_address_and_list() -> None:
    token = confirm_token()
    assert read_token(KEY, token, action="confirm", now=NOW) == ("lotte@voorbeeld.nl",
                                                                 "nieuwsbrief")


def test_token_fits_in_a_url_unescaped() -> None:
    token = confirm_token(email="ümit+lijst@bücher.example")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert read_token(KEY, token, action="confirm", now=NOW)[0] == "ümit+lijst@bücher.example"


def test_valid_until_expiry_then_refused() -> None:
    token = confirm_token()
    assert read_token(KEY, token, action="confirm", now=NOW + DAY)
    with pytest.raises(TokenError, match="this confirmation link has expired"):
        read_token(KEY, token, action="confirm", now=NOW + DAY + timedelta(seconds=1))


def test_tampered_payload_is_refused() -> None:
    payload, signature = confirm_token().split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["e"] = "indringer@example.org"
    forged = b64(json.dumps(data).encode())
    with pytest.raises(TokenError, match="this link is not valid"):
        read_token(KEY, f"{forged}.{signature}", action="confirm", now=NOW)


def test_tampered_signature_is_refused() -> None:
    payload, signature = confirm_token().split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(TokenError, match="this link is not valid"):
        read_token(KEY, f"{payload}.{flipped}", action="confirm", now=NOW)


def test_truncated_token_is_refused() -> None:
    token = confirm_token()
    for cut in (token[:-1], token[: token.index(".")], token[: token.index(".") + 1]):
        with pytest.raises(TokenError, match="this link is not valid"):
            read_token(KEY, cut, action="confirm", now=NOW)


def test_other_key_is_refused() -> None:
    with pytest.raises(TokenError, match="not valid"):
        read_token(b"another-key-of-sufficient-size", confirm_token(), action="confirm", now=NOW)


def test_unsubscribe_link_cannot_confirm() -> None:
    token = confirm_token(action="unsubscribe")
    assert read_token(KEY, token, action="unsubscribe", now=NOW)[1] == "nieuwsbrief"
    with pytest.raises(TokenError) as caught:
        read_token(KEY, token, action="confirm", now=NOW)
    assert caught.value.hint == "this link is not a confirm link"


@pytest.mark.parametrize("garbage", [
    "", ".", "..", "no-dot-at-all", "a.b.c", "!!!.???", "\x00\n.\t", "é.ü" * 1000,
])
def test_garbage_is_refused_not_crashed_on(garbage: str) -> None:
    with pytest.raises(TokenError, match="this link is not valid"):
        read_token(KEY, garbage, action="confirm", now=NOW)


def test_signed_but_malformed_payload_is_refused() -> None:
    """Signed with our key but without the expected fields (e.g. the key reused elsewhere)."""
    for content in (b"[]", b"{}", b"not json", b"\xff\xfe",
                    b'{"v":1,"a":"confirm","l":"x","e":"y","x":"soon"}',
                    b'{"v":2,"a":"confirm","l":"x","e":"y","x":9999999999}'):
        payload = b64(content)
        signature = b64(hmac.new(KEY, payload.encode(), hashlib.sha256).digest())
        with pytest.raises(TokenError, match="this link is not valid"):
            read_token(KEY, f"{payload}.{signature}", action="confirm", now=NOW)


def test_unknown_action_cannot_be_made() -> None:
    with pytest.raises(TokenError, match="unknown token action"):
        confirm_token(action="delete")


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTDUIF_TOKEN_KEY", "0123456789abcdef")
    assert token_key() == b"0123456789abcdef"


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTDUIF_TOKEN_KEY", raising=False)
    with pytest.raises(TokenError, match="POSTDUIF_TOKEN_KEY is not set") as caught:
        token_key()
    assert caught.value.hint is not None and "POSTDUIF_TOKEN_KEY" in caught.value.hint


def test_short_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTHER_KEY", "short")
    with pytest.raises(TokenError, match="OTHER_KEY is shorter than 16 characters"):
        token_key("OTHER_KEY")
