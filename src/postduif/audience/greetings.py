"""``postduif welcome``: confirmation and welcome emails, each sent at most once.

Pending members of double opt-in lists get the confirmation email (with their signed confirm
link); confirmed or approved members who never had one get the welcome email; each in their
own language. The store records each email *before* it goes out (a claim that only one
process can win: ``postduif serve`` sends them too) and takes the record back only when the
server clearly refused it, so a crash can lose a welcome but never send one twice. Until the
server's 250 the record is marked uncertain: a run killed in between, or a connection lost
after DATA, leaves the mark, ``subscribers show`` says the email may not have arrived, and
``welcome --resend-unknown`` sends it again. An address
the server says does not exist (5.1.x) is marked bounced, so it is not tried every round. Each
(template, list, language) is rendered once and personalised per person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from postduif.audience.tokens import fill_link, make_token
from postduif.errors import PostduifError
from postduif.lists import ListDef
from postduif.message import Envelope, MessageTemplate, Recipient, message_id_key
from postduif.render import EmailContext, Rendered
from postduif.send.compose import PREFERENCES_TTL, UNSUBSCRIBE_TTL, DkimKey, dkim_signed
from postduif.send.model import Target, cannot_compose
from postduif.send.outbox import OutboxReport, write_outbox
from postduif.send.replies import Verdict, judge
from postduif.send.transport import DeliveryFailure, PermanentFailure, Transport, Unknown
from postduif.store import Store
from postduif.verp import ReturnPath
from postduif.workspace import Workspace

CONFIRM_TTL = timedelta(days=14)
KINDS = ("confirmation", "welcome")


@dataclass(frozen=True)
class Greeting:
    """One email that is due: which kind, to whom, for which list, in which language."""

    kind: str
    email: str
    name: str
    list: str
    lang: str
    resend: bool = False  # recorded as sent once, but it may not have arrived
    subscriber_id: int = 0  # for its VERP return path (``postduif.verp``)


@dataclass
class WelcomeReport:
    sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    failed: list[tuple[Greeting, str]] = field(default_factory=list)
    unknown: int = 0  # of the failed: recorded as sent, arrival uncertain


def due(store: Store, lists: list[ListDef], *,
        resend_unknown: bool = False) -> Iterator[Greeting]:
    """Every confirmation and welcome email not sent yet, list by list; with
    ``resend_unknown`` also those recorded as sent whose arrival is uncertain.

    Pending members of every list without approval get one: on a single opt-in list only
    someone who ticked it again on the preference page is pending, and that asks for a new
    confirmation whatever the list's opt-in (:func:`postduif.audience.membership.ask_again`).
    """
    for list_def in lists:
        if not list_def.approval:
            yield from _due(store, list_def, "pending", "confirmation", resend_unknown)
        yield from _due(store, list_def, "confirmed", "welcome", resend_unknown)


def _due(store: Store, list_def: ListDef, status: str, kind: str,
         resend_unknown: bool) -> Iterator[Greeting]:
    for subscriber in store.members(list_def.name, status):
        membership = subscriber.membership(list_def.name)
        if membership is None:
            continue
        already = membership.confirmation_sent_at if kind == "confirmation" \
            else membership.welcomed_at
        resend = resend_unknown and membership.uncertain(kind) is not None
        if already is None or resend:
            name = f"{subscriber.first_name} {subscriber.last_name}".strip()
            yield Greeting(kind, subscriber.email, name, list_def.name,
                           membership.language or list_def.default_language, resend=resend,
                           subscriber_id=subscriber.id)


class Greeter:
    """Renders each (kind, list, language) email once and personalises it per person."""

    def __init__(self, ws: Workspace, lists: dict[str, ListDef], token_key: bytes) -> None:
        self.ws = ws
        self.lists = lists
        self.token_key = token_key
        self.dkim_key = DkimKey.from_settings(ws.settings)  # signed like the campaigns
        self._templates: dict[tuple[str, str, str], MessageTemplate] = {}

    def compose(self, greeting: Greeting) -> bytes:
        settings = self.ws.settings

        base_url = self.ws.site.config.base_url

        def token(action: str, ttl: timedelta) -> str:
            return make_token(self.token_key, action=action, email=greeting.email,
                              list=greeting.list, ttl=ttl)

        def link(url: str, action: str, ttl: timedelta) -> str:
            return fill_link(url, token(action, ttl), base_url=base_url, lang=greeting.lang)

        # Someone not yet confirmed has no preferences to manage: the confirmation email
        # offers only the confirm link, the welcome email the preference page.
        confirmation = greeting.kind == "confirmation"
        confirm = link(settings.confirm_url, "confirm", CONFIRM_TTL) if confirmation else ""
        preferences = ("" if confirmation
                       else link(settings.preferences_url, "preferences", PREFERENCES_TTL))
        unsubscribe = token("unsubscribe", UNSUBSCRIBE_TTL)  # the link's and the mailto's
        raw = self._template(greeting).render(
            Recipient(greeting.email, greeting.name, greeting.lang),
            unsubscribe_url=fill_link(settings.unsubscribe_url, unsubscribe, base_url=base_url,
                                      lang=greeting.lang),
            unsubscribe_token=unsubscribe, confirm_url=confirm, preferences_url=preferences)
        return dkim_signed(raw, self.dkim_key) if self.dkim_key else raw

    def _template(self, g: Greeting) -> MessageTemplate:
        key = (g.kind, g.list, g.lang)
        if key not in self._templates:
            list_def = self.lists[g.list]
            rendered = self._render(list_def, g.kind, g.lang)
            envelope = Envelope.for_list(f"{g.kind}-{g.list}", self.ws.settings.sender,
                                         list_def, g.lang,
                                         unsubscribe_mailbox=self.ws.settings.return_path,
                                         id_key=message_id_key(self.token_key))
            self._templates[key] = MessageTemplate(rendered, envelope)
        return self._templates[key]

    def _render(self, list_def: ListDef, kind: str, lang: str) -> Rendered:
        renderer = self.ws.renderer
        strings = renderer.strings.get(lang) or renderer.strings[list_def.default_language]
        site = self.ws.site.config
        site_title = site.titles.get(lang, "")
        template = (list_def.confirm_template if kind == "confirmation"
                    else list_def.welcome_template)
        subject = str(strings[_heading(template, kind, strings)]).format(
            site=site_title, list=list_def.title(lang))
        sender = self.ws.settings.sender
        return renderer.render(EmailContext(
            template=template, lang=lang, subject=subject, preheader="", sections=(),
            sender_name=sender.name, sender_email=sender.email, contact_email=sender.contact,
            postal_address=sender.postal_address, site_title=site_title,
            site_url=site.home_url(lang), list_title=list_def.title(lang)))


def _heading(template: str, kind: str, strings: Mapping[str, object]) -> str:
    """The strings key of a greeting's subject: the template's own heading
    (``welcome-newsletter`` -> ``welcome_newsletter_heading``), so the subject says what the
    email does; a template without words of its own gets its kind's general heading."""
    own = template.replace("-", "_") + "_heading"
    return own if own in strings else (
        "confirm_heading" if kind == "confirmation" else "welcome_heading")


def write_greetings(directory: Path, greeter: Greeter,
                    greetings: Iterator[Greeting]) -> OutboxReport:
    """The dry run: each due email as an .eml file; nothing is recorded as sent."""
    todo = list(greetings)
    targets = [Target(n, g.email, g.name, f"{g.kind}-{g.list}-{g.lang}")
               for n, g in enumerate(todo)]
    return write_outbox(directory, targets, lambda t: greeter.compose(todo[t.id]))


async def send_greetings(store: Store, greeter: Greeter, transport: Transport,
                         greetings: Iterator[Greeting], *, envelope_from: str | ReturnPath,
                         on_sent: Callable[[Greeting], None] | None = None) -> WelcomeReport:
    """Send each due email once: recorded before DATA, the record undone on a clear refusal.

    ``envelope_from`` is the MAIL FROM address, or the return path that gives each greeting
    its own (VERP).
    """
    report = WelcomeReport()
    todo = list(greetings)
    if not todo:
        return report
    await transport.check()
    async with transport.connection() as connection:
        for greeting in todo:
            try:
                message = greeter.compose(greeting)
            except PostduifError:
                raise  # the DKIM key, a template: everyone's, not this greeting's
            except Exception as exc:  # noqa: BLE001 - this person's email, not the others'
                report.failed.append((greeting, f"not sent: {cannot_compose(exc)}"))
                continue
            claim = store.claim_resend if greeting.resend else store.claim_sent
            if not claim(greeting.email, greeting.list, greeting.kind):
                continue  # another process (serve, or a cron run) sent it meanwhile
            try:
                await connection.send(_sender(envelope_from, greeting), greeting.email,
                                      message)
            except Unknown as exc:  # stays claimed and marked uncertain
                report.failed.append((greeting, f"unknown, may not have arrived: {exc}"))
                report.unknown += 1
                continue
            except PermanentFailure as exc:
                if judge(exc) is Verdict.BOUNCE:  # the address does not exist: stop trying
                    store.set_status(greeting.email, greeting.list, "bounced", event="bounced",
                                     source=f"smtp: {exc}")
                    report.failed.append((greeting, f"bounced, not retried: {exc}"))
                    continue
                store.clear_sent(greeting.email, greeting.list, greeting.kind)
                report.failed.append((greeting, str(exc)))
                continue
            except DeliveryFailure as exc:
                store.clear_sent(greeting.email, greeting.list, greeting.kind)
                report.failed.append((greeting, str(exc)))
                continue
            store.delivered(greeting.email, greeting.list, greeting.kind)
            report.sent[greeting.kind] += 1
            if on_sent:
                on_sent(greeting)
    return report


def _sender(envelope_from: str | ReturnPath, greeting: Greeting) -> str:
    if isinstance(envelope_from, str):
        return envelope_from
    return envelope_from.for_greeting(greeting.kind, greeting.subscriber_id, greeting.list)
