"""What an SMTP reply means for the row and for the campaign.

The basic code says temporary (4xx) or permanent (5xx); the enhanced status code (RFC 3463,
"5.1.1" at the start of the text) says why. 5.1.x is about the address: it will never work, so
the membership is marked bounced and nobody sends there again. 5.7.x is about us (policy,
authentication, reputation): every further message would meet the same refusal, so the campaign
pauses instead of burning through the list. 552 is retried although permanent in form, because
in practice it means "mailbox full", which passes.
"""

from __future__ import annotations

import re
from enum import StrEnum

from postduif.send.transport import DeliveryFailure, PermanentFailure, Reply, TemporaryFailure

_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\d)")
#: Without an enhanced code these basic codes mean the mailbox does not exist (RFC 5321 4.2.3).
_NO_MAILBOX = frozenset({550, 551, 553})


class Verdict(StrEnum):
    BOUNCE = "bounce"  # the address is dead: fail the row, mark the membership bounced
    POLICY = "policy"  # we are refused: pause the campaign
    FAIL = "fail"  # this message is refused: fail the row only


def enhanced_code(text: str) -> tuple[int, int, int] | None:
    """The enhanced status code at the start of a reply text, if any."""
    match = _ENHANCED.match(text)
    if match is None:
        return None
    klass, subject, detail = match.groups()
    return int(klass), int(subject), int(detail)


def is_temporary(code: int) -> bool:
    """Worth retrying: 4xx (421 included), 552, or no reply at all (code 0)."""
    return code == 0 or 400 <= code < 500 or code == 552


def failure_for(reply: Reply, *, stage: str = "") -> DeliveryFailure:
    """The exception a transport raises for a refusing ``reply``."""
    if is_temporary(reply.code):
        return TemporaryFailure(reply, stage=stage)
    return PermanentFailure(reply, stage=stage)


def judge(failure: PermanentFailure) -> Verdict:
    """Decide what a permanent refusal means (see the module docstring).

    A refusal of MAIL FROM concerns the sender, never the recipient, so it pauses.
    """
    if failure.stage == "mail":
        return Verdict.POLICY
    code = enhanced_code(failure.reply.text)
    if code is not None:
        return {1: Verdict.BOUNCE, 7: Verdict.POLICY}.get(code[1], Verdict.FAIL)
    return Verdict.BOUNCE if failure.reply.code in _NO_MAILBOX else Verdict.FAIL
