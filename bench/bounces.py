"""Bounce processing: 10,000 reports from a Maildir through ``postduif bounces --from``.

What it does:
1. A fresh copy of the sample workspace and a store with 10,000 confirmed subscribers on the
   newsletter, the sample campaign's ledger snapshotted for all of them (what ``send`` leaves).
2. 10,000 reports in a Maildir, made by ``tests/bounce_samples.py`` from the sample reports in
   turn (Postfix, Exim, Microsoft 365 and Gmail DSNs, text bounces, a soft bounce, a complaint,
   auto-replies, an address never mailed, a malformed message), each about another subscriber
   and with its own Message-ID, so every one is classified, matched and applied.
3. ``postduif bounces --from MAILDIR --json`` as a real process, timed from start to exit
   (interpreter start, store, every effect committed): messages per second. Then once more over
   the same Maildir, where every report is already handled.
4. The peer, measured in the same run: a process that reads the same Maildir with the stdlib
   ``mailbox`` module and parses each message with ``email.message_from_bytes``, walking its
   parts, and nothing else: the floor for "read and parse the mailbox" in Python. The ratio
   says what classifying, matching and the store cost on top.

Run: .venv/bin/python bench/bounces.py [--count 10000]
"""

from __future__ import annotations

import argparse
import email
import json
import mailbox
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from postduif.store import Person, Store
from postduif.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sample import copy_workspace  # noqa: E402  (bench/sample.py)
from tests.bounce_samples import CAMPAIGN, TOKEN_KEY, write_reports  # noqa: E402


def populate(root: Path, count: int) -> None:
    """``count`` subscribers ``lid00000@example.org`` ... and the campaign's ledger for them."""
    ws = Workspace.open(root)
    emails = [f"lid{n:05d}@example.org" for n in range(count)]
    with Store.open(ws.settings.database) as store:
        with store.transaction():
            for n, address in enumerate(emails):
                store.join(Person(email=address, language="en" if n % 3 == 0 else "nl"),
                           list="nieuwsbrief", status="confirmed", event="confirmed",
                           source="bench", consent_version="2026-11", default_language="nl")
        store.start_ledger(CAMPAIGN, "nieuwsbrief",
                           ((e, "", "en" if n % 3 == 0 else "nl") for n, e in enumerate(emails)))


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "POSTDUIF_TOKEN_KEY": TOKEN_KEY})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{command} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stdout


def peer(path: Path) -> None:
    """Runs in the child: read and parse every message, nothing else."""
    box = mailbox.Maildir(path, factory=None, create=False)
    parts = 0
    for key in sorted(box.keys()):
        message = email.message_from_bytes(box.get_bytes(key))
        parts += sum(1 for _ in message.walk())
    print(json.dumps({"parts": parts}))


def main() -> None:
    parser = argparse.ArgumentParser(description="postduif bounces benchmark")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--peer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        peer(args.peer)
        return
    with tempfile.TemporaryDirectory(prefix="postduif-bench-") as name:
        tmp = Path(name)
        root = copy_workspace(tmp / "ws")
        print(f"store: {args.count} subscribers, campaign {CAMPAIGN} snapshotted ...",
              flush=True)
        populate(root, args.count)
        box = tmp / "retour"
        write_reports(box, args.count)
        size = sum(p.stat().st_size for p in (box / "new").iterdir()) / args.count
        command = [sys.executable, "-m", "postduif", "bounces", "--from", str(box), "--json"]
        ours, out = timed(command, root)
        report = json.loads(out)
        again, out = timed(command, root)
        repeat = json.loads(out)
        floor, _ = timed([sys.executable, __file__, "--peer", str(box)], root)
    n = args.count
    print(f"\n{n} reports, mean size {size / 1024:.1f} KiB, from a Maildir; each time is a "
          "whole process, start to exit")
    print(f"postduif bounces        {ours:7.2f} s {n / ours:8.0f} msgs/s  (hard {report['hard']}"
          f", soft {report['soft']} of which {report['soft_to_hard']} to hard, complaints "
          f"{report['complaints']}, auto-replies {report['auto_replies']}, not ours "
          f"{report['not_ours']}, not understood {len(report['not_understood'])})")
    print(f"postduif bounces again  {again:7.2f} s {n / again:8.0f} msgs/s  (already handled "
          f"{repeat['already_handled']}: nothing changed)")
    print(f"peer: mailbox + email   {floor:7.2f} s {n / floor:8.0f} msgs/s  (read and parse only)")
    print(f"postduif / peer = {floor / ours:.2f}  (share of the floor's speed)")


if __name__ == "__main__":
    main()
