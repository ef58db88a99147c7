"""Faults: a full disk under the dry run, and settings of the wrong type or value.

Each bad setting is one ``Error:`` naming ``postduif.toml:line`` and the key, exit 1, no
traceback, for every command (``check`` and ``send --dry-run`` here); the complete walk over
every key is tests/test_config_schema.py.
"""

from __future__ import annotations

from .support import CAMPAIGN, Case, Step, both, cli, line_of, replace_line, write
from .support_faults import outbox_on_full_disk

CONFIG = "postduif.toml"
PEOPLE = "email,naam,taal\n" + "".join(f"p{n}@example.org,P {n},en\n" for n in range(30))


def bad_setting(name: str, start: str, new: str, *names: str) -> Case:
    """Replace the line of ``postduif.toml`` starting with ``start``; every command refuses."""
    line = line_of(CONFIG, start)
    said = (f"{CONFIG}:{line}: ", *names)
    return Case(name, replace_line(CONFIG, start, new),
                (Step(("check",), 1, said), Step(("send", CAMPAIGN, "--dry-run"), 1, said)))


CASES = [
    Case("a full disk under send --dry-run",
         both(write("people.csv", PEOPLE),
              cli("joins", "import", "people.csv", "--list", "nieuwsbrief", "--confirmed")),
         (Step(("send", CAMPAIGN, "--dry-run"), 1,
               ("Error: cannot write the dry run's messages into", "disk/outbox",
                "No space left on device"), ("Exception ignored",)),),
         around=outbox_on_full_disk("100k")),
    bad_setting("a port that is text", "port = 1025", 'port = "x"', "smtp.port",
                "must be a whole number"),
    bad_setting("a negative timeout", "timeout = 60", "timeout = -1", "bounces.timeout",
                "more than 0"),
    bad_setting("a negative rate", "rate_per_second", "rate_per_second = -5",
                "smtp.rate_per_second", "0 or more"),
    bad_setting("a time zone that does not exist", "timezone", 'timezone = "Mars/Olympus"',
                "site.timezone", "Mars/Olympus"),
    bad_setting("an IMAP port out of range", "port = 993", "port = 99999", "bounces.port",
                "from 1 to 65535"),
    bad_setting("an endless timeout", "timeout = 60", "timeout = inf", "bounces.timeout",
                "finite"),
    bad_setting("a NUL byte in a path", "path = \"lists/", 'path = "lists/\\u0000x.sqlite3"',
                "store.path", "U+0000"),
    bad_setting("a list where text belongs", "host = \"\"", 'host = ["a", "b"]',
                "bounces.host", "a string"),
    bad_setting("an origin with a path", "origins",
                'origins = ["https://www.techwerkers.nl/evil"]', "web.origins", "no path"),
    bad_setting("a proxy that is a host name", "trusted_proxies",
                'trusted_proxies = ["proxy.example.org"]', "web.trusted_proxies"),
]
