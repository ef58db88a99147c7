"""Addresses: one address must never stop everyone's mail.

The class: an internationalised address (an IDN domain, a local part that is not ASCII) taken
in by any door (a join import, a listmonk export, ``subscribers add``), and an address in the
store that no message can carry at all (written by an older postduif or by hand). Each is
accepted or refused at intake with what it means said in the report, and afterwards
``send --dry-run`` and ``welcome --dry-run`` write everyone's message: an address whose
message cannot be made is that recipient's failure (listed, exit 1), never a traceback.
The same with a live SMTP server (offering SMTPUTF8 or not), ``send``, ``welcome``, serve's
greetings and a kill -9 of ``send``: tests/test_send_idn.py and test_send_resume_idn.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .support import CAMPAIGN, Case, Prepare, Step, both, cli, write

IDN = "jose@ex\u00e4mple.org"  # the domain goes out as xn--exmple-cua.org
UTF8 = "zo\u00eb@example.org"  # goes out only with SMTPUTF8
BROKEN = "lid\u00f6@exa mple.org"  # no IDNA form: no message can carry it
STORE = "lists/postduif.sqlite3"
PEOPLE = f"email,naam,taal\nsam@example.org,Sam,en\n{IDN},Jos\u00e9,nl\n{UTF8},Zo\u00eb,en\n"
LISTMONK = ("uuid,email,name,attributes,status,created_at,updated_at\n" + "".join(
    f'u{n},{email},"{name}","{{""lang"": ""en""}}",enabled,'
    "2024-05-01 10:00:00 +0000 UTC,2024-05-01 10:00:00 +0000 UTC\n"
    for n, (email, name) in enumerate((("eva@example.org", "Eva"), (IDN.upper(), "Jos\u00e9"),
                                       (UTF8, "Zo\u00eb")))))
DRY_RUN_NOTE = "1 message(s) to an address whose part before the @ is not ASCII"
IDN_NOTE = "mailed to jose@xn--exmple-cua.org"
UTF8_NOTE = "goes out only through a server that offers SMTPUTF8"


def stored_as(old: str, new: str) -> Prepare:
    """Rewrite a subscriber's address in the store itself, below every intake check."""
    def prepare(workspace: Path) -> None:
        with sqlite3.connect(workspace / STORE) as connection:
            changed = connection.execute("UPDATE subscribers SET email = ? WHERE email = ?",
                                         (new, old)).rowcount
        connection.close()
        assert changed == 1
    return prepare


CASES = (
    Case("internationalised addresses in a join import, then dry runs",
         write("people.csv", PEOPLE),
         (Step(("joins", "import", "people.csv", "--list", "nieuwsbrief", "--confirmed"), 0,
               ("3 added", f"people.csv:3: {IDN}", IDN_NOTE, f"people.csv:4: {UTF8}",
                UTF8_NOTE)),
          Step(("send", CAMPAIGN, "--dry-run"), 0, ("3 messages", DRY_RUN_NOTE)),
          Step(("subscribers", "show", "JOSE@XN--EXMPLE-CUA.ORG"), 0, (IDN, "confirmed")))),
    Case("internationalised addresses in a listmonk export, then dry runs",
         write("export.csv", LISTMONK),
         (Step(("migrate", "listmonk", "export.csv", "--list", "nieuwsbrief"), 0,
               ("export.csv:3", IDN_NOTE, "export.csv:4", UTF8_NOTE)),
          Step(("send", CAMPAIGN, "--dry-run"), 0, ("3 messages", DRY_RUN_NOTE)))),
    Case("internationalised addresses added one by one, then a welcome dry run",
         both(cli("subscribers", "add", IDN), cli("subscribers", "add", UTF8)),
         (Step(("subscribers", "add", "\u00e5sa@ex\u00e4mple.org"), 0, (UTF8_NOTE,)),
          Step(("welcome", "--dry-run"), 0,
               ("3 due email(s)", "2 message(s) to an address whose part before the @")))),
    Case("an address in the store that no message can carry",
         both(write("people.csv", PEOPLE),
              cli("joins", "import", "people.csv", "--list", "nieuwsbrief", "--confirmed"),
              cli("subscribers", "add", "new@example.org"),
              cli("subscribers", "add", "eva@example.org"),
              stored_as("sam@example.org", BROKEN), stored_as("new@example.org", BROKEN + "x")),
         (Step(("send", CAMPAIGN, "--dry-run"), 1,
               (f"{BROKEN}: cannot compose the message", "2 messages")),
          Step(("welcome", "--dry-run"), 1,
               (f"{BROKEN}x: cannot compose the message", "1 due email(s)")))),
)

#: Every case writes an outbox whose messages the runner checks for injected headers.
SENDS = {case.name for case in CASES}
