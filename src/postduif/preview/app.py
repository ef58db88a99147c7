"""The preview web app: explicit Starlette routes over :class:`~postduif.preview.builds.Builds`.

Routes::

    /                               every campaign, each language, subjects, problem counts
    /c/{name}                       the review page; its state lives in the query string
                                    (lang, tab, width, persona) so a reload keeps it
    /c/{name}/{key}/html            the personalised HTML (?persona=named|anonymous)
    /c/{name}/{key}/text            ... the plain-text part
    /c/{name}/{key}/headers         ... the message headers, one per line
    /c/{name}/{key}/source          ... the whole .eml (?download=1 to save it)
    /site/{path}                    the workspace file the site will publish at base_url + path
    /_version                       {"version": ...}, polled by the pages to reload on change

The app only reads. Build errors are part of the page (status 200) so a reviewer sees what to
fix; the raw endpoints answer 500 with the message. A watcher started in the lifespan reloads
the workspace when a source file changes.

The framed HTML (``?frame=1``) loads its images from ``/site/``, so they show before the page
is published; every other part, and the HTML without ``frame``, keeps the addresses as sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import anyio
from anyio.abc import TaskStatus
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Route
from watchfiles import DefaultFilter, awatch

from postduif.build import SAMPLE_RECIPIENTS
from postduif.errors import PostduifError
from postduif.preview.builds import PERSONAS, Builds, Sample
from postduif.preview.site_files import PREFIX, SiteFiles
from postduif.problems import Severity
from postduif.workspace import Workspace

# Only names that resolve to this machine: a page on another site cannot reach the preview by
# pointing its own host name at 127.0.0.1 (DNS rebinding).
ALLOWED_HOSTS = ("127.0.0.1", "localhost", "[::1]")
TABS = {"html": "HTML", "text": "Text", "headers": "Headers", "source": "Source"}
WIDTHS = {"desktop": "Desktop", "phone": "Phone (375 px)"}
PERSONA_LABELS = {"named": SAMPLE_RECIPIENTS["named"].name, "anonymous": "Without a name"}
NO_STORE = {"Cache-Control": "no-store"}
# A site file is served from the preview's origin: a stray HTML or SVG file must not run there.
SITE_FILE_HEADERS = {**NO_STORE, "Content-Security-Policy": "sandbox",
                     "X-Content-Type-Options": "nosniff"}

_assets = Path(__file__).parent / "assets"
_templates = Environment(loader=FileSystemLoader(_assets), autoescape=True,
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class View:
    """What the reviewer is looking at; kept in the query string so a reload restores it."""

    lang: str
    tab: str = "html"
    width: str = "desktop"
    persona: str = "named"

    @classmethod
    def from_query(cls, query: Mapping[str, str], keys: list[str]) -> View:
        def pick(name: str, allowed: list[str]) -> str:
            value = query.get(name)
            return value if value in allowed else allowed[0]

        return cls(lang=pick("lang", keys or [""]), tab=pick("tab", list(TABS)),
                   width=pick("width", list(WIDTHS)), persona=pick("persona", list(PERSONAS)))

    def link(self, **change: str) -> str:
        return "?" + urlencode(asdict(replace(self, **change)))


def create_app(ws: Workspace, *, watch: bool = True) -> Starlette:
    """The preview of ``ws``; with ``watch``, it rebuilds when a source file changes."""
    builds = Builds(ws)
    routes = [
        Route("/", _endpoint(builds, _index)),
        Route("/c/{name}", _endpoint(builds, _review)),
        Route("/c/{name}/{key}/{part}", _endpoint(builds, _raw)),
        Route("/_version", _endpoint(builds, _version)),
        Route(PREFIX + "{path:path}", _endpoint(builds, _site_file), methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(ALLOWED_HOSTS))],
        exception_handlers={Exception: _crashed(builds)},
        lifespan=_watching(builds) if watch else None,
    )


def _endpoint(builds: Builds,
              handler: Callable[[Builds, Request], Response]) -> Callable[[Request], Response]:
    """A plain function endpoint: Starlette runs it in a thread, so a build never blocks polls."""
    def endpoint(request: Request) -> Response:
        return handler(builds, request)

    return endpoint


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def _text(body: str, status: int = 200) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status, headers=NO_STORE)


def _version(builds: Builds, request: Request) -> Response:
    return JSONResponse({"version": builds.version}, headers=NO_STORE)


def _index(builds: Builds, request: Request) -> Response:
    version = builds.version  # read first: a change during the builds then reloads the page
    campaigns = [builds.get(name) for name in builds.names()]
    return _page("index.html.j2", campaigns=campaigns, version=version, Severity=Severity,
                 quote=quote, where=_where(builds.root), campaigns_dir=builds.campaigns_dir)


def _review(builds: Builds, request: Request) -> Response:
    name = request.path_params["name"]
    if name not in builds.names():
        return _page("missing.html.j2", 404, what=f"campaign {name!r}", version=builds.version,
                     known=builds.names())
    build = builds.get(name)
    view = View.from_query(request.query_params, list(build.rendered))
    sample, error = None, build.error
    if error is None and view.lang:
        try:
            sample = builds.sample(build, view.lang, view.persona)
        except PostduifError as exc:
            error = exc
    return _page("campaign.html.j2", build=build, view=view, sample=sample, error=error,
                 version=build.version, tabs=TABS, widths=WIDTHS, personas=PERSONA_LABELS,
                 Severity=Severity, where=_where(builds.root),
                 frame_src=_raw_url(name, view.lang, "html", persona=view.persona, frame="1"),
                 eml_url=_raw_url(name, view.lang, "source", persona=view.persona, download="1"))


def _raw_url(name: str, key: str, part: str, **query: str) -> str:
    return f"/c/{quote(name)}/{quote(key)}/{part}?{urlencode(query)}"


def _raw(builds: Builds, request: Request) -> Response:
    name, key, part = (request.path_params[k] for k in ("name", "key", "part"))
    persona = request.query_params.get("persona", "named")
    if name not in builds.names() or part not in TABS:
        return _text(f"not found: {request.url.path}\n", 404)
    if persona not in PERSONAS:
        return _text(f"unknown persona {persona!r}; use one of {', '.join(PERSONAS)}\n", 400)
    build = builds.get(name)
    if build.error is not None:
        return _text(f"{build.error}\n", 500)
    if key not in build.rendered:
        return _text(f"campaign {name!r} has no variant {key!r}\n", 404)
    try:
        sample = builds.sample(build, key, persona)
    except PostduifError as exc:
        return _text(f"{exc}\n", 500)
    if part == "html" and request.query_params.get("frame"):
        return HTMLResponse(_framed(sample.part("html"), builds.site_files()), headers=NO_STORE)
    return _part(sample, part, request, f"{name}-{key}-{persona}.eml")


def _framed(html: str, files: SiteFiles | None) -> str:
    """The email as the review page frames it: images from the workspace (the page may not be
    published yet), links in a new tab (instead of replacing the email)."""
    if files is not None:
        html = files.rewrite(html)
    return html.replace("<head>", '<head><base target="_blank">', 1)


def _site_file(builds: Builds, request: Request) -> Response:
    files = builds.site_files()
    found = None if files is None else files.find(request.path_params["path"])
    if found is None:
        return _text(f"not found: {request.url.path}\n", 404)
    return FileResponse(found, headers=SITE_FILE_HEADERS)


def _part(sample: Sample, part: str, request: Request, filename: str) -> Response:
    if part == "html":
        return HTMLResponse(sample.part("html"), headers=NO_STORE)
    if part == "text":
        return _text(sample.part("plain"))
    if part == "headers":
        return _text("".join(f"{k}: {v}\n" for k, v in sample.headers()))
    if request.query_params.get("download"):
        return Response(sample.raw, media_type="message/rfc822", headers={
            **NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'})
    return _text(sample.raw.decode("utf-8", errors="replace"))


class _Located(Protocol):
    """An error or a problem: both point at a file and maybe a line."""

    @property
    def path(self) -> Path | None: ...

    @property
    def line(self) -> int | None: ...


def _where(root: Path) -> Callable[[_Located], str]:
    """Show error and problem locations relative to the workspace: shorter, still clickable."""
    def where(item: _Located) -> str:
        path, line = item.path, item.line
        if path is None:
            return ""
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        return f"{shown}:{line}" if line else str(shown)

    return where


def _crashed(builds: Builds) -> Callable[[Request, Exception], Response]:
    """A bug still gets a page that reloads itself after the next change (and is logged)."""
    def handler(request: Request, exc: Exception) -> Response:
        return _page("crashed.html.j2", 500, error=f"{type(exc).__name__}: {exc}",
                     version=builds.version)

    return handler


class _SourceFilter(DefaultFilter):
    """Editor droppings and the subscriber database (it lives in lists/) are not sources."""

    ignore_entity_patterns = (*DefaultFilter.ignore_entity_patterns,
                              r"\.sqlite3?(-\w+)?$", r"\.db(-\w+)?$")


def _watching(builds: Builds) -> Callable[[Starlette], Any]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = anyio.Event()
        paths = await anyio.to_thread.run_sync(builds.watched_paths)
        async with anyio.create_task_group() as tasks:
            await tasks.start(_watch, builds, paths, stop)
            yield
            stop.set()

    return lifespan


async def _watch(builds: Builds, paths: list[Path], stop: anyio.Event, *,
                 task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Reload on every batch of changes; start over when the settings moved the directories.

    ``started()`` does not yield to the event loop, and ``awatch`` sets up its OS watches before
    its first ``await``: so once the app has started, no change can slip by unseen.
    """
    task_status.started()
    while not stop.is_set():
        async for changes in awatch(*paths, watch_filter=_SourceFilter(), stop_event=stop,
                                    step=30):
            await anyio.to_thread.run_sync(builds.reload, [Path(p) for _, p in changes])
            fresh = await anyio.to_thread.run_sync(builds.watched_paths)
            if fresh != paths:
                paths = fresh
                break
