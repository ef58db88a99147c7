"""The public web app: explicit Starlette routes for the links in emails and the site's forms.

Routes (``{lang}`` is a language of ``templates/strings.toml``; pages are in that language)::

    GET  /{lang}/newsletter/unsubscribe/?token=T   "Unsubscribe <email> from <list>?" + button
    POST /{lang}/newsletter/unsubscribe/?token=T   unsubscribes (the button, or RFC 8058 one-click)
    GET  /{lang}/newsletter/confirm/?token=T       "Confirm <email> for <list>?" + button
    POST /{lang}/newsletter/confirm/?token=T       confirms (double opt-in)
    GET  /{lang}/newsletter/preferences/?token=T   language and lists (postduif.web.preferences)
    POST /{lang}/newsletter/preferences/?token=T   saves them, or unsubscribes from everything
    POST /{lang}/newsletter/subscribe              form field ``email``: pending on the newsletter
    GET  /{lang}/newsletter/subscribed/            "check your inbox", where a plain form post goes
    POST /{lang}/join                              the join form's JSON: pending on the members list
    OPTIONS the two form endpoints                 the CORS preflight (see guard.py)

The site is static and on another host name, so its forms post here cross-origin. Every form
request passes the guards first: an Origin that is not allowed gets 403 (no CORS headers), a
client over the rate limit 429. A JSON request gets a JSON answer; a plain form post (no
JavaScript) gets a 303 to the success page or an error page in the language of the URL. A
filled-in honeypot field gets the success answer and nothing is stored: a bot learns nothing.

A GET never changes anything: mail scanners and link previews fetch every link in an email.
The token travels in the query string on the POST too, because that is where RFC 8058 mail
clients put it (they POST to the List-Unsubscribe URL with a body we need not read).

Sign-ups answer the same whatever the address's history, so the forms cannot be used to find
out who is on a list; what a sign-up changes is
:func:`postduif.audience.membership.sign_up`'s business.
When ``web.send_greetings`` is on, a :class:`~postduif.web.greetings.GreetingWorker` sends the
confirmation email within seconds of the sign-up (see :mod:`postduif.web.greetings`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from postduif.audience.joins import join_request
from postduif.audience.membership import confirm, sign_up, unsubscribe
from postduif.audience.records import InvalidField, normalise_email, refuse_lookalike
from postduif.audience.tokens import read_token, token_key
from postduif.errors import ConfigError, StoreError, TokenError
from postduif.lists import ListDef, available_lists
from postduif.render.strings import Strings, load_strings
from postduif.send.smtp import SmtpTransport
from postduif.store import Membership, Person, Store
from postduif.web.greetings import GreetingWorker, log
from postduif.web.guard import (
    Clock,
    Guard,
    TooLarge,
    TooSlow,
    capped_body,
    caught_by_honeypot,
    client_address,
    proxy_middleware,
    retry_after,
)
from postduif.web.preferences import PREFERENCE_KEYS, Preferences
from postduif.workspace import Workspace

#: The list the join form adds people to. A constant, not a setting: the site has one join
#: form, and the organisers' approval step (``approval = true`` in lists/leden.toml) is what
#: makes joining safe, so another list here would need another review anyway.
MEMBERS_LIST = "leden"
#: The list the newsletter form adds people to; one list, with the language per membership.
NEWSLETTER_LIST = "nieuwsbrief"
#: Largest request body read. A join request with the longest allowed texts, escaped as JSON,
#: stays well below it; anything bigger is refused before it is held in memory.
MAX_BODY_BYTES = 64 * 1024
#: Deepest nesting of arrays and objects read from a JSON body. The site's forms send one flat
#: object; the limit keeps a body of 60,000 ``[`` from reaching Python's recursion limit.
MAX_JSON_DEPTH = 20
#: Every interface string the pages use; checked when the app starts, not when a page fails.
PAGE_KEYS = (
    "web_back", "web_unsubscribe_title", "web_unsubscribe_question", "web_unsubscribe_button",
    "web_unsubscribe_done_title", "web_unsubscribe_done", "web_confirm_title",
    "web_confirm_question", "web_confirm_button", "web_confirm_done_title", "web_confirm_done",
    "web_confirm_refused", "web_link_invalid_title", "web_link_invalid",
    "web_subscribe_invalid_title",
    "web_subscribe_invalid", "web_too_large_title", "web_too_large", "web_not_found_title",
    "web_not_found", "web_busy_title", "web_busy",
    "web_too_many_title", "web_too_many", "web_forbidden_title", "web_forbidden",
    "web_join_invalid_title", "web_join_invalid", "web_subscribed_title", "web_subscribed",
)
#: Outcomes of a sign-up worth a line in serve's log: the address stays out.
KEPT_OUT = frozenset({"suppressed", "rejected", "bounced", "complained"})
#: Pages carry an address and their URL a token: keep them out of caches, logs of other
#: sites (Referer) and search engines, and let them load nothing from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
#: Field names as the join form sends them, for error answers the site's script can match.
FORM_FIELDS = {"first_name": "firstName", "last_name": "lastName"}
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"

_assets = Path(__file__).parent / "assets"
_templates = Environment(loader=FileSystemLoader(_assets), autoescape=True,
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


class _Refused(Exception):
    """A form request we will not take: wrong origin, too many, too big, not JSON or a form."""

    def __init__(self, status: int, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class WebState:
    """What every request needs, read once when the app starts."""

    database: Path
    key: bytes
    lists: Mapping[str, ListDef]
    strings: Mapping[str, Strings]
    site_name: str
    base_url: str  # the site's, ending in "/"
    homes: Mapping[str, str]  # language -> the site's home page in it, for the "back" link
    guard: Guard
    join_success: str  # where a plain join form post goes, per language
    subscribe_success: str  # where a plain newsletter form post goes; "": our own page
    resend_after: timedelta | None  # least time between two confirmation emails to one address
    greetings: GreetingWorker | None  # None: ``postduif welcome`` (cron) sends them

    @classmethod
    def load(cls, ws: Workspace, *, clock: Clock = time.monotonic,
             send_greetings: bool | None = None) -> WebState:
        """Check everything the app relies on, so a missing piece stops it starting."""
        settings = ws.settings
        key = token_key(settings.token_key_env)
        lists = {name: ws.list_def(name) for name in available_lists(settings.lists_dir)}
        for name in (MEMBERS_LIST, NEWSLETTER_LIST):
            if name not in lists:
                ws.list_def(name)  # raises the ConfigError that names the known lists
        path = settings.templates_dir / "strings.toml"
        strings = load_strings(path)
        for lang, table in strings.items():
            missing = [k for k in dict.fromkeys((*PAGE_KEYS, *PREFERENCE_KEYS))
                       if k not in table]
            if missing:
                raise ConfigError(f"[{lang}] lacks the web page strings {', '.join(missing)}",
                                  path=path, hint="copy them from postduif's sample workspace")
        Store.open(settings.database).close()  # applies migrations; a bad store fails now
        per_day = settings.web.confirmations_per_day
        worker = None
        if settings.web.send_greetings if send_greetings is None else send_greetings:
            worker = GreetingWorker(
                ws, lists, key, lambda: SmtpTransport(settings.smtp,
                                                      password=settings.smtp.password()),
                retry_seconds=settings.web.greetings_retry_seconds)
        config = ws.site.config
        return cls(settings.database, key, lists, strings, settings.sender.name,
                   config.base_url, {lang: config.home_url(lang) for lang in strings},
                   Guard(settings.web, config.base_url, clock=clock),
                   settings.web.join_success, settings.web.subscribe_success,
                   timedelta(days=1) / per_day if per_day else None, worker)

    def wake_greetings(self) -> None:
        """A sign-up or confirmation may have made an email due: send it now, not at cron."""
        if self.greetings is not None:
            self.greetings.wake()

    def store(self) -> AbstractContextManager[Store]:
        """A connection for one request: a Store must not be shared between threads."""
        return Store.open(self.database)

    def title(self, list_name: str, lang: str) -> str:
        list_def = self.lists.get(list_name)
        return list_def.title(lang) if list_def else list_name


def create_app(ws: Workspace, *, clock: Clock = time.monotonic,
               send_greetings: bool | None = None) -> Starlette:
    """The web app of ``ws``; raises a PostduifError (no token key, no list) instead of starting.

    ``clock`` (seconds, monotonic) drives the rate limits; tests pass one they can move.
    ``send_greetings`` overrides ``web.send_greetings`` (tests that look at the store alone
    switch the background sender off).
    """
    site = WebState.load(ws, clock=clock, send_greetings=send_greetings)
    routes = [
        Route("/{lang}/newsletter/unsubscribe/", _endpoint(site, _unsubscribe),
              methods=["GET", "POST"]),
        Route("/{lang}/newsletter/confirm/", _endpoint(site, _confirm), methods=["GET", "POST"]),
        Route("/{lang}/newsletter/preferences/", _endpoint(site, Preferences(
            partial(_page, site), partial(_link_error, site), PAGE_HEADERS)),
            methods=["GET", "POST"]),
        Route("/{lang}/newsletter/subscribe", _form(site, _subscribe, json_default=False,
                                                    invalid="subscribe_invalid"),
              methods=["POST", "OPTIONS"]),
        Route("/{lang}/newsletter/subscribed/", _endpoint(site, _subscribed), methods=["GET"]),
        Route("/{lang}/join", _form(site, _join, json_default=True, invalid="join_invalid"),
              methods=["POST", "OPTIONS"]),
    ]
    return Starlette(routes=routes, middleware=proxy_middleware(ws.settings.web.trusted_proxies),
                     lifespan=_lifespan(site),
                     exception_handlers={404: _not_found(site), StoreError: _busy(site),
                                         ClientDisconnect: _gone, TooSlow: _too_slow})


def _lifespan(site: WebState) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Run the greeting worker for as long as the app serves."""
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(site.greetings.run()) if site.greetings else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()

    return lifespan


Handler = Callable[[WebState, Request, str], Awaitable[Response]]


def _endpoint(site: WebState, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Bind ``site`` and check the language; an unknown language is a page that does not exist."""
    async def endpoint(request: Request) -> Response:
        lang = request.path_params["lang"]
        if lang not in site.strings:
            raise HTTPException(404)
        return await handler(site, request, lang)

    return endpoint


# ---------------------------------------------------------------------------- pages


def _page(site: WebState, lang: str, title: str, text: str, *, status: int = 200,
          detail: str = "", action: str = "", button: str = "") -> HTMLResponse:
    """One page: a heading, a paragraph, maybe a detail line and a form with one button."""
    t = site.strings[lang]
    html = _templates.get_template("page.html.j2").render(
        lang=lang, site_name=site.site_name, title=title, text=text, detail=detail,
        action=action, button=button, back=str(t["web_back"]), home=site.homes[lang])
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _say(site: WebState, lang: str, name: str, slots: Mapping[str, str] | None = None, *,
         status: int = 200, detail: str = "") -> HTMLResponse:
    """The page whose texts are ``web_<name>_title`` and ``web_<name>``, slots filled in."""
    t = site.strings[lang]
    text = str(t[f"web_{name}"]).format(**(slots or {}))
    return _page(site, lang, str(t[f"web_{name}_title"]), text,
                 status=status, detail=detail)


def _link_error(site: WebState, lang: str, exc: TokenError) -> HTMLResponse:
    detail = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    return _say(site, lang, "link_invalid", status=400, detail=detail)


def _not_found(site: WebState) -> Callable[[Request, Exception], Response]:
    def handler(request: Request, exc: Exception) -> Response:
        first = request.url.path.strip("/").split("/")[0]
        lang = first if first in site.strings else next(iter(site.strings))
        return _say(site, lang, "not_found", status=404)

    return handler


def _gone(request: Request, exc: Exception) -> Response:
    """The client left in the middle of its body: nobody receives this, and nothing is logged
    (a traceback per request would let anyone flood serve's log)."""
    return Response(status_code=400, headers={"Connection": "close"})


def _too_slow(request: Request, exc: Exception) -> Response:
    """The body trickled in for longer than BODY_SECONDS: the connection is not kept."""
    return Response("the request body took too long\n", status_code=408,
                    headers={"Connection": "close"}, media_type="text/plain")


def _busy(site: WebState) -> Callable[[Request, Exception], Response]:
    """The store stayed locked (a long import) or changed under us: ask to come back later.

    For the links in emails; the form endpoints answer this themselves, in JSON where asked.
    """
    def handler(request: Request, exc: Exception) -> Response:
        lang = request.path_params.get("lang", "")
        return _say(site, lang if lang in site.strings else next(iter(site.strings)), "busy",
                    status=503)

    return handler


def _membership(store: Store, email: str, list_name: str) -> Membership | None:
    subscriber = store.get(email)
    return subscriber.membership(list_name) if subscriber else None


# ---------------------------------------------------------------------------- links in emails


async def _unsubscribe(site: WebState, request: Request, lang: str) -> Response:
    token = request.query_params.get("token", "")
    return await run_in_threadpool(_unsubscribe_now, site, lang, token,
                                   request.method == "POST", _self_url(request, token))


def _unsubscribe_now(site: WebState, lang: str, token: str, post: bool, url: str) -> Response:
    """Ask on GET, act on POST; a second POST (or one for a forgotten address) changes nothing."""
    try:
        email, list_name = read_token(site.key, token, action="unsubscribe")
    except TokenError as exc:
        return _link_error(site, lang, exc)
    slots = {"email": email, "list": site.title(list_name, lang)}
    with site.store() as store:
        membership = _membership(store, email, list_name)
        if membership is not None and membership.status != "unsubscribed":
            if not post:
                t = site.strings[lang]
                return _page(site, lang, str(t["web_unsubscribe_title"]),
                             str(t["web_unsubscribe_question"]).format(**slots), action=url,
                             button=str(t["web_unsubscribe_button"]))
            unsubscribe(store, email, [list_name], source="web:unsubscribe")
    return _say(site, lang, "unsubscribe_done", slots)


async def _confirm(site: WebState, request: Request, lang: str) -> Response:
    token = request.query_params.get("token", "")
    return await run_in_threadpool(_confirm_now, site, lang, token, request.method == "POST",
                                   _self_url(request, token))


def _confirm_now(site: WebState, lang: str, token: str, post: bool, url: str) -> Response:
    """Ask on GET, confirm on POST; confirming twice is fine, re-subscribing a leaver is not."""
    try:
        email, list_name = read_token(site.key, token, action="confirm")
    except TokenError as exc:
        return _link_error(site, lang, exc)
    slots = {"email": email, "list": site.title(list_name, lang)}
    t = site.strings[lang]
    with site.store() as store:
        membership = _membership(store, email, list_name)
        status = membership.status if membership else None
        if status == "pending" and not post:
            return _page(site, lang, str(t["web_confirm_title"]),
                         str(t["web_confirm_question"]).format(**slots), action=url,
                         button=str(t["web_confirm_button"]))
        if status in ("pending", "confirmed"):
            confirm(store, site.key, token, dict(site.lists), source="web:confirm")
            site.wake_greetings()  # the welcome email is due now
            return _say(site, lang, "confirm_done", slots)
    return _page(site, lang, str(t["web_confirm_title"]),
                 str(t["web_confirm_refused"]).format(**slots), status=409)


def _self_url(request: Request, token: str) -> str:
    """Where the page's button posts: this path with the token, relative to the host."""
    return f"{request.url.path}?token={quote(token, safe='')}"


# ---------------------------------------------------------------------------- forms


#: Pages for refusals that are the same for both forms, by status.
_REFUSAL_PAGES = {403: "forbidden", 413: "too_large", 429: "too_many"}

FormHandler = Callable[[WebState, Request, str, str], Awaitable[Response]]


def _form(site: WebState, handler: FormHandler, *, json_default: bool,
          invalid: str) -> Callable[[Request], Awaitable[Response]]:
    """A form endpoint: the guards, the preflight, and every refusal in the client's terms.

    The answer is JSON for a JSON request and a page (or a 303) for a plain form post; for
    anything else the endpoint's usual kind (``json_default``). Every answer carries the CORS
    headers, so the site's script can read an error too, not only a success.
    """
    async def endpoint(request: Request) -> Response:
        lang = request.path_params["lang"]
        if lang not in site.strings:
            raise HTTPException(404)
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            status, headers = site.guard.cors.preflight(origin)
            return Response(status_code=status, headers=headers)
        kind = _content_type(request)
        as_json = kind == _JSON or (kind != _FORM and json_default)
        client = client_address(request)
        try:
            if site.guard.cors.refuses(origin):
                raise _Refused(403, "forms are only accepted from the site itself")
            wait = site.guard.per_minute.hit(client)
            if wait:
                raise _Refused(429, "too many requests from this address", retry_after=wait)
            response = await handler(site, request, lang, client)
        except _Refused as exc:
            response = _refusal(site, lang, exc, as_json=as_json, invalid=invalid)
        except InvalidField as exc:
            field = FORM_FIELDS.get(exc.field, exc.field)
            if as_json:
                response = JSONResponse({"result": "error", "field": field,
                                         "message": f"{field}: {exc.reason}"}, status_code=400)
            else:
                response = _say(site, lang, invalid, status=400, detail=f"{field}: {exc.reason}")
        except StoreError as exc:
            if as_json:
                response = JSONResponse({"result": "error", "message": str(exc)}, status_code=503)
            else:
                response = _say(site, lang, "busy", status=503)
        response.headers.update(site.guard.cors.headers(origin))
        return response

    return endpoint


def _refusal(site: WebState, lang: str, exc: _Refused, *, as_json: bool,
             invalid: str) -> Response:
    """A refused form request as JSON or as a page; 429 says in the page's language why."""
    headers = {"Retry-After": retry_after(exc.retry_after)} if exc.status == 429 else {}
    if as_json:
        message = str(site.strings[lang]["web_too_many"]) if exc.status == 429 else exc.message
        return JSONResponse({"result": "error", "message": message}, status_code=exc.status,
                            headers=headers)
    page = _say(site, lang, _REFUSAL_PAGES.get(exc.status, invalid), status=exc.status,
                detail="" if exc.status == 429 else exc.message)
    page.headers.update(headers)
    return page


async def _join(site: WebState, request: Request, lang: str, client: str) -> Response:
    """The join form: JSON (or a plain form) in; ``{"result": ...}`` or a 303 to the site out."""
    data = await _read_body(request)
    if not caught_by_honeypot(data, site.guard.honeypot):
        person = join_request(data, language=lang, allowed_languages=tuple(site.strings))
        if not person.social_links:
            raise InvalidField("socialLink1", "is missing")
        wait = site.guard.joins_per_day.hit(client)
        if wait:
            raise _Refused(429, "too many join requests from this address today",
                           retry_after=wait)
        await run_in_threadpool(_sign_up, site, site.lists[MEMBERS_LIST], person, "web:join")
    if _content_type(request) == _FORM:
        return _see_other(site.join_success.format(base_url=site.base_url, lang=lang))
    return JSONResponse({"result": "success"})


async def _subscribe(site: WebState, request: Request, lang: str, client: str) -> Response:
    """The newsletter form: an address in, a 303 to a "check your inbox" page out (JSON in,
    JSON out for scripted forms). Other fields are ignored: listmonk's forms also send ``l``
    (the list), but here the list is the newsletter and the language is the URL's."""
    data = await _read_body(request)
    if not caught_by_honeypot(data, site.guard.honeypot):
        email = refuse_lookalike(normalise_email(data.get("email")))
        person = Person(email=email, language=lang)
        await run_in_threadpool(_sign_up, site, site.lists[NEWSLETTER_LIST], person,
                                "web:subscribe")
    if _content_type(request) == _JSON:
        return JSONResponse({"result": "success"})
    target = site.subscribe_success or "/{lang}/newsletter/subscribed/"
    return _see_other(target.format(base_url=site.base_url, lang=lang))


async def _subscribed(site: WebState, request: Request, lang: str) -> Response:
    """Where a plain sign-up lands: no address in the URL, so it says "your inbox"."""
    return _say(site, lang, "subscribed")


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _sign_up(site: WebState, list_def: ListDef, person: Person, source: str) -> None:
    """Record the sign-up (see :func:`postduif.audience.membership.sign_up`), then wake the sender.

    The form answers "success" whatever happened; the organisers' log says when a sign-up was
    kept out, without the address (serve's log is no place for people's addresses).
    """
    with site.store() as store:
        outcome = sign_up(store, list_def, person, source=source,
                          resend_after=site.resend_after)
    if outcome in KEPT_OUT:
        log.info("a sign-up for %s was not taken: the address is %s", list_def.name, outcome)
    site.wake_greetings()


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def _read_body(request: Request) -> dict[str, object]:
    """The decoded body (a JSON object, or a form as a dict), read at most MAX_BODY_BYTES far.

    Whatever the bytes, the answer is a value or a :class:`_Refused` with a message, never an
    exception from the parser: deep nesting, a 5,000-digit number or a lone surrogate included.
    """
    kind = _content_type(request)
    if kind not in (_JSON, _FORM):
        raise _Refused(415, f"send {_JSON} or {_FORM}")
    body = await _limited_body(request)
    try:
        if kind == _JSON:
            value = json.loads(body)
            if not isinstance(value, dict):
                raise _Refused(400, "send one JSON object")
            if _json_depth(value) > MAX_JSON_DEPTH:
                raise _Refused(400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
            return value
        fields: dict[str, object] = {}
        for name, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            fields.setdefault(name, value)  # the first of a repeated field, like a JSON key
        return fields
    except UnicodeDecodeError:
        raise _Refused(400, "the request is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _Refused(400, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise _Refused(400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise _Refused(400, f"not usable JSON: {exc}") from None


def _json_depth(value: object) -> int:
    """How deeply arrays and objects nest in ``value`` (a flat object: 1), without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        todo.extend((child, depth + 1) for child in children)
    return deepest


async def _limited_body(request: Request) -> bytes:
    try:
        return await capped_body(request, MAX_BODY_BYTES)
    except TooLarge:
        raise _Refused(413, f"the request is larger than {MAX_BODY_BYTES // 1024} KB") from None
