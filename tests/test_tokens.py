"""Confirmation, unsubscribe and preference tokens: what passes, and everything that must not."""

from __future__ import annotations

import base64
import binascii
import struct
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from postduif.audience.tokens import ACTIONS, make_token, read_token, token_key
from postduif.errors import TokenError

KEY = b"a-test-key-that-is-long-enough"
NOW = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def confirm_token(**overrides: object) -> str:
    options: dict[str, object] = {"action": "confirm", "email": "lotte@voorbeeld.nl",
                                  "list": "nieuwsbrief", "ttl": DAY, "now": NOW}
    options.update(overrides)
    return make_token(KEY, **options)  # type: ignore[arg-type]


def sealed_with_our_key(payload: bytes, version: int = 2) -> str:
    """A token whose content we choose, encrypted as postduif does (independent code)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                   info=b"postduif token v2: AES-256-SIV").derive(KEY)
    header = bytes([version])
    return b64(header + AESSIV(derived).encrypt(payload, [header]))


def test_round_trip_gives_back_address_and_list() -> None:
    token = confirm_token()
    assert read_token(KEY, token, action="confirm", now=NOW) == ("lotte@voorbeeld.nl",
                                                                 "nieuwsbrief")


def test_every_action_round_trips_and_preferences_is_one() -> None:
    assert "preferences" in ACTIONS
    for action in ACTIONS:
        token = confirm_token(action=action)
        assert read_token(KEY, token, action=action, now=NOW) == ("lotte@voorbeeld.nl",
                                                                 "nieuwsbrief")


def test_token_fits_in_a_url_unescaped() -> None:
    token = confirm_token(email="ümit+lijst@bücher.example")
    assert set(token) <= set(ALPHABET)
    assert read_token(KEY, token, action="confirm", now=NOW)[0] == "ümit+lijst@bücher.example"


def test_token_is_short() -> None:
    """Half the length of the old signed JSON (167 characters for this address)."""
    token = confirm_token(action="unsubscribe", email="lotte.de.vries@voorbeeld.nl")
    assert len(token) <= 90


def test_no_part_of_a_token_reveals_the_address_or_list() -> None:
    email, list_name = "lotte.de.vries@voorbeeld.nl", "nieuwsbrief"
    token = confirm_token(email=email, list=list_name)
    secrets = [email.encode(), b"lotte", b"voorbeeld", list_name.encode()]
    # Every substring at every offset, decoded as base64 (any of the 4 alignments).
    for start in range(len(token)):
        for end in range(start + 2, len(token) + 1):
            piece = token[start:end]
            try:
                decoded = unb64(piece)
            except (binascii.Error, ValueError):
                continue
            assert not any(secret in decoded for secret in secrets), piece
    assert not any(s.decode() in token for s in secrets)


def test_the_same_link_for_two_people_differs_entirely() -> None:
    one, other = confirm_token(email="a@example.org"), confirm_token(email="b@example.org")
    assert one[2:12] != other[2:12]


def test_valid_until_expiry_then_refused() -> None:
    token = confirm_token()
    assert read_token(KEY, token, action="confirm", now=NOW + DAY)
    with pytest.raises(TokenError, match="this confirmation link has expired") as caught:
        read_token(KEY, token, action="confirm", now=NOW + DAY + timedelta(seconds=1))
    assert caught.value.hint == "sign up again to receive a new one"


def test_expired_preferences_link_says_what_to_do() -> None:
    token = confirm_token(action="preferences")
    with pytest.raises(TokenError, match="this preferences link has expired") as caught:
        read_token(KEY, token, action="preferences", now=NOW + 2 * DAY)
    assert caught.value.hint == "use the link in a more recent email"


def test_every_changed_character_is_refused() -> None:
    token = confirm_token()
    for position, char in enumerate(token):
        for replacement in {"A", "B", "-"} - {char}:
            forged = token[:position] + replacement + token[position + 1:]
            if unb64(forged) == unb64(token):
                continue  # the last character's unused low bits: the same bytes
            with pytest.raises(TokenError, match="this link is not valid"):
                read_token(KEY, forged, action="confirm", now=NOW)


def test_every_flipped_bit_is_refused() -> None:
    raw = bytearray(unb64(confirm_token()))
    for bit in range(len(raw) * 8):
        raw[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(TokenError, match="this link is not valid"):
            read_token(KEY, b64(bytes(raw)), action="confirm", now=NOW)
        raw[bit // 8] ^= 1 << (bit % 8)


def test_truncated_or_extended_token_is_refused() -> None:
    token = confirm_token()
    for cut in (token[:-1], token[:-4], token[:22], token[:2], token[1:], token + "A",
                token + token):
        with pytest.raises(TokenError, match="this link is not valid"):
            read_token(KEY, cut, action="confirm", now=NOW)


def test_other_key_is_refused() -> None:
    with pytest.raises(TokenError, match="not valid") as caught:
        read_token(b"another-key-of-sufficient-size", confirm_token(), action="confirm", now=NOW)
    assert caught.value.hint is not None and "copy the whole link" in caught.value.hint


def test_unsubscribe_link_cannot_confirm() -> None:
    token = confirm_token(action="unsubscribe")
    assert read_token(KEY, token, action="unsubscribe", now=NOW)[1] == "nieuwsbrief"
    with pytest.raises(TokenError) as caught:
        read_token(KEY, token, action="confirm", now=NOW)
    assert caught.value.hint == "this link is not a confirm link"


def test_preferences_link_cannot_unsubscribe_or_confirm() -> None:
    token = confirm_token(action="preferences")
    for action in ("confirm", "unsubscribe"):
        with pytest.raises(TokenError, match="this link is not valid") as caught:
            read_token(KEY, token, action=action, now=NOW)
        assert caught.value.hint == f"this link is not a {action} link"


def test_old_signed_json_tokens_are_refused() -> None:
    """Version 1 (readable JSON + HMAC; this one was valid for KEY at NOW) is not accepted:
    postduif has not sent to subscribers yet, so no inbox holds such a link."""
    old = ("eyJ2IjoxLCJhIjoiY29uZmlybSIsImwiOiJuaWV1d3NicmllZiIsImUiOiJsb3R0ZUB2b29yYmVlbGQu"
           "bmwiLCJ4IjoxNzQxNTIxNjAwfQ.3huJU56eqNbYg06oTZp2NXoaRYKtkdOC-2NZ5M8BjU8")
    with pytest.raises(TokenError, match="this link is not valid"):
        read_token(KEY, old, action="confirm", now=NOW)


@pytest.mark.parametrize("garbage", [
    "", ".", "..", "no-dot-at-all", "a.b.c", "!!!.???", "\x00\n.\t", "é.ü" * 1000, "A" * 5000,
    "Ag", "Ag" + "A" * 21, "AgA=", "Ag+/",
])
def test_garbage_is_refused_not_crashed_on(garbage: str) -> None:
    with pytest.raises(TokenError, match="this link is not valid"):
        read_token(KEY, garbage, action="confirm", now=NOW)


def test_our_encryption_of_a_malformed_payload_is_refused() -> None:
    """Encrypted with our key but not a payload we make (e.g. the key reused elsewhere)."""
    fixed = struct.Struct(">BIB")
    future = 4_000_000_000
    good = fixed.pack(0, future, 11) + b"nieuwsbrief" + b"lotte@voorbeeld.nl"
    assert read_token(KEY, sealed_with_our_key(good), action="confirm", now=NOW)
    for payload in (b"", b"\x00", fixed.pack(0, future, 11) + b"nieuws",  # list cut short
                    fixed.pack(0, future, 11) + b"nieuwsbrief",  # no address
                    fixed.pack(9, future, 1) + b"x" + b"a@b.nl",  # unknown action
                    fixed.pack(0, future, 1) + b"x" + b"\xff\xfe"):  # not UTF-8
        with pytest.raises(TokenError, match="this link is not valid"):
            read_token(KEY, sealed_with_our_key(payload), action="confirm", now=NOW)
    with pytest.raises(TokenError, match="this link is not valid"):
        read_token(KEY, sealed_with_our_key(good, version=3), action="confirm", now=NOW)


def test_unknown_action_cannot_be_made() -> None:
    with pytest.raises(TokenError, match="unknown token action"):
        confirm_token(action="delete")


def test_overlong_list_name_is_a_clear_error() -> None:
    with pytest.raises(TokenError, match="cannot make a token for list"):
        confirm_token(list="x" * 256)


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
