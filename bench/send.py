"""Sending throughput and memory, beside mailmerge and Postfix's smtp-source, in one run.

What it does, all on 127.0.0.1, against ``bench/smtp_sink.py`` (stdlib only, so this runs
after README's install; it advertises PIPELINING and answers pipelined commands in order) in
another process:
1. A fresh copy of the sample workspace and a store with N generated confirmed subscribers
   (mixed Dutch and English, some without a name).
2. postduif, in a child process, sends the sample campaign to all of them through the real
   path (``prepare_job``, ledger snapshot, ``deliver`` with ``--connections`` SMTP connections,
   ledger commits). The child reports its own peak memory (VmHWM from /proc/self/status).
3. mailmerge (PyPI), given a Jinja template of the same two rendered messages, a CSV of the same
   list and a server config for the same sink. It opens one connection per message, so it is
   timed on a subset and extrapolated (printed as such).
4. smtp-source (Postfix) sends N messages of the same size over as many persistent sessions:
   the ceiling, since it does no per-recipient work at all.
5. The same three against the sink with ``--delay-ms`` (10): every reply comes 10 ms after its
   command, as over a link with that round trip; there postduif also runs its plain path (the
   sink does not advertise PIPELINING, and ``[smtp] pipelining = false`` is set when postduif
   has that setting), and the pipelined bound connections / (round trips per message x delay)
   is printed with postduif's share of it: over the whole run, and steady (a run of one
   claim, ``[smtp] batch`` recipients, per connection is timed too, and its messages and
   seconds are taken out, so the set-up and wind-down that every run pays, whatever its size,
   do not count).
6. Unless ``--quick``: postduif again with 100,000 recipients, for its peak memory.

Run: .venv/bin/python bench/send.py [--quick] [--verp] [--count 10000] [--slow-count 2000]
(installs ``mailmerge`` into the venv and the ``postfix`` Debian package when missing.)
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import csv
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from sample import copy_workspace as copy_sample  # bench/sample.py

from postduif.audience.tokens import make_token
from postduif.config import DEFAULTS
from postduif.render import Rendered
from postduif.store import Person, Store
from postduif.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SINK = REPO / "bench" / "smtp_sink.py"
CAMPAIGN = "2026-12-community-update"
TOKEN_KEY = "bench-token-key-that-is-long-enough"
CONNECTIONS = 4
MEMORY_RUN = 100_000
TARGET_VS_MAILMERGE = 10.0
TARGET_VS_CEILING = 0.5
TARGET_MEMORY_MB = 150.0
TARGET_VS_PLAIN = 3.0
TARGET_OF_BOUND = 0.9
# Round trips per message once a session runs. Pipelined (RFC 2920): the final "." goes out
# with the next message's MAIL, RCPT and DATA, whose replies (with the 354) come back together,
# then the body: one. Plain: MAIL, RCPT, DATA and the final "." each wait for their reply: four.
ROUND_TRIPS = {"pipelined": 1, "plain": 4}
# postduif's switch for its plain path, if it has one ([smtp] pipelining = false); without it
# the sink's leaving PIPELINING out is what makes postduif take that path.
PIPELINING_KEY = next((key for key in DEFAULTS["smtp"] if "pipelin" in key), None)
FIRST = ("Sanne", "Joël", "Ayşe", "Pieter", "Émilie", "Daan", "Noor", "Bram", "Fatima", "Kees")
LAST = ("de Vries", "Öztürk", "van den Berg", "Janssen", "Müller", "Bakker", "El Amrani")


@dataclass(frozen=True)
class Result:
    name: str
    messages: int
    seconds: float
    peak_mb: float | None  # not measured for smtp-source (a C program; not our target)
    note: str = ""
    # A run of a few recipients at the same link: what every run pays whatever its size
    # (snapshot, connecting and greeting, the last reply and QUIT).
    fixed: Result | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def steady_rate(self) -> float:
        """The rate once the sessions run: the fixed run's messages and time taken out."""
        if self.fixed is None:
            return self.rate
        return ((self.messages - self.fixed.messages)
                / max(self.seconds - self.fixed.seconds, 1e-9))


# -- setup ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    """The sink a run sends to: its reply delay and whether postduif may pipeline."""

    connections: int = CONNECTIONS
    delay_ms: float = 0.0
    pipelining: bool = True

    @property
    def label(self) -> str:
        return f"{self.delay_ms:g} ms" if self.delay_ms else "loopback"


def copy_workspace(target: Path, port: int, link: Link, *, verp: bool = False) -> Path:
    """The sample workspace, pointed at the sink with the link's connections, with an empty
    store (and VERP on, if asked: a return path signed per message)."""
    copy_sample(target)
    config = target / "postduif.toml"
    text = re.sub(r"(?m)^port = \d+", f"port = {port}", config.read_text(encoding="utf-8"))
    text = smtp_setting(text, "connections", str(link.connections))
    if PIPELINING_KEY and not link.pipelining:
        text = smtp_setting(text, PIPELINING_KEY, "false")
    if verp:
        text = re.sub(r"(?m)^verp = false", "verp = true", text)
    config.write_text(text, encoding="utf-8")
    return target


def smtp_setting(text: str, key: str, value: str) -> str:
    """``postduif.toml`` with ``key = value`` in its [smtp] table, replaced or added."""
    table = re.search(r"(?ms)^\[smtp\]\n(.*?)(?=^\[|\Z)", text)
    assert table, "the sample postduif.toml has an [smtp] table"
    body, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", table.group(1))
    if not found:
        body = f"{key} = {value}\n" + body
    return text[:table.start(1)] + body + text[table.end(1):]


def people(count: int) -> Iterator[Person]:
    for n in range(1, count + 1):
        language = "en" if n % 3 == 0 else "nl"
        if n % 11 == 0:
            yield Person(email=f"lid{n:06d}@example.test", language=language)
        else:
            yield Person(email=f"lid{n:06d}@example.test", first_name=FIRST[n % len(FIRST)],
                         last_name=LAST[n % len(LAST)], language=language)


def populate(ws: Workspace, count: int) -> None:
    with Store.open(ws.settings.database) as store, store.transaction():
        for person in people(count):
            store.join(person, list="nieuwsbrief", status="confirmed", event="confirmed",
                       source="bench", consent_version="2026-11", default_language="nl")


class Sink:
    """bench/smtp_sink.py in its own process, counting what it accepts."""

    def __init__(self, directory: Path, link: Link) -> None:
        self.count_file = directory / f"sink-{time.monotonic_ns()}.json"
        options = ["--delay-ms", str(link.delay_ms)] + ["--no-pipelining"] * (not link.pipelining)
        self.process = subprocess.Popen(
            [sys.executable, str(SINK), "--port", "0", "--count-file", str(self.count_file),
             *options], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline().split()[1])
        self.late = ""  # set by stop()

    def stop(self) -> int:
        """Stop it and return how many messages it accepted; ``late`` is then how late its
        delayed replies went out (this machine's timers), for the report."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        counts = json.loads(self.count_file.read_text(encoding="utf-8"))
        self.late = (f"; sink replies {counts['late_ms_median']:.2f} ms late (median), "
                     f"{counts['late_ms_p90']:.2f} ms (p90)" if counts["late_ms_p90"] else "")
        return int(counts["messages"])


def run_timed(command: list[str], cwd: Path | None = None) -> tuple[float, str]:
    """Run a child to completion; (wall seconds, its stdout)."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, cwd=cwd)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): "
                           f"{done.stderr[-2000:].decode('utf-8', 'replace')}")
    return seconds, done.stdout.decode("utf-8", "replace")


# -- postduif ---------------------------------------------------------------------------------

def child(root: Path) -> None:
    """The postduif run itself, in a process of its own so its peak memory is its own."""
    from postduif.send.job import deliver_job, prepare_job, start

    os.environ["POSTDUIF_TOKEN_KEY"] = TOKEN_KEY
    ws = Workspace.open(root)
    began = time.perf_counter()
    job = prepare_job(ws, CAMPAIGN, token_key=TOKEN_KEY.encode())
    prepared = time.perf_counter()
    with Store.open(ws.settings.database) as store:
        start(job, store)
        report = asyncio.run(deliver_job(ws, job, store, resend_unknown=False))
    done = time.perf_counter()
    print(json.dumps({"sent": report.sent, "failed": report.failed, "unknown": report.unknown,
                      "render_s": prepared - began, "send_s": done - prepared,
                      "peak_mb": vm_hwm_mb()}))


def vm_hwm_mb() -> float:
    """This process's peak resident memory. Not ``ru_maxrss`` of a child: that survives
    ``exec`` and so includes the forking parent's size, while VmHWM starts afresh."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_postduif(tmp: Path, count: int, link: Link, *,
                 verp: bool = False) -> tuple[Result, float]:
    """(result, mean message size in bytes) for ``count`` recipients."""
    sink = Sink(tmp, link)
    root = copy_workspace(tmp / f"ws-{time.monotonic_ns()}", sink.port, link, verp=verp)
    populate(Workspace.open(root), count)
    _, out = run_timed([sys.executable, __file__, "--child", str(root)])
    accepted = sink.stop()
    report = json.loads(out.strip().splitlines()[-1])
    if report["sent"] != count or accepted != count:
        raise RuntimeError(f"postduif sent {report['sent']}, the sink accepted {accepted}, "
                           f"expected {count}: {report}")
    size = mean_message_size(root)
    note = (f"render once {report['render_s'] * 1000:.0f} ms; snapshot + delivery timed"
            f"{sink.late}")
    name = "postduif" + "+verp" * verp + " (plain)" * (not link.pipelining)
    return Result(name, count, report["send_s"], report["peak_mb"], note), size


def mean_message_size(root: Path) -> float:
    """Average size of the composed messages, sampled (the sink only counts)."""
    from postduif.send import Target
    from postduif.send.job import prepare_job

    job = prepare_job(Workspace.open(root), CAMPAIGN, token_key=TOKEN_KEY.encode())
    sizes = [len(job.compose(Target(n, p.email, f"{p.first_name} {p.last_name}".strip(),
                                    job.variant_for(p.language))))
             for n, p in enumerate(people(300), start=1)]
    return sum(sizes) / len(sizes)


# -- mailmerge --------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%%([A-Z_]+)%%")


def jinja_literal(document: str, *, escape: bool) -> str:
    """A rendered document as a Jinja template: literal text raw, placeholders as variables."""
    pieces = []
    for number, piece in enumerate(PLACEHOLDER.split(document)):
        if number % 2:
            pieces.append("{{ " + piece.lower() + ("|e" if escape else "") + " }}")
        elif piece:
            pieces.append("{% raw %}" + piece + "{% endraw %}")
    return "".join(pieces)


def mailmerge_template(rendered: Mapping[str, Rendered], sender: str) -> str:
    def per_language(part: str) -> str:
        branches = [f'{{% {"if" if i == 0 else "elif"} lang == "{lang}" %}}'
                    + jinja_literal(getattr(r, part), escape=part == "html")
                    for i, (lang, r) in enumerate(rendered.items())]
        return "".join(branches) + "{% endif %}"

    subjects = "".join(f'{{% {"if" if i == 0 else "elif"} lang == "{lang}" %}}{r.subject}'
                       for i, (lang, r) in enumerate(rendered.items())) + "{% endif %}"
    return "\n".join([
        "TO: {{ name }} <{{ email }}>",
        f"FROM: Techwerkers <{sender}>",
        f"SUBJECT: {subjects}",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="bench-boundary"',
        "",
        "--bench-boundary",
        "Content-Type: text/plain; charset=utf-8",
        "",
        per_language("text"),
        "--bench-boundary",
        "Content-Type: text/html; charset=utf-8",
        "",
        per_language("html"),
        "--bench-boundary--",
        "",
    ])


def mailmerge_database(path: Path, count: int, rendered: Mapping[str, Rendered],
                       unsubscribe: str, preferences: str, base_url: str) -> None:
    """The same list as a CSV, with each recipient's greeting and their two signed links."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "lang", "greeting", "first_name", "unsubscribe_url",
                         "confirm_url", "preferences_url"])
        for person in people(count):
            lang = person.language
            variant = rendered[lang]
            greeting = (variant.greeting_named.format(name=person.first_name)
                        if person.first_name else variant.greeting_anonymous)
            token = make_token(TOKEN_KEY.encode(), action="unsubscribe", email=person.email,
                               list="nieuwsbrief", ttl=timedelta(days=730))
            link = unsubscribe.format(base_url=base_url, lang=lang, token=token)
            token = make_token(TOKEN_KEY.encode(), action="preferences", email=person.email,
                               list="nieuwsbrief", ttl=timedelta(days=730))
            manage = preferences.format(base_url=base_url, lang=lang, token=token)
            name = f"{person.first_name} {person.last_name}".strip()
            writer.writerow([person.email, name, lang, greeting, person.first_name, link, "",
                             manage])


def ensure_mailmerge() -> None:
    if importlib.util.find_spec("mailmerge") is None:
        print("installing mailmerge into the venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mailmerge"], check=True)


def mailmerge_child(peak_file: Path, arguments: list[str]) -> None:
    """mailmerge's own command line, reporting its peak memory the way postduif's child does."""
    from mailmerge.__main__ import main as mailmerge_main

    atexit.register(lambda: peak_file.write_text(f"{vm_hwm_mb():.1f}", encoding="utf-8"))
    mailmerge_main(arguments)


def run_mailmerge(tmp: Path, count: int, subset: int, link: Link) -> Result:
    ensure_mailmerge()
    sink = Sink(tmp, link)
    root = copy_workspace(tmp / f"ws-{time.monotonic_ns()}", sink.port, link)
    ws = Workspace.open(root)
    rendered = ws.render(ws.plan(ws.campaign(CAMPAIGN)))
    folder = tmp / f"mailmerge-{time.monotonic_ns()}"
    folder.mkdir()
    (folder / "template.txt").write_text(
        mailmerge_template(rendered, ws.settings.sender.email), encoding="utf-8")
    measured = min(count, subset)
    mailmerge_database(folder / "database.csv", measured, rendered, ws.settings.unsubscribe_url,
                       ws.settings.preferences_url, ws.site.config.base_url)
    (folder / "server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {sink.port}\n", encoding="utf-8")
    peak_file = folder / "peak.txt"
    seconds, _ = run_timed(
        [sys.executable, __file__, "--mailmerge", str(peak_file), "--no-dry-run", "--no-limit",
         "--output-format", "raw", "--template", "template.txt", "--database", "database.csv",
         "--config", "server.conf"], cwd=folder)
    peak = float(peak_file.read_text(encoding="utf-8"))
    accepted = sink.stop()
    if accepted != measured:
        raise RuntimeError(f"mailmerge: the sink accepted {accepted} of {measured}")
    note = ""
    if measured < count:
        note = f"timed on the first {measured} and extrapolated to {count}"
        seconds *= count / measured
    return Result("mailmerge", count, seconds, peak, note)


# -- smtp-source ------------------------------------------------------------------------------

def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ensure_smtp_source() -> str | None:
    found = shutil.which("smtp-source")
    if found:
        return found
    if os.geteuid() != 0:
        print("smtp-source is missing and this is not root: skipping the ceiling")
        return None
    print("installing postfix (for smtp-source) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "postfix"]
    if subprocess.run(command, env=env, capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(command, env=env, capture_output=True, check=True)
    stop_postfix_daemon()
    return shutil.which("smtp-source")


def stop_postfix_daemon() -> None:
    """The package may start the MTA; the bench wants only its load generator."""
    if shutil.which("postfix") and subprocess.run(["postfix", "status"],
                                                  capture_output=True).returncode == 0:
        subprocess.run(["postfix", "stop"], capture_output=True)
    for _ in range(50):
        if not port_open(25):
            return
        time.sleep(0.1)
    print("WARNING: something still listens on port 25 after stopping postfix")


def run_smtp_source(tmp: Path, count: int, size: float, link: Link) -> Result | None:
    binary = ensure_smtp_source()
    if binary is None:
        return None
    sink = Sink(tmp, link)
    seconds, _ = run_timed(
        [binary, "-d", "-m", str(count), "-s", str(link.connections), "-l", str(int(size)),
         "-f", "nieuwsbrief@techwerkers.nl", "-t", "lid@example.test",
         f"127.0.0.1:{sink.port}"])
    accepted = sink.stop()
    if accepted != count:
        raise RuntimeError(f"smtp-source: the sink accepted {accepted} of {count}")
    return Result("smtp-source", count, seconds, None,
                  f"{link.connections} persistent sessions (no pipelining), "
                  f"{int(size)}-byte messages{sink.late}")


# -- report -----------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(results: list[Result], size: float, link: Link) -> None:
    print(f"\n{link.label}: the sample campaign, mean size {size / 1024:.1f} KiB, "
          f"{link.connections} connections, sink: bench/smtp_sink.py "
          f"--delay-ms {link.delay_ms:g} (another process)")
    for r in results:
        peak = "     -" if r.peak_mb is None else f"{r.peak_mb:6.1f}"
        print(f"{r.name:18s} {r.messages:7d} msgs {r.seconds:8.2f} s {r.rate:9.0f} msgs/s "
              f"peak {peak} MB  {r.note}")
    by_name = {r.name: r for r in results}
    ours = by_name["postduif"]
    if "mailmerge" in by_name:
        ratio = ours.rate / by_name["mailmerge"].rate
        print(f"postduif / mailmerge   = {ratio:6.2f}x  (target >= {TARGET_VS_MAILMERGE:g}x: "
              f"{verdict(ratio >= TARGET_VS_MAILMERGE)})")
    if "smtp-source" in by_name:
        ratio = ours.rate / by_name["smtp-source"].rate
        target = (f"  (target >= {TARGET_VS_CEILING:g}: {verdict(ratio >= TARGET_VS_CEILING)})"
                  if not link.delay_ms else "  (smtp-source does not pipeline)")
        print(f"postduif / smtp-source = {ratio:6.2f}x{target}")
    if link.delay_ms:
        report_bound(ours, by_name.get("postduif (plain)"), link)


def report_bound(ours: Result, plain: Result | None, link: Link) -> None:
    """At a delay: postduif against what the round trips allow, and against its plain path."""
    for path, result in (("pipelined", ours), ("plain", plain)):
        if result is None:
            continue
        bound = link.connections / (ROUND_TRIPS[path] * link.delay_ms / 1000)
        share, steady = result.rate / bound, result.steady_rate / bound
        target = (f"  (target >= {TARGET_OF_BOUND:.0%}: whole run "
                  f"{verdict(share >= TARGET_OF_BOUND)}, steady "
                  f"{verdict(steady >= TARGET_OF_BOUND)})" if path == "pipelined" else "")
        print(f"{path} bound: {link.connections} connections / ({ROUND_TRIPS[path]} round "
              f"trip(s) x {link.delay_ms:g} ms) = {bound:.0f} msgs/s; {result.name} reaches "
              f"{share:.1%} over the whole run, {steady:.1%} steady{target}")
        if result.fixed is not None:
            print(f"  steady: ({result.messages} - {result.fixed.messages} msgs) / "
                  f"({result.seconds:.2f} - {result.fixed.seconds:.2f} s) = "
                  f"{result.steady_rate:.0f} msgs/s; the {result.fixed.seconds:.2f} s is a run "
                  f"of {result.fixed.messages} recipients (snapshot, connecting, the last "
                  f"reply, QUIT)")
    if plain is not None:
        ratio = ours.rate / plain.rate
        how = (f"[smtp] {PIPELINING_KEY} = false and " if PIPELINING_KEY else "") + \
            "a sink without PIPELINING"
        print(f"postduif / postduif (plain) = {ratio:5.2f}x at {link.connections} connections "
              f"each ({how}; target >= {TARGET_VS_PLAIN:g}x: "
              f"{verdict(ratio >= TARGET_VS_PLAIN)})")


def summary(fast: list[Result], slow: list[Result], slow_link: Link) -> None:
    """The two runs beside each other, each as msgs/s and as a share of smtp-source's."""
    print("\nside by side (msgs/s; x smtp-source at the same link):")
    print(f"{'':18s} {'loopback':>20s} {slow_link.label:>20s}")
    rates = [{r.name: r.rate for r in results} for results in (fast, slow)]
    for name in dict.fromkeys([r.name for r in fast + slow]):
        cells = []
        for by_name in rates:
            if name not in by_name:
                cells.append(f"{'-':>20s}")
                continue
            ceiling = by_name.get("smtp-source")
            share = f" ({by_name[name] / ceiling:5.2f}x)" if ceiling else ""
            cells.append(f"{by_name[name]:>11.0f}{share:>9s}")
        print(f"{name:18s} " + " ".join(cells))


def run_link(tmp: Path, link: Link, count: int, subset: int, *, verp: bool = False,
             plain: bool = False) -> tuple[list[Result], float]:
    """postduif (with VERP and its plain path if asked), mailmerge and smtp-source at one
    link, and the mean message size."""
    print(f"{link.label}: postduif, {count} recipients ...", flush=True)
    ours, size = run_postduif(tmp, count, link)
    results = [ours]
    if plain:
        print(f"{link.label}: postduif's plain path ...", flush=True)
        results.append(run_postduif(tmp, count, replace(link, pipelining=False))[0])
    if link.delay_ms:  # one claim per connection, so that every connection sends
        few = int(DEFAULTS["smtp"]["batch"]) * link.connections
        print(f"{link.label}: postduif, {few} recipients (the fixed cost of a run) ...",
              flush=True)
        results = [replace(r, fixed=run_postduif(tmp, few, replace(
            link, pipelining=r is ours))[0]) for r in results]
    if verp:
        print(f"{link.label}: postduif with VERP ...", flush=True)
        results.append(run_postduif(tmp, count, link, verp=True)[0])
    print(f"{link.label}: mailmerge ...", flush=True)
    results.append(run_mailmerge(tmp, count, subset, link))
    print(f"{link.label}: smtp-source ...", flush=True)
    ceiling = run_smtp_source(tmp, count, size, link)
    if ceiling:
        results.append(ceiling)
    return results, size


def main() -> None:
    parser = argparse.ArgumentParser(description="postduif send benchmark")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--mailmerge-subset", type=int, default=0,
                        help="time mailmerge on this many recipients and extrapolate "
                             "(default: the whole list; 2,000 with --quick)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS,
                        help="SMTP connections for postduif, sessions for smtp-source")
    parser.add_argument("--delay-ms", type=float, default=10.0,
                        help="the second run's reply delay (a link with this round trip; "
                             "0 skips it)")
    parser.add_argument("--slow-count", type=int, default=2_000,
                        help="recipients in the delayed run (mailmerge: 200 of them)")
    parser.add_argument("--quick", action="store_true", help="skip the 100,000-recipient run")
    parser.add_argument("--verp", action="store_true",
                        help="also send with [bounces] verp = true (a signed return path each)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    if sys.argv[1:2] == ["--mailmerge"]:
        mailmerge_child(Path(sys.argv[2]), sys.argv[3:])
        return
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    subset = args.mailmerge_subset or (2_000 if args.quick else args.count)
    fast = Link(args.connections)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        results, size = run_link(tmp, fast, args.count, subset, verp=args.verp)
        slow: list[Result] = []
        if args.delay_ms:
            link = Link(args.connections, args.delay_ms)
            slow, _ = run_link(tmp, link, args.slow_count, min(200, args.slow_count),
                               plain=True)
        report(results, size, fast)
        print(f"peak memory, {args.count} recipients: {results[0].peak_mb:.1f} MB")
        if slow:
            report(slow, size, link)
            summary(results, slow, link)
        if not args.quick:
            print(f"\npostduif: {MEMORY_RUN} recipients (memory) ...", flush=True)
            big, _ = run_postduif(tmp, MEMORY_RUN, fast)
            print(f"postduif {MEMORY_RUN} recipients: {big.rate:.0f} msgs/s, "
                  f"peak {big.peak_mb:.1f} MB (target < {TARGET_MEMORY_MB:g} MB: "
                  f"{verdict(big.peak_mb < TARGET_MEMORY_MB)})")
    if port_open(25):
        print("WARNING: something listens on port 25")


if __name__ == "__main__":
    main()
