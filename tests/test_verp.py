"""VERP return paths: one per message, short, lower case, signed, and read back exactly."""

from __future__ import annotations

import re
import timeit
from dataclasses import replace
from pathlib import Path

import pytest

from postduif.config import load_settings
from postduif.errors import ConfigError
from postduif.verp import MAX_LOCAL, ReturnPath, VerpId, sending_return_path

KEY = b"verp-test-key-0123456789"


def test_a_message_address_reads_back_to_its_ledger_row() -> None:
    path = ReturnPath("bounces@techwerkers.nl", KEY)
    address = path.for_message(123_456)
    local, _, domain = address.rpartition("@")
    assert domain == "techwerkers.nl"
    assert re.fullmatch(r"bounces\+m[0-9a-z]+-[a-z2-7]{10}", local), address
    verp_id = path.read(address)
    assert verp_id is not None and verp_id.kind == "message" and verp_id.number == 123_456
    assert path.genuine(verp_id)


def test_relays_that_change_case_or_add_brackets_still_match() -> None:
    path = ReturnPath("Bounces@Techwerkers.NL", KEY)
    address = path.for_message(42)
    verp_id = path.read(f" <{address.upper()}> ")
    assert verp_id is not None and path.genuine(verp_id)


def test_a_greeting_is_signed_for_its_list() -> None:
    path = ReturnPath("bounces@techwerkers.nl", KEY)
    verp_id = path.read(path.for_greeting("welcome", 7, "nieuwsbrief"))
    assert verp_id == VerpId("welcome", 7, verp_id.tag if verp_id else "")
    assert verp_id is not None
    assert path.genuine(verp_id, "nieuwsbrief") and not path.genuine(verp_id, "leden")


@pytest.mark.parametrize("change", ["number", "tag", "kind", "domain", "local"])
def test_a_tampered_id_does_not_verify(change: str) -> None:
    path = ReturnPath("bounces@techwerkers.nl", KEY)
    address = path.for_message(1000)
    local, _, domain = address.partition("@")
    prefix, _, rest = local.partition("+")
    number, _, tag = rest[1:].partition("-")
    tampered = {
        "number": f"{prefix}+m{int(number, 36) + 1:x}-{tag}@{domain}",
        "tag": f"{prefix}+m{number}-{'a' * 10 if tag != 'a' * 10 else 'b' * 10}@{domain}",
        "kind": f"{prefix}+w{number}-{tag}@{domain}",
        "domain": f"{local}@example.org",
        "local": f"other+m{number}-{tag}@{domain}",
    }[change]
    verp_id = path.read(tampered)
    assert verp_id is None or not path.genuine(verp_id)


def test_another_key_does_not_verify() -> None:
    ours = ReturnPath("bounces@techwerkers.nl", KEY)
    theirs = ReturnPath("bounces@techwerkers.nl", b"another-key-0123456789")
    verp_id = ours.read(theirs.for_message(5))
    assert verp_id is not None and not ours.genuine(verp_id)


def test_without_a_key_every_message_gets_the_plain_address() -> None:
    path = ReturnPath("nieuwsbrief@techwerkers.nl")
    assert path.for_message(9) == path.for_greeting("confirmation", 9, "leden") == path.address
    assert not path.verp


def test_the_local_part_stays_within_64_characters() -> None:
    path = ReturnPath("nieuwsbrief-techwerkers-bounces@techwerkers.nl", KEY)
    longest = path.for_message(2**63)
    assert len(longest.partition("@")[0]) <= MAX_LOCAL


def test_verp_needs_the_token_key_and_a_short_enough_address(workspace: Path) -> None:
    settings = load_settings(workspace)
    verp = replace(settings, bounces=replace(settings.bounces, verp=True))
    with pytest.raises(ConfigError, match="bounces.verp is true, but POSTDUIF_TOKEN_KEY"):
        sending_return_path(verp, None)
    long_local = replace(verp, bounces=replace(verp.bounces, address="a" * 50 + "@x.nl"))
    with pytest.raises(ConfigError, match="too long for VERP"):
        sending_return_path(long_local, KEY)
    assert sending_return_path(settings, None).address == "nieuwsbrief@techwerkers.nl"
    assert sending_return_path(verp, KEY).for_message(1).startswith("nieuwsbrief+m1-")


def test_a_verp_address_costs_microseconds() -> None:
    path = ReturnPath("bounces@techwerkers.nl", KEY)
    seconds = min(timeit.repeat(lambda: path.for_message(123_456), number=10_000, repeat=3))
    assert seconds / 10_000 < 20e-6, f"{seconds / 10_000 * 1e6:.1f} µs per address"
