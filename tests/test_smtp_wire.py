"""The DATA bytes postduif writes are the bytes aiosmtplib's own ``data()`` would have written.

postduif writes the composed message once, dot-stuffed with one ``bytes.replace``, instead of
letting aiosmtplib normalise line ends and dot-stuff it with regexes. Both paths send the same
tricky bodies to the same real server (the raw sink of ``tests/smtp_sink.py``, in its own
process, which records the DATA section exactly as it came over the socket), and the
recordings must be identical.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from postduif.send import SmtpTransport, Target
from postduif.send.smtp import _command, wire_data

from .conftest_smtp import start_raw_sink
from .send_child import load_campaign, person, smtp_settings

SENDER = "nieuwsbrief@techwerkers.example"
TRICKY = [
    b".a line that starts with a dot\r\nand one that does not\r\n",
    b".\r\n",  # a lone "." would end the data early if it were not doubled
    b"before\r\n.\r\nafter the end-of-data marker\r\n",
    b"..two dots\r\n...three dots\r\n. a dot and a space\r\n",
    b"x" * 998 + b"\r\n." + b"y" * 997 + b"\r\n" + b"z" * 998 + b"\r\n",
    b"no line end at the very end",
    b"ends with a dot\r\n.",
    b"",
]


def unstuffed(data: bytes) -> bytes:
    """What a server keeps of DATA bytes (RFC 5321 4.5.2): the end marker gone, one leading
    dot dropped from every line."""
    assert data.endswith(b"\r\n.\r\n") or data == b".\r\n"
    lines = data[:-3].split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def sample_messages(workspace: Path) -> list[bytes]:
    """Real newsletters: Dutch and English, with and without a name."""
    campaign = load_campaign(workspace)
    messages = []
    for number in (1, 3, 7):
        someone = person(number)
        name = f"{someone.first_name} {someone.last_name}".strip()
        variant = campaign.job.variant_for(someone.language)
        messages.append(campaign.compose(Target(number, someone.email, name, variant)))
    return messages


async def through_aiosmtplib(port: int, bodies: list[bytes]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=5)
    await client.connect()
    for number, body in enumerate(bodies):
        await client.sendmail(SENDER, [f"lid{number}@example.test"], body)
    await client.quit()


async def through_postduif(port: int, bodies: list[bytes], *, pipelining: bool) -> None:
    transport = SmtpTransport(smtp_settings("127.0.0.1", port), password=None,
                              pipelining=pipelining)
    async with transport.connection() as connection:
        for number, body in enumerate(bodies):
            reply = await connection.send(SENDER, f"lid{number}@example.test", body)
            assert reply.code == 250


@pytest.mark.parametrize("body", TRICKY)
def test_dot_stuffing_matches_aiosmtplib_for_tricky_bodies(body: bytes) -> None:
    expected = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(body)) + b".\r\n"
    assert wire_data(body) == expected
    assert unstuffed(wire_data(body)) == normalize_message_line_endings(body)


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "plain"])
def test_the_bytes_on_the_wire_are_what_aiosmtplib_would_send(
        workspace: Path, tmp_path: Path, pipelining: bool) -> None:
    """The raw sink offers PIPELINING; ``pipelining=False`` makes postduif ignore it."""
    bodies = TRICKY + sample_messages(workspace)
    theirs = start_raw_sink(tmp_path / "aiosmtplib")
    ours = start_raw_sink(tmp_path / "postduif")
    try:
        asyncio.run(through_aiosmtplib(theirs.port, bodies))
        asyncio.run(through_postduif(ours.port, bodies, pipelining=pipelining))
    finally:
        recorded_theirs, recorded_ours = theirs.stop(), ours.stop()
    assert len(recorded_ours) > sum(len(body) for body in bodies)
    assert recorded_ours == recorded_theirs


@pytest.mark.parametrize("address", [
    "lid000001@example.test", "bounces+m2f-k3xq7ad2mw@techwerkers.nl", "a.b-c_d@sub.example.org",
    '"twee woorden"@example.org', "Naam <naam@example.org>", "zonder-apenstaartje"])
def test_envelope_addresses_are_quoted_as_aiosmtplib_quotes_them(address: str) -> None:
    expected = b"RCPT TO:" + quote_address(address).encode("ascii") + b"\r\n"
    assert _command(b"RCPT TO:", address) == expected


def test_a_control_character_in_an_address_is_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="control character"):
        _command(b"MAIL FROM:", "nul\x00byte@example.org")
