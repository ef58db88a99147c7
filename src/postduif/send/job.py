"""A send job: one campaign resolved, checked and rendered once, its recipients routed.

This is where a campaign meets the subscriber store. The campaign is planned and rendered
exactly as ``postduif build`` does it, and refused the same way when ``check`` finds errors;
each confirmed subscriber of the campaign's list is routed to a variant by their language
(``Plan.routing``), falling back to the default language for any language the site lacks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from postduif.audience.records import InvalidField, normalise_email
from postduif.build import checked_render, envelope
from postduif.campaign import Plan
from postduif.errors import SendError
from postduif.lists import ListDef
from postduif.message import review_message_id
from postduif.problems import Problem
from postduif.send.compose import Composer, DkimKey
from postduif.send.engine import deliver
from postduif.send.ledger import start_campaign
from postduif.send.model import DeliveryReport, Progress, Target
from postduif.send.outbox import OutboxReport, write_outbox
from postduif.send.ratelimit import RateLimit
from postduif.send.smtp import SmtpTransport
from postduif.send.transport import DeliveryFailure, Reply
from postduif.store import Store, Subscriber
from postduif.verp import ReturnPath, sending_return_path
from postduif.workspace import Workspace


@dataclass(frozen=True)
class SendJob:
    name: str
    plan: Plan
    list_def: ListDef
    compose: Composer
    envelope_from: str  # the plain return path: review copies (``send --to``) are not VERPed
    return_path: ReturnPath  # per message, VERP when ``[bounces] verp`` is on
    problems: tuple[Problem, ...]

    def variant_for(self, language: str) -> str:
        """The variant a subscriber with ``language`` gets (the default one if unknown)."""
        routing = self.plan.routing
        return routing.get(language) or next(iter(routing.values()))

    def recipients(self, store: Store) -> Iterator[tuple[str, str, str]]:
        """(email, name, variant) of every confirmed member, streamed from the store."""
        return self._routed(store.members(self.list_def.name, "confirmed"))

    def newcomers(self, store: Store) -> Iterator[tuple[str, str, str]]:
        """(email, name, variant) of confirmed members the started campaign does not have:
        they confirmed after its recipients were snapshotted."""
        return self._routed(store.members_not_in_ledger(self.name, self.list_def.name))

    def _routed(self, subscribers: Iterable[Subscriber]) -> Iterator[tuple[str, str, str]]:
        for subscriber in subscribers:
            membership = subscriber.membership(self.list_def.name)
            language = membership.language if membership else subscriber.language
            name = f"{subscriber.first_name} {subscriber.last_name}".strip()
            yield subscriber.email, name, self.variant_for(language)

    def review_targets(self, addresses: Iterable[str]) -> list[Target]:
        """One message per address and variant for reviewers, outside the ledger
        (``send --to``)."""
        return [Target(0, address, "", key) for address in addresses
                for key in self.plan.variants]


def prepare_job(ws: Workspace, campaign: str, *, token_key: bytes) -> SendJob:
    """Plan, check and render the campaign; errors stop the job before anything is sent."""
    plan, rendered, problems = checked_render(ws, campaign)
    list_def = ws.list_def(plan.campaign.list)
    env = envelope(ws, plan)
    compose = Composer(rendered, env, list_name=list_def.name,
                       unsubscribe_url=ws.settings.unsubscribe_url,
                       preferences_url=ws.settings.preferences_url,
                       base_url=ws.site.config.base_url, token_key=token_key,
                       dkim_key=DkimKey.from_settings(ws.settings))
    return_path = sending_return_path(ws.settings, token_key)
    return SendJob(plan.campaign.name, plan, list_def, compose, return_path.address,
                   return_path, problems)


def transport_for(ws: Workspace) -> SmtpTransport:
    """The SMTP transport from the workspace settings, password from the environment."""
    return SmtpTransport(ws.settings.smtp, password=ws.settings.smtp.password())


def dry_run(ws: Workspace, job: SendJob, store: Store) -> OutboxReport:
    """Every recipient's message as an .eml file in outbox/<campaign>/; no server, no ledger."""
    targets = (Target(number, email, name, variant) for number, (email, name, variant)
               in enumerate(job.recipients(store), start=1))
    return write_outbox(ws.settings.outbox_dir / job.name, targets, job.compose)


async def review_send(ws: Workspace, job: SendJob,
                      addresses: Sequence[str]) -> list[tuple[str, str, Reply]]:
    """One message per variant to each reviewer; not recorded as delivery.

    Every address is checked before anything is sent: a server may answer 250 to anything,
    which would look like a review copy sent to ``not-an-address``. Each copy has a Message-ID
    of its own (receivers drop a second message with an ID they have seen, so the English copy
    after the Dutch one, or a second round of review, would vanish). Returns ``(address as
    given, variant, reply)`` per copy; an address given twice gets its copies once.
    """
    given: dict[str, str] = {}  # checked address -> as first given, in the order given
    for address in addresses:
        given.setdefault(_review_address(address), address)
    transport = transport_for(ws)
    await transport.check()
    replies: list[tuple[str, str, Reply]] = []
    async with transport.connection() as connection:
        for target in job.review_targets(given):
            raw = job.compose(target, msgid=review_message_id(job.name, target.variant,
                                                              ws.settings.sender.domain))
            try:
                reply = await connection.send(job.envelope_from, target.email, raw)
            except DeliveryFailure as exc:  # a refusal, or needs SMTPUTF8: one Error: line
                raise SendError(f"--to {given[target.email]}: the {target.variant} copy was "
                                f"not sent ({len(replies)} sent before it): {exc}") from None
            replies.append((given[target.email], target.variant, reply))
    return replies


def _review_address(address: str) -> str:
    try:
        return normalise_email(address)
    except InvalidField as exc:
        raise SendError(f"--to {address!r} is not an email address ({exc.reason}); "
                        "nothing was sent") from None


def planned(job: SendJob, store: Store) -> Counter[str]:
    """Messages per variant a start would queue now, counted without writing anything: the
    organiser sees them before saying yes, and a no leaves no trace."""
    return Counter(variant for _, _, variant in job.recipients(store))


def newcomers(job: SendJob, store: Store) -> Counter[str]:
    """Per variant, confirmed members a started campaign does not have yet (not written)."""
    return Counter(variant for _, _, variant in job.newcomers(store))


def start(job: SendJob, store: Store) -> int:
    """Snapshot the recipients into the ledger the first time; a resume keeps the snapshot."""
    return start_campaign(store, job.name, job.list_def.name, job.recipients(store))


def add_newcomers(job: SendJob, store: Store) -> int:
    """Queue the members who confirmed since the campaign started (``send --add-new``).

    Only members confirmed now are added, and each claim checks the membership again, so
    someone who left since is never mailed.
    """
    return store.add_to_ledger(job.name, job.newcomers(store))


async def deliver_job(ws: Workspace, job: SendJob, store: Store, *, resend_unknown: bool,
                      stop: asyncio.Event | None = None,
                      progress: Callable[[Progress], None] | None = None) -> DeliveryReport:
    smtp = ws.settings.smtp
    return await deliver(store, job.name, job.list_def.name, transport_for(ws), job.compose,
                         envelope_from=job.return_path.for_message,
                         resend_unknown=resend_unknown,
                         rate=RateLimit(smtp.rate_per_second, smtp.rate_per_hour),
                         batch=smtp.batch, stop=stop, progress=progress)
