"""The sample reports in tests/fixtures/bounces, what each must classify as, and many more.

``SAMPLES`` is the table tests/fixtures/bounces/README.md describes: per file the kind, the
address, the enhanced status and the original Message-ID a correct reading finds. The mailed
samples' Message-IDs are postduif's own (``message_id`` of campaign ``CAMPAIGN`` and the
address, domain ``DOMAIN``, keyed with ``TOKEN_KEY``: the POSTDUIF_TOKEN_KEY the CLI tests run
``postduif bounces`` with), so matching can find the campaign and the subscriber from them.

``HOSTILE`` holds inputs no reader may stumble over (empty, binary, 5 MB, nested 3,000 deep,
broken headers): each must come out as "not understood".

``write_reports(maildir, count)`` writes ``count`` varied reports into a Maildir, made from the
samples in turn with a different subscriber each (address and Message-ID replaced) and a
report Message-ID of their own: the same bytes and file names every run, for benches and for
tests that need many reports.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from postduif.bounces.model import Kind
from postduif.message import message_id, message_id_key

from .test_cli_send import KEY as TOKEN_KEY

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
CAMPAIGN = "2026-12-community-update"
DOMAIN = "techwerkers.nl"
RETURN_ADDRESS = "nieuwsbrief@techwerkers.nl"
ID_KEY = message_id_key(TOKEN_KEY.encode())


@dataclass(frozen=True)
class Sample:
    file: str
    kind: Kind
    address: str  # the address the report names ("" when it names none)
    status: str  # the enhanced status code of the failure ("" when there is none)
    report_id: str  # the report's own Message-ID ("" when it has none we can read)
    original_id: str  # the reported-on mail's Message-ID ("" when none can be found)
    mailed: bool = True  # a subscriber postduif sent the campaign to

    def raw(self) -> bytes:
        return (FIXTURES / self.file).read_bytes()


def _ours(address: str) -> str:
    return message_id(CAMPAIGN, address, DOMAIN, ID_KEY)


SAMPLES: tuple[Sample, ...] = (
    Sample("postfix-user-unknown.eml", Kind.HARD, "sam@example.org", "5.1.1",
           "<20261201081403.4Zk9Qm1xYzz9sTt@relay.techwerkers.nl>", _ours("sam@example.org")),
    Sample("exim-dsn.eml", Kind.HARD, "noor@example.net", "5.2.1",
           "<E1vQx3P-0004aB-7u@smtp.techwerkers.nl>", _ours("noor@example.net")),
    Sample("microsoft365-recipient-not-found.eml", Kind.HARD, "jan.devries@example.com",
           "5.1.10",
           "<7b1e6a90-55c1-4d7e-a2f3-8c9d0e1f2a3b@AM9PR02MB7265.eurprd02.prod.outlook.com>",
           _ours("jan.devries@example.com")),
    Sample("gmail-user-unknown.eml", Kind.HARD, "ravi@example.org", "5.1.1",
           "<674d2f52.050a0220.9c1b3.01f5.GMR@mx.google.com>", _ours("ravi@example.org")),
    Sample("soft-mailbox-full.eml", Kind.SOFT, "lotte@example.nl", "4.2.2",
           "<20261201121409.4Zl2Hn6vQrz9sWx@relay.techwerkers.nl>", _ours("lotte@example.nl")),
    Sample("exim-text-no-dsn.eml", Kind.HARD, "kim@example.org", "5.1.1",
           "<E1vQzAa-0001Xy-Pq@mail.oldhost.example>", _ours("kim@example.org")),
    Sample("qmail-text-no-dsn.eml", Kind.HARD, "jesse@example.org", "5.1.1",
           "<20261201090512.81234.qmail@mx.qmailhost.example>", _ours("jesse@example.org")),
    Sample("arf-complaint.eml", Kind.COMPLAINT, "alex@example.com", "",
           "<fbl.20261201114500.5521@feedback.mailhost.example>", _ours("alex@example.com")),
    Sample("vacation-reply.eml", Kind.AUTO_REPLY, "mila@example.net", "",
           "<vacation.20261201085002.77@example.net>", _ours("mila@example.net")),
    Sample("outlook-out-of-office.eml", Kind.AUTO_REPLY, "ravi@example.org", "",
           "<PR3P192MB0871A1B2C3D4E5F6@PR3P192MB0871.EURP192.PROD.OUTLOOK.COM>",
           _ours("ravi@example.org")),
    Sample("never-mailed-address.eml", Kind.HARD, "onbekend@example.org", "5.1.1",
           "<20261201140144.4Zm7Rt2kLpz9sYy@relay.techwerkers.nl>",
           "<a81f3c2e-0b9d-4e1a-bb7f-2d6c9e0f1a23@laptop.techwerkers.nl>", mailed=False),
    Sample("malformed.eml", Kind.UNKNOWN, "", "", "", "", mailed=False),
)
BY_FILE = {sample.file: sample for sample in SAMPLES}


@dataclass(frozen=True)
class Written:
    """One generated report: what it was made from and whom it is about now."""

    key: str  # its Maildir key (the file name)
    sample: Sample
    address: str  # the subscriber it names now (the sample's own for unmailed samples)
    original_id: str
    report_id: str


def variant(sample: Sample, number: int) -> tuple[bytes, Written]:
    """The sample about subscriber ``number`` (``lid<number>@example.org``), with a report
    Message-ID of its own; unmailed samples keep their address but get a new report ID."""
    raw = sample.raw()
    address, original = sample.address, sample.original_id
    if sample.mailed:
        address = f"lid{number:05d}@example.org"
        original = _ours(address)
        raw = _replace(raw, sample.original_id, original)
        raw = _replace(raw, sample.address, address)
        local = sample.address.split("@")[0]
        raw = _replace(raw, f"{local} wasn't found", f"lid{number:05d} wasn't found")
    own = sample.report_id or "<malformed.1@spam.example>"
    report_id = f"<report-{number:05d}.{Path(sample.file).stem}@reports.example>"
    raw = _replace(raw, own, report_id)
    key = f"{number:06d}.{Path(sample.file).stem}.samples"
    return raw, Written(key, sample, address, original, report_id if sample.report_id else "")


def write_reports(maildir: Path, count: int) -> list[Written]:
    """``count`` reports made from the samples in turn, as Maildir files in ``maildir/new``."""
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    written = []
    for number in range(count):
        raw, report = variant(SAMPLES[number % len(SAMPLES)], number)
        (maildir / "new" / report.key).write_bytes(raw)
        written.append(report)
    return written


def _replace(raw: bytes, old: str, new: str) -> bytes:
    if not old:
        return raw
    return raw.replace(old.encode(), new.encode())


def nested(depth: int) -> bytes:
    """Multiparts nested ``depth`` deep: deeper than the email package can recurse."""
    head = b"From: x@y.test\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n\n"
    body = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1)
                    for i in range(depth))
    return head + body + b"--b%d\nContent-Type: text/plain\n\nx\n" % depth


HOSTILE = {
    "empty": b"",
    "whitespace": b"\r\n \t\n",
    "binary": random.Random(10).randbytes(64 * 1024),
    "nul and controls": b"\x00\x01\x02From: \x00\nSubject: \x1b[2J\n\n\x00",
    "no colon headers": b"this is not\na mail message\nat all\n",
    "broken header bytes": b"Subject: =?utf-8?b?////?=\nFrom: \xff\xfe <@>\n"
                           b"Content-Type: multipart/report; boundary=\n\n--\n--\n",
    "huge": b"From: x@y.test\nSubject: big\n\n" + b"A" * (5 * 1024 * 1024),
    "deeply nested": nested(3000),
    "unclosed report": b"Content-Type: multipart/report; report-type=delivery-status; "
                       b"boundary=Q\n\n--Q\nContent-Type: message/delivery-status\n\n"
                       b"Action: failed\n",
}
