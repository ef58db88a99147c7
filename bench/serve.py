"""``postduif serve`` on its public side: sign-up to confirmation email, form throughput, a flood.

What it does, all on 127.0.0.1, each server in its own process:
1. Latency: N newsletter sign-ups one after another (rate limit off) through a real
   ``postduif serve`` (with its background sender) to the mailbox sink of
   ``tests/smtp_sink.py``; for each, the time from sending the form to the confirmation
   email being in the sink's mailbox. The peer, in the same run, is the floor for "one email
   into that mailbox": the same sink, one ``aiosmtplib.send`` of an email of the same size
   from this process, timed the same way.
2. Throughput: sign-ups per second with 8 concurrent clients (limits and the background sender
   off, so only the form path is measured: parsing, validation, one store transaction). The
   peer is the ceiling for "a form POST through uvicorn": a bare Starlette endpoint that parses
   the same form and answers 303, served the same way.
3. Flood: 2,000 sign-ups of different addresses from one client as fast as it can, with the
   sample workspace's default limits; how many were accepted, how many got 429, and the store's
   count afterwards (it must equal the accepted ones).

Run: .venv/bin/python bench/serve.py [--signups 30] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiosmtplib
import httpx
from sample import copy_workspace as copy_sample  # bench/sample.py

REPO = Path(__file__).resolve().parents[1]
SINK = REPO / "tests" / "smtp_sink.py"
KEY = "bench-token-key-of-sufficient-length"
CONCURRENCY = 8
SIGNED_UP = 303  # a plain form post is sent on to the "check your inbox" page
PEER_APP = """
import sys, uvicorn
from urllib.parse import parse_qsl
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Route

async def subscribe(request):
    fields = dict(parse_qsl((await request.body()).decode()))
    return RedirectResponse(f"/done/?{len(fields)}", status_code=303)

app = Starlette(routes=[Route("/{lang}/newsletter/subscribe", subscribe, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def workspace(root: Path, smtp_port: int, **web: object) -> Path:
    """A copy of the sample workspace pointing at the sink, with ``[web]`` settings replaced."""
    ws = copy_sample(root / f"ws{len(list(root.iterdir()))}")
    config = ws / "postduif.toml"
    text = re.sub(r"(?m)^port = \d+", f"port = {smtp_port}", config.read_text(), count=1)
    for key, value in web.items():
        rendered = str(value).lower() if isinstance(value, bool) else str(value)
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {rendered}", text)
    config.write_text(text)
    return ws


def wait_for_http(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with status {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    sys.exit(f"{what} did not start")


def start(command: list[str], port: int, what: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "POSTDUIF_TOKEN_KEY": KEY}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for_http(f"http://127.0.0.1:{port}/", process, what)
    return process


def serve(ws: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "postduif", "--workspace", str(ws), "serve",
               "--port", str(port)]
    return start(command, port, "postduif serve"), f"http://127.0.0.1:{port}"


def sink(directory: Path) -> tuple[subprocess.Popen[str], int, Path]:
    directory.mkdir()
    faults = directory / "faults.json"
    faults.write_text("{}")
    mailbox = directory / "mailbox"
    process = subprocess.Popen([sys.executable, str(SINK), "--port", "0", "--faults",
                                str(faults), "--mailbox", str(mailbox)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if line[:1] != ["LISTENING"]:
        sys.exit("the SMTP sink did not start")
    return process, int(line[1]), mailbox


def arrivals(mailbox: Path) -> int:
    return sum(1 for _ in mailbox.glob("*.eml")) if mailbox.exists() else 0


def wait_arrival(mailbox: Path, count: int, timeout: float = 15.0) -> float:
    deadline = time.monotonic() + timeout
    while arrivals(mailbox) < count:
        if time.monotonic() > deadline:
            sys.exit(f"no email {count} within {timeout:.0f} s")
        time.sleep(0.002)
    return time.monotonic()


def timed(runs: int, one: Callable[[int], float]) -> list[float]:
    return [one(n) for n in range(runs)]


def latency(root: Path, runs: int) -> tuple[list[float], list[float]]:
    process, port, mailbox = sink(root / "latency")
    server, url = serve(workspace(root, port, greetings_retry_seconds=300,
                                  requests_per_minute=0))
    try:
        def signup(n: int) -> float:
            started = time.monotonic()
            answer = httpx.post(f"{url}/nl/newsletter/subscribe",
                                data={"email": f"p{n}@example.org"}, timeout=10)
            if answer.status_code != SIGNED_UP:
                sys.exit(f"postduif answered {answer.status_code}: {answer.text}")
            return wait_arrival(mailbox, n + 1) - started

        ours = timed(runs, signup)
        size = max(path.stat().st_size for path in mailbox.glob("*.eml"))
        body = b"Subject: peer\r\n\r\n" + (b"x" * 76 + b"\r\n") * (size // 78)

        def bare(n: int) -> float:
            started = time.monotonic()
            asyncio.run(aiosmtplib.send(body, sender="bench@example.org",
                                        recipients=[f"peer{n}@example.org"],
                                        hostname="127.0.0.1", port=port))
            return wait_arrival(mailbox, runs + n + 1) - started

        return ours, timed(runs, bare)
    finally:
        server.terminate()
        process.terminate()


async def post_all(url: str, count: int, prefix: str) -> tuple[float, dict[int, int]]:
    codes: dict[int, int] = {}
    queue = iter(range(count))
    async with httpx.AsyncClient(timeout=30) as client:
        async def worker() -> None:
            for n in queue:
                answer = await client.post(f"{url}/nl/newsletter/subscribe",
                                           data={"email": f"{prefix}{n}@example.org"})
                codes[answer.status_code] = codes.get(answer.status_code, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.monotonic() - started, codes


def throughput(root: Path, count: int) -> tuple[float, float]:
    ws = workspace(root, free_port(), send_greetings=False, requests_per_minute=0,
                   join_requests_per_day=0)
    server, url = serve(ws)
    try:
        ours, codes = asyncio.run(post_all(url, count, "t"))
    finally:
        server.terminate()
    if set(codes) != {SIGNED_UP}:
        sys.exit(f"postduif answered {codes}")
    port = free_port()
    peer = start([sys.executable, "-c", PEER_APP, str(port)], port, "the peer app")
    try:
        theirs, _ = asyncio.run(post_all(f"http://127.0.0.1:{port}", count, "t"))
    finally:
        peer.terminate()
    return count / ours, count / theirs


def flood(root: Path, count: int) -> tuple[float, dict[int, int], int]:
    ws = workspace(root, free_port(), send_greetings=False)
    server, url = serve(ws)
    try:
        elapsed, codes = asyncio.run(post_all(url, count, "f"))
    finally:
        server.terminate()
        server.wait()
    with sqlite3.connect(ws / "lists" / "postduif.sqlite3") as db:
        stored = db.execute("SELECT COUNT(*) FROM memberships").fetchone()[0]
    return elapsed, codes, int(stored)


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"median {statistics.median(ordered) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms, "
            f"max {ordered[-1] * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--signups", type=int, default=30, help="sign-ups timed one by one")
    parser.add_argument("--requests", type=int, default=2000, help="form posts per load test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postduif-bench-serve-") as tmp:
        root = Path(tmp)
        ours, bare = latency(root, args.signups)
        print(f"sign-up -> confirmation in the mailbox ({args.signups} sign-ups)")
        print(f"  postduif serve   {ms(ours)}")
        print(f"  bare SMTP send   {ms(bare)}   (peer: one aiosmtplib.send, same sink)")
        print(f"  ratio (median)   {statistics.median(ours) / statistics.median(bare):.1f}x "
              "the bare send; target: under 10 s")
        rate, peer = throughput(root, args.requests)
        print(f"form posts, {CONCURRENCY} concurrent clients, limits off ({args.requests} posts)")
        print(f"  postduif serve   {rate:7.0f} sign-ups/s")
        print(f"  bare Starlette   {peer:7.0f} posts/s   (peer: parse the form, answer 303)")
        print(f"  ratio            {rate / peer:.2f} of the bare endpoint")
        elapsed, codes, stored = flood(root, args.requests)
        accepted = codes.get(SIGNED_UP, 0)
        print(f"flood: {args.requests} sign-ups from one client in {elapsed:.1f} s, "
              f"default limits")
        print(f"  answers          {', '.join(f'{n} x {c}' for c, n in sorted(codes.items()))}")
        verdict = "consistent" if stored == accepted else "INCONSISTENT"
        print(f"  store            {stored} memberships for {accepted} accepted ({verdict})")


if __name__ == "__main__":
    main()
