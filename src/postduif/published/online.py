"""The online check: does the live site answer each URL?

One request per distinct URL (a fragment is never sent, so ``x/#a`` and ``x/`` are one),
``concurrency`` at a time, all within ``timeout`` seconds: what the limit leaves unasked or
unanswered comes back :attr:`~State.UNCHECKED`, never as passed. HEAD first; a server that
refuses HEAD (405, 501, any error but 404/410) is asked again with GET, whose body is never
read, so a huge file costs nothing. Redirects are followed by hand, only within the URL's own
host (``www.`` and http/https aside), at most :data:`MAX_REDIRECTS` hops; one to another host
is reported, not followed; httpx itself refuses a Location that is no URL. A server that
drips its answer is cut off after :data:`URL_SECONDS` per URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import urldefrag, urljoin

import httpx

from postduif.published.scope import same_site
from postduif.published.status import State, UrlStatus

CONCURRENCY = 4
TIMEOUT_SECONDS = 60.0
#: One request's connect/read/write limit, and one URL's limit with its redirects.
REQUEST_SECONDS = 10.0
URL_SECONDS = 20.0
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NOT_THERE = frozenset({404, 410})
_USER_AGENT = "postduif-check (link check of a newsletter)"


def check_online(urls: Iterable[str], *, concurrency: int = CONCURRENCY,
                 timeout: float = TIMEOUT_SECONDS) -> list[UrlStatus]:
    """One status per distinct URL, in the order first given."""
    given = list(dict.fromkeys(urls))
    asked = asyncio.run(_check_all(list(dict.fromkeys(urldefrag(u).url for u in given)),
                                   max(1, concurrency), timeout))
    return [UrlStatus(url, asked[urldefrag(url).url].state, asked[urldefrag(url).url].detail)
            for url in given]


async def _check_all(urls: list[str], concurrency: int, timeout: float) -> dict[str, UrlStatus]:
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
            timeout=REQUEST_SECONDS, follow_redirects=False, headers={"User-Agent": _USER_AGENT},
            limits=httpx.Limits(max_connections=concurrency)) as client:
        tasks = {url: asyncio.create_task(_bounded(client, limit, url)) for url in urls}
        if tasks:
            _, pending = await asyncio.wait(tasks.values(), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    late = f"not checked within the time limit ({timeout:g} s)"
    return {url: task.result() if task.done() and not task.cancelled()
            else UrlStatus(url, State.UNCHECKED, late) for url, task in tasks.items()}


async def _bounded(client: httpx.AsyncClient, limit: asyncio.Semaphore, url: str) -> UrlStatus:
    async with limit:
        try:
            async with asyncio.timeout(URL_SECONDS):
                return await _follow(client, url)
        except TimeoutError:
            return UrlStatus(url, State.UNREACHABLE, f"no complete answer within {URL_SECONDS:g} s")


async def _follow(client: httpx.AsyncClient, url: str) -> UrlStatus:
    """Ask for ``url``, following redirects within its host."""
    seen, current = {url}, url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            status, location = await _ask(client, current)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return UrlStatus(url, State.UNREACHABLE, _reason(exc))
        if status not in _REDIRECTS:
            return _judged(url, status, current)
        if not location:
            return UrlStatus(url, State.UNREACHABLE, f"HTTP {status} without a Location")
        target = urldefrag(urljoin(current, location)).url
        if not same_site(url, target):
            return UrlStatus(url, State.OFFSITE, f"redirects to {target}, another host")
        if target in seen:
            return UrlStatus(url, State.UNREACHABLE, f"redirect loop at {target}")
        seen.add(target)
        current = target
    return UrlStatus(url, State.UNREACHABLE, f"more than {MAX_REDIRECTS} redirects")


async def _ask(client: httpx.AsyncClient, url: str) -> tuple[int, str]:
    """The status and Location of HEAD ``url``, or of GET where HEAD is refused; a GET's body
    is never read (the response is closed after its headers)."""
    status, location = await _status(client, "HEAD", url)
    if status >= 400 and status not in _NOT_THERE:
        status, location = await _status(client, "GET", url)
    return status, location


async def _status(client: httpx.AsyncClient, method: str, url: str) -> tuple[int, str]:
    async with client.stream(method, url) as response:
        return response.status_code, response.headers.get("location", "")


def _judged(url: str, status: int, final: str) -> UrlStatus:
    via = f" (redirected to {final})" if final != url else ""
    if 200 <= status < 300:
        return UrlStatus(url, State.OK)
    if 400 <= status < 500:
        return UrlStatus(url, State.MISSING, f"HTTP {status}{via}")
    return UrlStatus(url, State.UNREACHABLE, f"HTTP {status}{via}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {REQUEST_SECONDS:g} s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
