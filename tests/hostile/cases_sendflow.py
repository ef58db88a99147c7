"""The send flow does what the organiser said: a prompt not answered yes records nothing, a
resumed campaign names who confirmed since, options that cannot go together say so, and one
bad reviewer address among several sends to nobody.

No SMTP server runs here: the prompt comes before any connection, and a campaign is started by
a ``send --yes`` whose server refuses the connection (port 1 on 127.0.0.1). The cases that need
a live server (what arrives where) are in tests/test_cli_send_flow.py.
"""

from __future__ import annotations

from pathlib import Path

from .support import CAMPAIGN, Case, Prepare, Step, both, cli, replace_line, run, write

PEOPLE = "email,naam,taal\n" + "".join(f"lid{n}@example.org,Lid {n},{'en' if n % 2 else 'nl'}\n"
                                       for n in range(1, 7))
LATE = "email,taal\nlaat@example.org,en\nweg@example.org,nl\n"
NOT_SENT = Step(("status", CAMPAIGN), 0, ("has not been sent yet",))


def subscribed(rel: str, csv: str) -> Prepare:
    """Write ``rel`` and import it as confirmed newsletter subscribers."""
    return both(write(rel, csv),
                cli("joins", "import", rel, "--list", "nieuwsbrief", "--confirmed"))


def started(workspace: Path) -> None:
    """Start the campaign: ``send --yes`` records its recipients, then finds no server."""
    ran = run(workspace, Step(("send", CAMPAIGN, "--yes"), 1), 60.0)
    assert ran.code == 1 and "cannot connect to 127.0.0.1:1" in ran.output, ran.output


NO_SERVER = replace_line("postduif.toml", "port = 1025", "port = 1")
WITH_PEOPLE = both(subscribed("people.csv", PEOPLE), NO_SERVER)

CASES = [
    # The prompt read end-of-file (no one answered): nothing is recorded, and the next run
    # counts the list afresh.
    Case("send's prompt not answered yes", WITH_PEOPLE,
         (Step(("send", CAMPAIGN), 1, ("Send 6 messages", "nothing recorded")), NOT_SENT)),
    # Started (its server down), then two confirm and one of them leaves again: the resume
    # names the one newcomer and the option, and its no adds nobody.
    Case("subscribers who confirmed after the campaign started",
         both(WITH_PEOPLE, started,
              subscribed("late.csv", LATE),
              cli("subscribers", "unsubscribe", "weg@example.org")),
         (Step(("send", CAMPAIGN), 1, (f"1 subscriber(s) confirmed since {CAMPAIGN}",
                                       f"postduif send {CAMPAIGN} --add-new", "as it was")),
          Step(("send", CAMPAIGN, "--add-new"), 1, (
              f"1 subscriber(s) confirmed since {CAMPAIGN} started", "will be added",
              "Send 7 messages", "as it was"), ("Added",)),
          Step(("send", CAMPAIGN), 1, ("1 subscriber(s) confirmed since", "Send 6 messages")),
          Step(("send", CAMPAIGN, "--yes", "--add-new"), 1, ("Added 1 subscriber(s)",)),
          Step(("send", CAMPAIGN, "--add-new"), 1, ("Send 7 messages", "as it was"),
               ("confirmed since",)))),
    Case("--add-new with --dry-run or --to", WITH_PEOPLE,
         (Step(("send", CAMPAIGN, "--add-new", "--dry-run"), 1, ("--add-new", "--dry-run")),
          Step(("send", CAMPAIGN, "--add-new", "--to", "r@example.org"), 1,
               ("--add-new", "--to")), NOT_SENT)),
    Case("one bad --to among several", WITH_PEOPLE,
         (Step(("send", CAMPAIGN, "--to", "geen-adres", "--to", "goed@example.org"), 1,
               ("'geen-adres' is not an email address", "nothing was sent"), ("sent to",)),
          NOT_SENT)),
]
