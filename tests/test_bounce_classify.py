"""classify(): every sample report reads as its README says; hostile input is UNKNOWN, never an
exception."""

from __future__ import annotations

import time

import pytest

from postduif.bounces.classify import classify
from postduif.bounces.model import Kind

from .bounce_samples import BY_FILE, HOSTILE, RETURN_ADDRESS, SAMPLES, Sample, variant


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.file)
def test_each_sample_reads_as_documented(sample: Sample) -> None:
    notice = classify(sample.raw())
    assert notice.kind is sample.kind, notice.why
    if sample.kind in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT):
        assert [(f.address, f.kind, f.status) for f in notice.failures] == \
            [(sample.address, sample.kind, sample.status)]
        assert all(f.reason for f in notice.failures)
        assert notice.why == ""
    else:
        assert notice.failures == ()
    if sample.original_id:
        assert notice.original_message_ids == (sample.original_id,)
    if sample.report_id:
        assert notice.legacy_key == sample.report_id
        assert notice.key.startswith(sample.report_id + " sha256:")
    if sample.kind is not Kind.UNKNOWN:
        assert RETURN_ADDRESS in notice.delivered_to
        assert notice.date is not None and notice.subject


def test_dsn_reason_is_the_diagnostic_code_unfolded_and_otherwise_literal() -> None:
    notice = classify(BY_FILE["postfix-user-unknown.eml"].raw())
    assert notice.failures[0].reason == (
        "smtp; 550 5.1.1 <sam@example.org>: Recipient address rejected:"
        "    User unknown in virtual mailbox table")


def test_a_dsn_is_read_as_a_dsn_even_with_auto_submitted_auto_replied() -> None:
    for name in ("postfix-user-unknown.eml", "gmail-user-unknown.eml"):
        raw = BY_FILE[name].raw()
        assert b"Auto-Submitted: auto-replied" in raw
        assert classify(raw).kind is Kind.HARD


def test_an_exim_text_bounce_with_auto_submitted_is_a_bounce_not_an_auto_reply() -> None:
    raw = BY_FILE["exim-text-no-dsn.eml"].raw()
    assert b"Auto-Submitted: auto-replied" in raw and b"delivery-status" not in raw
    assert classify(raw).kind is Kind.HARD


def dsn(*blocks: str, headers: str = "", enclosed: str = "") -> bytes:
    """A minimal multipart/report delivery status notification with the given recipient
    blocks (and, optionally, the original's headers)."""
    parts = ["--B\nContent-Type: text/plain\n\nDelivery report.\n",
             "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.test\n\n"
             + "\n".join(blocks)]
    if enclosed:
        parts.append(f"--B\nContent-Type: text/rfc822-headers\n\n{enclosed}\n")
    return ("From: MAILER-DAEMON@mx.test\nTo: nieuwsbrief@techwerkers.nl\n"
            "Subject: report\nMIME-Version: 1.0\n" + headers +
            "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
            + "\n".join(parts) + "\n--B--\n").encode()


def block(address: str, action: str, status: str = "", diagnostic: str = "") -> str:
    lines = [f"Final-Recipient: rfc822; {address}", f"Action: {action}"]
    lines += [f"Status: {status}"] if status else []
    lines += [f"Diagnostic-Code: {diagnostic}"] if diagnostic else []
    return "\n".join(lines) + "\n"


def test_one_failure_per_failed_or_delayed_block_and_the_worst_kind_wins() -> None:
    notice = classify(dsn(block("a@example.org", "failed", "5.1.1", "smtp; 550 no"),
                          block("b@example.org", "delayed", "4.4.7", "smtp; 451 later"),
                          block("c@example.org", "delivered", "2.0.0"),
                          block("d@example.org", "relayed", "2.0.0"),
                          block("e@example.org", "failed", "4.7.0 (greylisted)")))
    assert notice.kind is Kind.HARD
    assert [(f.address, f.kind, f.status, f.reason) for f in notice.failures] == [
        ("a@example.org", Kind.HARD, "5.1.1", "smtp; 550 no"),
        ("b@example.org", Kind.SOFT, "4.4.7", "smtp; 451 later"),
        ("e@example.org", Kind.SOFT, "4.7.0", "")]


def test_a_global_dsn_for_an_internationalised_address_is_read() -> None:
    raw = dsn(block("a@example.org", "delivered", "2.0.0"),
              block("josé@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 unknown"),
              block("b@example.org", "delayed", "4.2.2")).replace(
        b"message/delivery-status", b"message/global-delivery-status")
    notice = classify(raw)
    assert [(f.address, f.kind, f.status) for f in notice.failures] == [
        ("josé@example.org", Kind.HARD, "5.1.1"), ("b@example.org", Kind.SOFT, "4.2.2")]


def test_a_dsn_reporting_only_deliveries_changes_nothing() -> None:
    notice = classify(dsn(block("a@example.org", "delivered", "2.0.0")))
    assert (notice.kind, notice.failures) == (Kind.AUTO_REPLY, ())


def test_a_dsn_naming_no_recipient_is_not_understood() -> None:
    notice = classify(dsn("Action: failed\nStatus: 5.1.1\n"))
    assert notice.kind is Kind.UNKNOWN and "Final-Recipient" in notice.why


def test_original_recipient_and_angle_brackets_are_accepted() -> None:
    notice = classify(dsn("Original-Recipient: rfc822;<x@example.org>\nAction: failed\n"
                          "Status: 5.0.0\n"))
    assert [(f.address, f.kind) for f in notice.failures] == [("x@example.org", Kind.HARD)]


def test_original_ids_come_from_the_enclosed_headers_else_in_reply_to_and_references() -> None:
    enclosed = classify(dsn(block("a@example.org", "failed", "5.1.1"),
                            headers="In-Reply-To: <other@x.test>\n",
                            enclosed="Message-ID: <orig.1@techwerkers.nl>\nTo: a@example.org"))
    assert enclosed.original_message_ids == ("<orig.1@techwerkers.nl>",)
    replied = classify(dsn(block("a@example.org", "failed", "5.1.1"),
                           headers="In-Reply-To: <orig.2@techwerkers.nl>\n"
                                   "References: <thread@x.test> <orig.2@techwerkers.nl>\n"))
    assert replied.original_message_ids == ("<orig.2@techwerkers.nl>", "<thread@x.test>")


def test_subjects_are_text_whether_rfc2047_or_raw_utf8() -> None:
    assert classify(BY_FILE["vacation-reply.eml"].raw()).subject == \
        "Afwezig: Community-update december"
    raw = "From: m@example.org\nSubject: Afwezig tot 5 januari: café\nX-Autoreply: yes\n\nx"
    assert classify(raw.encode()).subject == "Afwezig tot 5 januari: café"


def test_delivered_to_in_order_lowercased_and_deduplicated() -> None:
    notice = classify(dsn(block("a@example.org", "failed", "5.1.1"),
                          headers="Delivered-To: Bounces+ABC@Techwerkers.nl\n"
                                  "X-Original-To: bounces+abc@techwerkers.nl\n"
                                  "Envelope-To: other@techwerkers.nl\n"))
    assert notice.delivered_to == ("bounces+abc@techwerkers.nl", "other@techwerkers.nl",
                                   "nieuwsbrief@techwerkers.nl")


def test_reports_sharing_a_message_id_have_keys_of_their_own() -> None:
    """A relay that reuses a Message-ID, or a forger who copies one, must not make a real report
    "already handled"; the same report read again (other line ends) keeps its key."""
    sample = BY_FILE["postfix-user-unknown.eml"]
    raw = sample.raw()
    other = raw.replace(sample.address.encode(), b"someone.else@example.org")
    first, second = classify(raw), classify(other)
    assert first.legacy_key == second.legacy_key == sample.report_id
    assert first.key != second.key
    assert classify(raw.replace(b"\n", b"\r\n")).key == first.key


def test_key_is_a_hash_of_the_bytes_without_a_message_id() -> None:
    raw = dsn(block("a@example.org", "failed", "5.1.1"))
    notice = classify(raw)
    assert notice.key.startswith("sha256:") and len(notice.key) == 7 + 64
    assert classify(raw + b"\n").key != notice.key
    assert classify(raw).key == notice.key


def test_date_is_utc_for_minus_zero_and_none_when_invalid() -> None:
    zero = classify(dsn(block("a@example.org", "failed", "5.1.1"),
                        headers="Date: Tue, 01 Dec 2026 10:00:00 -0000\n"))
    assert zero.date == 1796119200.0
    for date in ("gisteren", "Tue, 01 Dec 99999999999 10:00:00 +0000",
                 "Mon, 32 Dec 2026 10:00:00 +0000"):
        bad = classify(dsn(block("a@example.org", "failed", "5.1.1"), headers=f"Date: {date}\n"))
        assert (bad.kind, bad.date) == (Kind.HARD, None), date


def complaint(fields: str, enclosed: str) -> bytes:
    return ("From: fbl@isp.test\nTo: nieuwsbrief@techwerkers.nl\nSubject: complaint\n"
            "MIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=F\n\n"
            "--F\nContent-Type: text/plain\n\nSpam report.\n"
            f"--F\nContent-Type: message/feedback-report\n\n{fields}\n"
            f"--F\nContent-Type: message/rfc822\n\n{enclosed}\n\nbody\n--F--\n").encode()


def test_a_complaint_without_original_rcpt_to_takes_the_enclosed_to() -> None:
    notice = classify(complaint("Feedback-Type: abuse\nVersion: 1\n",
                                "To: Sam <sam@example.org>\nMessage-ID: <m.1@techwerkers.nl>"))
    assert notice.kind is Kind.COMPLAINT
    assert [(f.address, f.reason) for f in notice.failures] == [
        ("sam@example.org", "Feedback-Type: abuse")]
    assert notice.original_message_ids == ("<m.1@techwerkers.nl>",)


def test_a_redacted_complaint_names_nobody_but_keeps_the_original_message_id() -> None:
    notice = classify(complaint("Feedback-Type: abuse\n",
                                "To: redacted\nSubject: x\nMessage-ID: <m.2@techwerkers.nl>"))
    assert notice.kind is Kind.COMPLAINT
    assert [(f.address, f.reason) for f in notice.failures] == [("", "Feedback-Type: abuse")]
    assert notice.original_message_ids == ("<m.2@techwerkers.nl>",)


@pytest.mark.parametrize("header", ["X-Autoreply: yes", "X-Autorespond: on",
                                    "Precedence: auto_reply", "Auto-Submitted: auto-replied"])
def test_auto_reply_headers(header: str) -> None:
    raw = (f"From: m@example.org\nTo: nieuwsbrief@techwerkers.nl\nSubject: Re: hello\n"
           f"{header}\n\nI am away.\n").encode()
    assert classify(raw).kind is Kind.AUTO_REPLY


def test_an_auto_reply_quoting_the_newsletter_is_not_read_as_a_bounce() -> None:
    raw = (b"From: Mila <mila@example.net>\nTo: nieuwsbrief@techwerkers.nl\n"
           b"Subject: Re: Community update December\nAuto-Submitted: auto-replied\n\n"
           b"I am away until 4 January and cannot be reached.\n\n"
           b"On Tue, 1 Dec 2026, Techwerkers <nieuwsbrief@techwerkers.nl> wrote:\n"
           b"> Hello Mila,\n> This message was sent to mila@example.net.\n"
           b"> Unsubscribe: https://techwerkers.nl/en/newsletter/unsubscribe/\n")
    notice = classify(raw)
    assert (notice.kind, notice.failures) == (Kind.AUTO_REPLY, ())


def test_auto_response_suppress_alone_is_no_auto_reply() -> None:
    raw = (b"From: m@example.org\nTo: nieuwsbrief@techwerkers.nl\nSubject: Re: newsletter\n"
           b"X-Auto-Response-Suppress: All\n\nPlease remove me.\n")
    notice = classify(raw)
    assert notice.kind is Kind.UNKNOWN and notice.why


def test_generated_variants_read_like_their_samples() -> None:
    for number, sample in enumerate(SAMPLES):
        raw, written = variant(sample, number)
        notice = classify(raw)
        assert notice.kind is sample.kind
        if sample.kind in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT):
            assert [f.address for f in notice.failures] == [written.address]
        if written.original_id:
            assert notice.original_message_ids == (written.original_id,)
        if written.report_id:
            assert notice.legacy_key == written.report_id


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_not_understood_and_never_raises(name: str) -> None:
    started = time.monotonic()
    notice = classify(HOSTILE[name])
    assert notice.kind is Kind.UNKNOWN
    assert notice.why and notice.failures == ()
    assert notice.key.startswith("sha256:")
    assert time.monotonic() - started < 20
