"""The sample campaign, a store full of confirmed subscribers, and a sender to kill.

Imported by the send tests for the setup they share, and run as a script by the resume test::

    python tests/send_child.py WORKSPACE STORE HOST PORT [--connections 4] [--batch 8]
                               [--resend-unknown]

which delivers the sample campaign to every confirmed subscriber in STORE and prints the
:class:`~postduif.send.DeliveryReport` as JSON. The test SIGKILLs it part-way and runs it again.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from postduif.config import SmtpSettings
from postduif.render import Rendered
from postduif.send.compose import Composer
from postduif.send.job import SendJob, prepare_job
from postduif.store import Person, Store
from postduif.workspace import Workspace

CAMPAIGN = "2026-12-community-update"
LIST = "nieuwsbrief"
TOKEN_KEY = b"a test key that is long enough"
# Dutch and English names with characters that need encoding in a header.
FIRST_NAMES = ("Sanne", "Joël", "Ayşe", "Pieter", "Émilie", "Daan", "Noor", "Bram")
LAST_NAMES = ("de Vries", "Öztürk", "van den Berg", "Janssen", "Müller", "Bakker")


@dataclass(frozen=True)
class Campaign:
    """The send job (as the CLI prepares it) plus what the tests compare messages with."""

    job: SendJob
    rendered: dict[str, Rendered]

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def list(self) -> str:
        return self.job.list_def.name

    @property
    def sender(self) -> str:
        return self.job.envelope_from

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]

    @property
    def routing(self) -> Mapping[str, str]:
        return self.job.plan.routing

    @property
    def compose(self) -> Composer:
        return self.job.compose


def load_campaign(root: Path, name: str = CAMPAIGN) -> Campaign:
    ws = Workspace.open(root)
    job = prepare_job(ws, name, token_key=TOKEN_KEY)
    return Campaign(job, ws.render(job.plan))


def person(number: int, domain: str = "example.test") -> Person:
    """A made-up subscriber; every third one English, every seventh without a name."""
    language = "en" if number % 3 == 0 else "nl"
    if number % 7 == 0:
        return Person(email=f"lid{number:06d}@{domain}", language=language)
    return Person(email=f"lid{number:06d}@{domain}",
                  first_name=FIRST_NAMES[number % len(FIRST_NAMES)],
                  last_name=LAST_NAMES[number % len(LAST_NAMES)], language=language)


def add_subscribers(store: Store, people: Iterator[Person] | list[Person],
                    list: str = LIST) -> int:
    count = 0
    with store.transaction():
        for someone in people:
            store.join(someone, list=list, status="confirmed", event="confirmed",
                       source="test", consent_version="2026-11", default_language="nl")
            count += 1
    return count


def targets(store: Store, campaign: Campaign) -> Iterator[tuple[str, str, str]]:
    """(email, name, variant) for every confirmed member, streamed from the store."""
    return campaign.job.recipients(store)


def smtp_settings(host: str, port: int, *, connections: int = 4, timeout: float = 5.0,
                  username: str = "", batch: int = 8) -> SmtpSettings:
    return SmtpSettings(host=host, port=port, security="none", username=username,
                        password_env="POSTDUIF_TEST_SMTP_PASSWORD", timeout=timeout, ca_file="",
                        connections=connections, rate_per_second=0.0, rate_per_hour=0.0,
                        batch=batch)


def main(argv: list[str] | None = None) -> int:
    from postduif.send import RetryPolicy, SmtpTransport, deliver, start_campaign

    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("store", type=Path)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--resend-unknown", action="store_true")
    args = parser.parse_args(argv)
    campaign = load_campaign(args.workspace)
    with Store.open(args.store) as store:
        start_campaign(store, campaign.name, campaign.list, targets(store, campaign))
        transport = SmtpTransport(smtp_settings(args.host, args.port,
                                                connections=args.connections), password=None)
        report = asyncio.run(deliver(
            store, campaign.name, campaign.list, transport, campaign.compose,
            envelope_from=campaign.sender, resend_unknown=args.resend_unknown,
            batch=args.batch,
            retry=RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2)))
    print(json.dumps(dataclasses.asdict(report)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
