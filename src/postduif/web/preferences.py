"""The preference page behind the link beside "unsubscribe" in every newsletter's footer.

Routes (registered by :func:`postduif.web.app.create_app`)::

    GET  /{lang}/newsletter/preferences/?token=T   the page, in {lang} (the email's language)
    POST /{lang}/newsletter/preferences/?token=T   saves the form; answers in the chosen language

The page shows the address, its language (one radio button per language of strings.toml, each
named in its own language), every list the person is on (a ticked box for a confirmed
membership, an empty one after unsubscribing; lists that cannot change are shown disabled with
the reason), a save button and "unsubscribe from everything". As with the other links in
emails, a GET never changes anything (mail scanners fetch every link) and the token travels in
the query string; the form fields come in the body.

What a change may do (what "everything" covers; that ticking a list again only asks for it:
a confirmation email, or an organiser's review) is decided in
:mod:`postduif.audience.membership`, and every change reaches the consent log through the
store; the answer page says what happens next, and the greeting worker is woken for the email.
This module knows the app only through the :class:`Site` it is handed and the two page helpers
``create_app`` passes in (so both share one look and one set of headers), and so imports nothing
from :mod:`postduif.web.app`: no import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from postduif.audience.membership import (
    choices,
    current_language,
    save_preferences,
    unsubscribe_all,
)
from postduif.audience.tokens import read_token
from postduif.errors import TokenError
from postduif.lists import ListDef
from postduif.render.strings import Strings
from postduif.store import Store
from postduif.web.guard import TooLarge, capped_body

#: Every interface string these pages use; ``create_app`` checks them when it starts.
PREFERENCE_KEYS = (
    "language_name", "web_back", "web_too_large_title", "web_too_large",
    "web_preferences_title", "web_preferences_intro", "web_preferences_language",
    "web_preferences_lists", "web_preferences_save", "web_preferences_leave",
    "web_preferences_leave_button", "web_preferences_fixed_pending",
    "web_preferences_fixed_rejected", "web_preferences_fixed_bounced",
    "web_preferences_fixed_complained", "web_preferences_fixed_rejoin",
    "web_preferences_fixed_suppressed",
    "web_preferences_done_title", "web_preferences_done_language",
    "web_preferences_done_unsubscribed", "web_preferences_done_confirm",
    "web_preferences_done_review",
    "web_preferences_unchanged", "web_preferences_left_title", "web_preferences_left",
    "web_preferences_again", "web_preferences_forgotten_title", "web_preferences_forgotten",
)
#: The form holds a language, a button and two fields per list: a few hundred bytes. A larger
#: body is refused before it is held in memory.
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 200
SOURCE = "web:preferences"
_FORM = "application/x-www-form-urlencoded"

_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "assets"),
                         autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                         lstrip_blocks=True)


class Site(Protocol):
    """What the page needs of the app's state (``postduif.web.app.WebState`` fits)."""

    @property
    def key(self) -> bytes: ...
    @property
    def lists(self) -> Mapping[str, ListDef]: ...
    @property
    def strings(self) -> Mapping[str, Strings]: ...
    @property
    def site_name(self) -> str: ...
    @property
    def homes(self) -> Mapping[str, str]: ...
    @property
    def resend_after(self) -> timedelta | None: ...
    def store(self) -> AbstractContextManager[Store]: ...
    def title(self, list_name: str, lang: str) -> str: ...
    def wake_greetings(self) -> None: ...


class MessagePage(Protocol):
    """The app's one-paragraph page (``_page`` with the site bound)."""

    def __call__(self, lang: str, title: str, text: str, *, status: int = 200,
                 detail: str = "") -> Response: ...


class LinkError(Protocol):
    """The app's invalid-link page (``_link_error`` with the site bound)."""

    def __call__(self, lang: str, exc: TokenError) -> Response: ...


@dataclass(frozen=True)
class Preferences:
    """The endpoint: ``await Preferences(...)(site, request, lang)``."""

    page: MessagePage
    link_error: LinkError
    headers: Mapping[str, str]

    async def __call__(self, site: Site, request: Request, lang: str) -> Response:
        token = request.query_params.get("token", "")
        if request.method != "POST":
            return await run_in_threadpool(self.show, site, lang, token)
        try:
            form = await _form(request)
        except TooLarge:
            t = site.strings[lang]
            return self.page(lang, str(t["web_too_large_title"]), str(t["web_too_large"]),
                             status=413)
        return await run_in_threadpool(self.save, site, lang, token, form)

    def show(self, site: Site, lang: str, token: str) -> Response:
        """The form; changes nothing."""
        try:
            email, list_name = read_token(site.key, token, action="preferences")
        except TokenError as exc:
            return self.link_error(lang, exc)
        with site.store() as store:
            subscriber = store.get(email)
            suppressed = store.is_suppressed(email)
        if subscriber is None:
            return self._forgotten(site, lang, email)
        t = site.strings[lang]
        rows = [{"name": c.list, "title": site.title(c.list, lang), "checked": c.subscribed,
                 "note": str(t[f"web_preferences_fixed_{c.fixed}"]) if c.fixed else ""}
                for c in choices(subscriber, site.lists, list_name, suppressed=suppressed)]
        language = current_language(subscriber, list_name)
        return self._render(site, lang, "preferences.html.j2", t["web_preferences_title"],
                            intro=str(t["web_preferences_intro"]).format(email=subscriber.email),
                            languages=[(code, str(table["language_name"]))
                                       for code, table in site.strings.items()],
                            language=language if language in site.strings else lang,
                            lists=rows, action=_link(lang, token))

    def save(self, site: Site, lang: str, token: str, form: list[tuple[str, str]]) -> Response:
        """Apply the form (or leave everything) and say what changed, in the new language."""
        try:
            email, list_name = read_token(site.key, token, action="preferences")
        except TokenError as exc:
            return self.link_error(lang, exc)
        first = dict(reversed(form))  # the first of a repeated field, as app.py reads forms
        with site.store() as store, store.transaction():
            if store.get(email) is None:
                return self._forgotten(site, lang, email)
            if first.get("do") == "leave":
                left = unsubscribe_all(store, email, site.lists, link_list=list_name,
                                       source=f"{SOURCE} all")
                return self._done(site, lang, token, "web_preferences_left_title",
                                  [str(site.strings[lang]["web_preferences_left"]).format(
                                      email=email)] if left else [], unsubscribed=left)
            chosen = first.get("language", "")
            changes = save_preferences(
                store, email, site.lists, link_list=list_name,
                language=chosen if chosen in site.strings else "",
                subscribed={value for name, value in form if name == "list"},
                shown={value for name, value in form if name == "shown"},
                resend_after=site.resend_after, source=SOURCE)
        if changes.to_confirm:
            site.wake_greetings()  # the confirmation email is due now
        new_lang = changes.language or lang
        lines = [str(site.strings[new_lang]["web_preferences_done_language"])] \
            if changes.language else []
        return self._done(site, new_lang, token, "web_preferences_done_title", lines,
                          unsubscribed=changes.unsubscribed, confirm=changes.to_confirm,
                          review=changes.to_review)

    def _done(self, site: Site, lang: str, token: str, title: str, lines: list[str], *,
              unsubscribed: tuple[str, ...] | list[str] = (), confirm: tuple[str, ...] = (),
              review: tuple[str, ...] = ()) -> Response:
        """The answer page: each change on its own line (a ticked list says what comes next:
        a confirmation email, or an organiser's review)."""
        t = site.strings[lang]
        lines = lines + [
            str(t[f"web_preferences_done_{what}"]).format(list=site.title(name, lang))
            for what, names in (("unsubscribed", unsubscribed), ("confirm", confirm),
                                ("review", review))
            for name in names]
        return self._render(site, lang, "preferences_done.html.j2", t[title], lines=lines,
                            again=_link(lang, token))

    def _forgotten(self, site: Site, lang: str, email: str) -> Response:
        t = site.strings[lang]
        return self.page(lang, str(t["web_preferences_forgotten_title"]),
                         str(t["web_preferences_forgotten"]).format(email=email))

    def _render(self, site: Site, lang: str, template: str, title: object,
                **values: object) -> Response:
        html = _templates.get_template(template).render(
            lang=lang, site_name=site.site_name, title=str(title), t=site.strings[lang],
            home=site.homes[lang], **values)
        return HTMLResponse(html, headers=dict(self.headers))


def _link(lang: str, token: str) -> str:
    """This page in ``lang``, relative to the host: where the forms post, and the way back."""
    return f"/{lang}/newsletter/preferences/?token={quote(token, safe='')}"


async def _form(request: Request) -> list[tuple[str, str]]:
    """The form's fields in order, read at most MAX_FORM_BYTES far; anything that is not a
    URL-encoded form counts as an empty one (so it changes nothing)."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    body = await capped_body(request, MAX_FORM_BYTES)
    if kind != _FORM:
        return []
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                         max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return []
