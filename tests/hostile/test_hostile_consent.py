"""Consent that was withdrawn stays withdrawn: an old preference link against a live ``serve``.

A preference link is valid for two years, sits in every footer and travels with forwarded
email, so whoever holds one may post its form long after the person left. Each case withdraws
consent the way it happens for real (the unsubscribe link, ``subscribers unsuppress`` after a
bounce, an organiser taking someone off the members list, a suppression), then posts a form
that ticks the list with a link made before, and checks the state afterwards: who is
subscribed, who is pending, what the consent log says, who was mailed. These need a running
``postduif serve`` and SMTP server, which the CLI-process runner of test_hostile.py cannot
express.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from postduif.audience.membership import stop_mailing
from postduif.audience.tokens import make_token
from postduif.send.compose import PREFERENCES_TTL, UNSUBSCRIBE_TTL
from postduif.store import Person, Store
from tests.conftest_smtp import SmtpServer
from tests.test_web_greetings import _point_at
from tests.web_support import KEY, Serve

from .support import Step, run, step_problems

ANN = "ann@example.org"
DATABASE = "lists/postduif.sqlite3"
LONG_AGO = datetime.now(UTC) - timedelta(days=400)
#: Long enough for the greeting worker (woken, and every 0.3 s) to send what became due.
SETTLE_S = 1.5


def _token(action: str, list_name: str) -> str:
    ttl = PREFERENCES_TTL if action == "preferences" else UNSUBSCRIBE_TTL
    return make_token(KEY.encode(), action=action, email=ANN, list=list_name, ttl=ttl)


def _subscribed_long_ago(workspace: Path) -> None:
    """Ann: confirmed on the newsletter and an approved member, greeted, 400 days ago."""
    with Store.open(workspace / DATABASE, clock=lambda: LONG_AGO) as store:
        for list_name, event in (("nieuwsbrief", "confirmed"), ("leden", "approved")):
            store.join(Person(email=ANN, first_name="Ann", language="nl"), list=list_name,
                       status="pending", event="requested", source="test", consent_version="",
                       default_language="nl")
            store.set_status(ANN, list_name, "confirmed", event=event, source="test")
            for kind in ("confirmation", "welcome"):
                store.mark_sent(ANN, list_name, kind)


def _cli(workspace: Path, *argv: str) -> None:
    assert step_problems(run(workspace, Step(argv, 0), 60)) == []


def _unsubscribe_link(workspace: Path, served: Serve) -> None:
    """The newsletter's one-click unsubscribe (RFC 8058), as a mail client posts it."""
    answer = httpx.post(f"{served.url}/nl/newsletter/unsubscribe/",
                        params={"token": _token("unsubscribe", "nieuwsbrief")},
                        content=b"List-Unsubscribe=One-Click", timeout=10,
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200


def _bounced(workspace: Path, served: Serve) -> None:
    """What a hard bounce does: every list stops, the address is suppressed."""
    with Store.open(workspace / DATABASE) as store:
        subscriber = store.get(ANN)
        assert subscriber is not None
        stop_mailing(store, subscriber, status="bounced", source="test: 5.1.1")
        store.suppress(ANN, reason="bounced", source="test: 5.1.1")


def _unsuppressed(workspace: Path, served: Serve) -> None:
    _bounced(workspace, served)
    _cli(workspace, "subscribers", "unsuppress", ANN, "--reason", "asked by email")


def _taken_off_the_members_list(workspace: Path, served: Serve) -> None:
    _cli(workspace, "subscribers", "unsubscribe", ANN, "--list", "leden")


def _blocklisted(workspace: Path, served: Serve) -> None:
    """Blocklisted (as a listmonk migration leaves it): unsubscribed everywhere, suppressed."""
    _cli(workspace, "subscribers", "unsubscribe", ANN)
    with Store.open(workspace / DATABASE) as store:
        store.suppress(ANN, reason="blocklisted", source="test")


@dataclass(frozen=True)
class Withdrawn:
    """One way consent ends, and what ticking the list again on an old link may do."""

    name: str
    withdraw: Callable[[Path, Serve], None]
    list: str
    status: str  # the membership's status after the forged form
    mailed: int  # confirmation emails sent to Ann afterwards


CASES = [
    Withdrawn("after-unsubscribe-link", _unsubscribe_link, "nieuwsbrief", "pending", 1),
    Withdrawn("after-unsuppress", _unsuppressed, "nieuwsbrief", "pending", 1),
    Withdrawn("after-removal-from-members", _taken_off_the_members_list, "leden", "pending", 0),
    Withdrawn("still-suppressed-bounce", _bounced, "nieuwsbrief", "bounced", 0),
    Withdrawn("still-suppressed-blocklist", _blocklisted, "nieuwsbrief", "unsubscribed", 0),
]


def _tick(served: Serve, token: str, list_name: str) -> str:
    answer = httpx.post(f"{served.url}/nl/newsletter/preferences/", params={"token": token},
                        data={"shown": list_name, "list": list_name, "do": "save"}, timeout=10)
    assert answer.status_code == 200
    return answer.text


def _given(workspace: Path, list_name: str) -> tuple[str, int]:
    """The membership's status and how many consent-giving events its log holds."""
    with Store.open(workspace / DATABASE) as store:
        subscriber = store.get(ANN)
        membership = subscriber.membership(list_name) if subscriber else None
        assert membership is not None
        given = sum(e.list == list_name and e.event in ("confirmed", "approved")
                    for e in store.consent_log(ANN))
        return membership.status, given


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_an_old_preference_link_gives_no_consent(
        case: Withdrawn, workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve]) -> None:
    smtp = smtp_server()
    _point_at(workspace, smtp.port)
    _subscribed_long_ago(workspace)
    old_link = _token("preferences", case.list)  # in an email from before
    served = serve(send_greetings=True, greetings_retry_seconds=0.3)
    case.withdraw(workspace, served)
    _, given = _given(workspace, case.list)
    _tick(served, old_link, case.list)
    time.sleep(SETTLE_S)
    status, given_after = _given(workspace, case.list)
    assert (status, given_after) == (case.status, given)  # not subscribed: no new consent
    mailed = smtp.mailbox.messages()
    assert [m.rcpt_tos for m in mailed] == [(ANN,)] * case.mailed
    assert all(b"/newsletter/confirm/?token=" in m.data.replace(b"=\r\n", b"")
               for m in mailed)  # a confirmation, nothing else
    with Store.open(workspace / DATABASE) as store:
        waiting = [s.email for s in store.pending("leden")]
    assert waiting == ([ANN] if case.list == "leden" and case.status == "pending" else [])
    assert "Traceback" not in served.output()


def test_the_page_is_no_mail_cannon(workspace: Path, smtp_server: Callable[..., SmtpServer],
                                    serve: Callable[..., Serve]) -> None:
    """Leaving and ticking again in a loop sends web.confirmations_per_day emails, not one
    per tick, and never subscribes."""
    smtp = smtp_server()
    _point_at(workspace, smtp.port)
    _subscribed_long_ago(workspace)
    served = serve(send_greetings=True, greetings_retry_seconds=0.3, confirmations_per_day=1)
    link = _token("preferences", "nieuwsbrief")
    for _ in range(5):
        httpx.post(f"{served.url}/nl/newsletter/preferences/", params={"token": link},
                   data={"do": "leave"}, timeout=10).raise_for_status()
        _tick(served, link, "nieuwsbrief")
        time.sleep(0.4)
    time.sleep(SETTLE_S)
    assert _given(workspace, "nieuwsbrief") == ("pending", 1)
    assert smtp.mailbox.count() == 1
