"""Calendar feeds are untrusted input: the agenda's feed written or served by someone else.

Classes: a server that is slow, huge or redirects elsewhere (each fetch bounded in time and
size, redirects kept to the feed's origin); recurrence rules that would expand without end;
links of other schemes than http(s) and markup in titles and places; Gancio JSON whose times
are no times or that nests without end. Each ends in an ``agenda-feed`` error or warning
naming the URL or file, within the case's timeout (the old code ran 150 s and more).
"""

from __future__ import annotations

import json
from pathlib import Path

from .support import Case, Prepare, Step, write
from .support_feeds import CAMPAIGN_FILE, calendar, point_agenda_at, serving

CHECK_OK = ("check",)
BUILD = ("build", CAMPAIGN_FILE)
#: A fetch gives up after 20 s, reading after 20 s; a case must end well before the old 150 s.
SLOW_CASE = 45.0
IN_WINDOW = "DTSTART:20261210T180000Z\r\n"


def local(ics: bytes) -> Prepare:
    """The agenda reads ``campaigns/hostile.ics``, written with ``ics``."""
    def prepare(workspace: Path) -> None:
        write("campaigns/hostile.ics", ics)(workspace)
        point_agenda_at(workspace, "hostile.ics")
    return prepare


def checked(code: int, *names: str) -> Step:
    return Step(CHECK_OK, code, ("agenda-feed", *names))


def rule(uid: str, start: str, rrule: str) -> str:
    return (f"UID:{uid}\r\nSUMMARY:Meeting {uid}\r\nDTSTART:{start}\r\nRRULE:{rrule}\r\n"
            f"URL:https://example.org/{uid}\r\n")


def served(name: str, path: str, code: int, *names: str,
           bodies: dict[str, tuple[bytes, str]] | None = None, then: tuple[Step, ...] = ()
           ) -> Case:
    """``check`` (and ``then``) with the agenda at the hostile server's ``path``."""
    return Case(name, lambda workspace: None,
                (Step(CHECK_OK, code, ("agenda-feed", "http://127.0.0.1:", path, *names)),
                 *then),
                timeout=SLOW_CASE, around=serving(path, bodies))


def gancio(name: str, items: str, *names: str) -> Case:
    """A Gancio ``/feed/json`` whose body is ``items``: an error naming the URL."""
    bodies = {"/feed/json": (items.encode(), "application/json")}
    return served(name, "/feed/json", 1, "is not the JSON Gancio serves", *names,
                  bodies=bodies)


def gancio_event(start: object) -> str:
    return json.dumps([{"id": 1, "title": "Borrel", "start_datetime": start}])


HOSTILE_LINKS = calendar(
    "UID:js\r\nSUMMARY:<script>alert(1)</script> \"><img src=x onerror=alert(2)>\r\n"
    f"{IN_WINDOW}URL:javascript:alert(document.cookie)\r\n"
    "LOCATION:data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\r\n",
    "UID:vb\r\nSUMMARY:Place with a quote\r\nDTSTART:20261211T180000Z\r\n"
    "URL: JaVa\tScript:alert(1)\r\nLOCATION:\"><script>alert(3)</script>\r\n",
    "UID:ok\r\nSUMMARY:Online meeting\r\nDTSTART:20261212T180000Z\r\n"
    "URL:https://example.org/ok?a=1&b=\"x\"\r\nLOCATION:https://meet.example.org/ok\r\n")
GANCIO_LINKS = json.dumps([
    {"id": 1, "slug": "x\"><script>alert(1)</script>", "title": "<b onmouseover=alert(1)>Hi",
     "start_datetime": 1796320800, "online_locations": ["javascript:alert(1)",
                                                        "data:text/html,<script>x</script>"],
     "place": {"name": "vbscript:msgbox(1)", "address": "<script>alert(2)</script>"}},
])
DEEP_ICS = (b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VEVENT\r\n" * 100_000
            + b"END:VEVENT\r\n" * 100_000 + b"END:VCALENDAR\r\n")

CASES = [
    # Recurrence that would expand without end: left out with a warning, in seconds.
    Case("a feed event repeating every second without an end",
         local(calendar(rule("s", "20261201T000000Z", "FREQ=SECONDLY"))),
         (checked(0, "campaigns/hostile.ics", "repeats SECONDLY", "leaves it out"),),
         timeout=SLOW_CASE),
    Case("a feed event repeating every minute since 1970",
         local(calendar(rule("m", "19700101T000000Z", "FREQ=MINUTELY;INTERVAL=1"))),
         (checked(0, "campaigns/hostile.ics", "from 1970-01-01", "leaves it out"),),
         timeout=SLOW_CASE),
    Case("a feed event repeating hourly with BYMINUTE and BYSECOND lists",
         local(calendar(rule("b", "20261201T000000Z",
                             "FREQ=HOURLY;BYMINUTE=" + ",".join(map(str, range(60)))
                             + ";BYSECOND=" + ",".join(map(str, range(60)))))),
         (checked(0, "campaigns/hostile.ics", "repeats HOURLY"),), timeout=SLOW_CASE),
    Case("a feed event repeating with INTERVAL=0",
         local(calendar(rule("z", "20261201T000000Z", "FREQ=DAILY;INTERVAL=0"))),
         (checked(0, "campaigns/hostile.ics", "INTERVAL=0"),), timeout=SLOW_CASE),
    Case("feed events whose rule never matches (February 30th, hourly)",
         local(calendar(*(rule(f"f{n}", "20260101T000000Z",
                               "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30") for n in range(20)))),
         (checked(1, "campaigns/hostile.ics", "could not be read within 20 s"),),
         timeout=SLOW_CASE),
    Case("a feed event repeating every 15 minutes, shown at most 100 times",
         local(calendar(rule("d", "20261201T000000Z", "FREQ=MINUTELY;INTERVAL=15"))),
         (checked(0, "campaigns/hostile.ics", "repeats more than 100 times"),),
         timeout=SLOW_CASE),
    Case("a feed nested 100,000 components deep", local(DEEP_ICS),
         (checked(1, "campaigns/hostile.ics", "nest more than 8 deep"),), timeout=SLOW_CASE),
    # Links of other schemes and markup: dropped or escaped in the built email.
    Case("feed links with javascript: and data: schemes and markup in titles",
         local(HOSTILE_LINKS),
         (checked(0, "campaigns/hostile.ics", "javascript:alert(document.cookie)",
                  "is no http(s) link"),
          Step(BUILD, 0, ("agenda-feed", "data:text/html"))),
         timeout=SLOW_CASE),
    served("a Gancio feed with javascript: online locations and a vbscript: place",
           "/feed/json", 0, "an online location", "vbscript:msgbox(1)",
           bodies={"/feed/json": (GANCIO_LINKS.encode(), "application/json")},
           then=(Step(BUILD, 0, ("data:text/html",)),)),
    # A server that drips, floods or redirects elsewhere.
    served("a feed server that drips a byte every 5 s", "/drip.ics", 1,
           "was not fetched within 20 s"),
    served("a 50 MB feed sent without its length", "/huge.ics", 1, "larger than 4 MB"),
    served("a 50 MB feed that announces its length", "/announced.ics", 1, "announces"),
    served("a gzip feed that inflates to 100 MB", "/bomb.ics", 1, "larger than 4 MB"),
    served("a feed that redirects to another port", "/other-port.ics", 1,
           "outside its own origin"),
    served("a feed that redirects to another host", "/other-host.ics", 1,
           "http://localhost:", "outside its own origin"),
    served("a feed that redirects in a loop", "/loop-a.ics", 1, "redirects in a loop"),
    # Gancio JSON whose times are no times, or that nests without end.
    gancio("a Gancio start_datetime of 1e400", gancio_event(1e400).replace("Infinity", "1e400"),
           "event 1", "Unix seconds"),
    gancio("a Gancio start_datetime of 99999999999999999", gancio_event(99999999999999999),
           "event 1", "99999999999999999"),
    gancio("a negative Gancio start_datetime", gancio_event(-1e12), "event 1"),
    gancio("a Gancio start_datetime of NaN", gancio_event(float("nan")), "event 1", "nan"),
    gancio("a Gancio start_datetime that is a string", gancio_event("tomorrow"), "'tomorrow'"),
    gancio("Gancio JSON nested 100,000 deep", "[" * 100_000 + "]" * 100_000,
           "nested too deeply"),
    gancio("Gancio online_locations that is a string",
           json.dumps([{"id": 1, "title": "x", "start_datetime": 1796320800,
                        "online_locations": "javascript:alert(1)"}]), "list of links"),
]
SENDS = {"feed links with javascript: and data: schemes and markup in titles",
         "a Gancio feed with javascript: online locations and a vbscript: place"}
