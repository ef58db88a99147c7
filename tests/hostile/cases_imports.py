"""Imports and migration: files whose rows would put someone on a list they must not be on.

Two classes. A person named twice in a listmonk export, blocklisted (or disabled) on one row
and enabled on another, in either order and letter case: the firmer status wins, so the
person stays suppressed and is never exported for mailing; two languages for one person (in
one file, or a Dutch and then an English export) are a warning, never a silent switch; a
language the site does not offer gets the list's default with a warning, not a lost
subscriber. And every CSV record the csv module cannot read whole (a field past the limit
inside a blocklisted row's attributes, a quote never closed, text after a quote, a bare CR,
a NUL byte deep in the file): the import stops at the record's line with nothing imported,
so nothing is ever read from inside a field. Each case checks the store afterwards through
``subscribers show`` and ``lists export`` (who is confirmed, who is suppressed).
"""

from __future__ import annotations

from .support import Case, Prepare, Step, both, cli, write

HEADER = "uuid,email,name,attributes,status,created_at,updated_at\n"
TIME = "2024-05-01 10:00:00 +0000 UTC"
#: A row's attributes may hold text with line breaks; this one holds 141 lines, more than
#: the csv module's field limit, and then a whole row that must never be read as one.
LONG_TEXT = "x" * 1000 + "\n" + ("y" * 1000 + "\n") * 140
EVIL = f"u9,evil@example.org,Evil,{{}},enabled,{TIME},{TIME}"
NEVER_CLOSED = 'eva@example.org,Eva,"goals\nevil@example.org,Evil,en\n'


def listmonk_row(email: str, status: str = "enabled", attributes: str = "{}",
                 name: str = "Sam", created: str = TIME) -> str:
    quoted = '"' + attributes.replace('"', '""') + '"'
    return f"u1,{email},{name},{quoted},{status},{created},{TIME}\n"


def export(*rows: str, rel: str = "lm.csv") -> Prepare:
    return write(rel, HEADER + "".join(rows))


def migrate(code: int, *names: str, rel: str = "lm.csv", language: str = "") -> Step:
    option = ("--language", language) if language else ()
    return Step(("migrate", "listmonk", rel, "--list", "nieuwsbrief", *option), code, names)


def suppressed(email: str) -> Step:
    """``subscribers show``: blocklisted, unsubscribed, on no list as confirmed."""
    return Step(("subscribers", "show", email), 0,
                ("Suppressed (blocklisted)", "│ nieuwsbrief │ unsubscribed"), ("│ confirmed",))


def nobody(email: str) -> Step:
    return Step(("subscribers", "show", email), 1, (f"no subscriber {email}",))


def mailed(*present: str, absent: tuple[str, ...] = ()) -> Step:
    """``lists export``: exactly who would get the newsletter (confirmed members)."""
    return Step(("lists", "export", "nieuwsbrief"), 0, present, absent, csv_out=True)


def joins_unreadable(body: str, line: int, what: str) -> Case:
    """``joins import`` of a CSV whose record at ``line`` cannot be read whole: stops there,
    nobody imported (not the rows before it, not the text inside the field)."""
    return Case(
        f"joins import CSV: {what}", write("people.csv", "email,naam,doelen\n" + body),
        (Step(("joins", "import", "people.csv", "--list", "nieuwsbrief", "--confirmed"), 1,
              (f"people.csv:{line}: malformed CSV: {what}", "nothing was imported")),
         nobody("eva@example.org"), nobody("evil@example.org")))


CASES: tuple[Case, ...] = (
    Case("listmonk: blocklisted on one row, enabled in other letter case on a later one",
         export(listmonk_row("bo@example.org"), listmonk_row("spam@example.org", "blocklisted"),
                listmonk_row("SPAM@Example.ORG")),
         (migrate(0, "lm.csv:4: spam@example.org", "blocklisted (line 3) wins over enabled"),
          suppressed("spam@example.org"),
          mailed("bo@example.org", absent=("spam@example.org",)))),
    Case("listmonk: enabled on one row, blocklisted in other letter case on a later one",
         export(listmonk_row("Spam@Example.org"), listmonk_row("spam@example.org", "blocklisted")),
         (migrate(0, "lm.csv:3", "blocklisted wins over enabled (line 2)"),
          suppressed("spam@example.org"), mailed(absent=("spam@example.org",)))),
    Case("listmonk: blocklisted with a broken time, enabled on a later row",
         export(listmonk_row("spam@example.org", "blocklisted", created="gisteren"),
                listmonk_row("SPAM@example.org")),
         (migrate(0, "lm.csv:3", "blocklisted all the same"),
          suppressed("spam@example.org"), mailed(absent=("spam@example.org",)))),
    Case("listmonk: one person on two rows in two languages",
         export(listmonk_row("sam@example.org", attributes='{"lang": "nl"}'),
                listmonk_row("Sam@example.org", attributes='{"lang": "en"}')),
         (migrate(0, "lm.csv:3", "conflicting languages: nl on line 2, en on line 3"),
          mailed("sam@example.org,Sam,,en,"))),
    Case("listmonk: a person in the Dutch export and in the English one",
         both(export(listmonk_row("sam@example.org"), rel="nl.csv"),
              export(listmonk_row("SAM@example.org"), listmonk_row("eva@example.org", name="Eva"),
                     rel="en.csv"),
              cli("migrate", "listmonk", "nl.csv", "--list", "nieuwsbrief", "--language", "nl")),
         (migrate(0, "en.csv:2", "conflicting languages: already on nieuwsbrief in nl, this "
                  "export says en; kept nl", rel="en.csv", language="en"),
          mailed("sam@example.org,Sam,,nl,", "eva@example.org,Eva,,en,"))),
    Case("listmonk: a language the site does not offer",
         export(listmonk_row("hans@example.org", attributes='{"lang": "de"}', name="Hans"),
                listmonk_row("zoe@example.org", attributes='{"taal": 5}', name="Zoe")),
         (migrate(0, "lm.csv:2: hans@example.org: warning: attributes.lang: 'de' is not one "
                  "of the languages offered (en, nl): given the list's default language (nl)",
                  "lm.csv:3: zoe@example.org: warning: attributes.taal: expected text",
                  "2 added", "0 rejected"),
          mailed("hans@example.org,Hans,,nl,", "zoe@example.org,Zoe,,nl,"))),
    Case("listmonk: a field past the csv limit in a blocklisted row's attributes",
         export(listmonk_row("bo@example.org"),
                listmonk_row("spam@example.org", "blocklisted",
                             attributes='{"note": "' + LONG_TEXT + EVIL + '"}')),
         (migrate(1, "lm.csv:3: malformed CSV: a field is longer than 131,072 characters",
                  "nothing was imported"),
          nobody("evil@example.org"), nobody("bo@example.org"))),
    joins_unreadable('sam@example.org,Sam,"' + LONG_TEXT + 'evil@example.org,Evil,en\n"\n'
                     "eva@example.org,Eva,ok\n", 2, "a field is longer than 131,072"),
    joins_unreadable(NEVER_CLOSED, 2, "a quoted field is never closed"),
    joins_unreadable('eva@example.org,"Eva"x,ok\nevil@example.org,Evil,ok\n', 2,
                     "text after the closing quote of a field"),
    joins_unreadable("eva@example.org,Eva\revil@example.org,ok\n", 2,
                     "a carriage return (CR) inside a field that is not quoted"),
    Case("joins import CSV: a NUL byte after the first 8 KiB",
         write("people.csv", "email,naam,doelen\n" + "eva@example.org,Eva,ok\n" * 500
               + "evil@example.org,Evil\x00,ok\n"),
         (Step(("joins", "import", "people.csv", "--list", "nieuwsbrief", "--confirmed"), 1,
               ("people.csv:502: binary data (a NUL byte at offset",)),
          nobody("eva@example.org"))),
)
