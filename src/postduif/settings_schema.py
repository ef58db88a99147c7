"""The typed schema of ``postduif.toml``: every section, every key, its default, type and rule.

One table instead of checks scattered over the code that reads the settings: a key without a
type here cannot exist (an unknown key is an error), so a wrong type or value is always one
``Error:`` naming ``postduif.toml:line`` and the key, never a traceback later when the value is
used (``port = "x"`` in ``int()``, a NUL byte in a path, ``timeout = -1`` in a socket). The
tests walk this table, so a key added without its rule fails them.

Types are TOML's, strictly: a whole number where one is expected (``25``, not ``25.0`` nor
``"25"``), a number (whole or not) for seconds and rates, ``true``/``false`` without quotes.
No string may hold a control character (line breaks, NUL): none of them is ever meant.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: A rule on a value of the right type: ``None`` when it is fine, else what is wrong with it.
Rule = Callable[[Any], str | None]
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KINDS = {str: "a string in quotes", int: "a whole number", float: "a number",
          bool: "true or false (without quotes)", list: "a list of strings"}


@dataclass(frozen=True)
class Key:
    """One setting: its default, its TOML type, a rule for its value and values that break it."""

    default: Any
    rule: Rule | None = None
    #: Values of the right type that ``rule`` refuses, for the tests (every rule has some).
    bad: tuple[Any, ...] = ()

    @property
    def kind(self) -> type:
        return float if isinstance(self.default, float) else type(self.default)


def _either(*choices: str) -> Rule:
    def rule(value: str) -> str | None:
        return None if value in choices else "must be " + " or ".join(map(repr, choices))
    return rule


def _at_least(low: float) -> Rule:
    def rule(value: float) -> str | None:
        return None if value >= low else f"must be {low:g} or more"
    return rule


def _above_zero(value: float) -> str | None:
    return None if value > 0 else "must be more than 0"


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a port number from 1 to 65535"


def _not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _env_name(value: str) -> str | None:
    return None if _ENV_NAME.fullmatch(value) else (
        "must be the name of an environment variable, like POSTDUIF_SMTP_PASSWORD")


def _email_or_empty(value: str) -> str | None:
    local, at, domain = value.rpartition("@")
    if not value or (at and local and domain and " " not in value and "@" not in local):
        return None
    return "must be an email address like name@example.org (or empty)"


def _url_or_empty(value: str) -> str | None:
    parts = urlsplit(value)
    if not value or (parts.scheme in ("http", "https") and parts.hostname
                     and not parts.query and not parts.fragment):
        return None
    return "must be a URL like 'https://www.example.org/' (or empty)"


def _timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "is not a time zone name like 'Europe/Amsterdam'"
    return None


def _origins(value: list[str]) -> str | None:
    bad = [origin for origin in value if not is_origin(origin.rstrip("/"))]
    return (f"{bad[0]!r} is not an origin like 'https://www.example.org' "
            "(scheme, host, optional port; no path)") if bad else None


def is_origin(value: str) -> bool:
    """``scheme://host[:port]`` and nothing more: no path, query, fragment or user name."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return (parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
            and not (parts.path or parts.query or parts.fragment or "#" in value
                     or "?" in value or parts.username is not None))


def _pattern(*slots: str, need: str = "") -> Rule:
    """A text with ``{slot}`` placeholders: only these, well formed, ``need`` among them."""
    def rule(value: str) -> str | None:
        try:
            value.format(**dict.fromkeys(slots, ""))
        except (KeyError, IndexError, ValueError) as exc:
            named = ", ".join(f"{{{slot}}}" for slot in slots)
            return f"may use only {named} ({exc})"
        if need and f"{{{need}}}" not in value:
            return f"has no {{{need}}}: the link could not say whose it is"
        return None
    return rule


def _public_url(value: str) -> str | None:
    said = _url_or_empty(value)
    return None if not said and "{" not in value and "}" not in value else (
        "is not a URL like 'https://lists.example.org/' (where postduif serve answers)")


def _networks(value: list[str]) -> str | None:
    for proxy in value:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            return f"{proxy!r} is not an IP address or network like '127.0.0.1' or '10.0.0.0/8'"
    return None


SECURITY = _either("starttls", "tls", "none")
#: A rule and values it refuses, shared by keys of one kind.
Checked = tuple[Rule, tuple[Any, ...]]
ENV: Checked = (_env_name, ("", "MY VAR", "1ST"))
POSITIVE: Checked = (_above_zero, (0, -1))
NOT_EMPTY: Checked = (_not_empty, ("", "  "))
LIMIT: Checked = (_at_least(0), (-1, -5))
ONE_OR_MORE: Checked = (_at_least(1), (0, -3))
PORT: Checked = (_port, (0, -1, 65536))
LINK: Checked = (_pattern("public_url", "base_url", "lang", "token", need="token"),
                 ("{public_url}unsubscribe/", "{public_url}?t={token}&{email}", "{token"))
SUCCESS: Checked = (_pattern("base_url", "lang"), ("{base_url}{lang}/{token}/", "{"))
EMAIL: Checked = (_email_or_empty, ("nobody", "a@", "@b.org"))

SCHEMA: dict[str, dict[str, Key]] = {
    "site": {
        "path": Key(".", *NOT_EMPTY),
        "base_url": Key("", _url_or_empty, ("www.example.org", "ftp://x.org/")),
        "timezone": Key("Europe/Amsterdam", _timezone, ("Mars/Olympus", "", "../etc")),
    },
    "sender": {
        "name": Key(""),
        "email": Key("", *EMAIL),
        "reply_to": Key("", *EMAIL),
        "postal_address": Key(""),
    },
    "paths": {name: Key(name, *NOT_EMPTY)
              for name in ("campaigns", "templates", "lists", "build", "outbox")},
    "store": {"path": Key("lists/postduif.sqlite3", *NOT_EMPTY)},
    "smtp": {
        "host": Key("127.0.0.1", *NOT_EMPTY),
        "port": Key(25, *PORT),
        "security": Key("none", SECURITY, ("TLS", "ssl")),
        "username": Key(""),
        "password_env": Key("POSTDUIF_SMTP_PASSWORD", *ENV),
        "timeout": Key(60.0, *POSITIVE),
        "ca_file": Key(""),
        "connections": Key(10, *ONE_OR_MORE),  # measured: sessions multiply the rate (README)
        "batch": Key(8, *ONE_OR_MORE),
        "rate_per_second": Key(0.0, *LIMIT),
        "rate_per_hour": Key(0.0, *LIMIT),
    },
    "dkim": {"selector": Key(""), "domain": Key(""),
             "key_env": Key("POSTDUIF_DKIM_KEY", *ENV)},
    "links": {
        "unsubscribe": Key("{public_url}{lang}/newsletter/unsubscribe/?token={token}", *LINK),
        "confirm": Key("{public_url}{lang}/newsletter/confirm/?token={token}", *LINK),
        "preferences": Key("{public_url}{lang}/newsletter/preferences/?token={token}", *LINK),
        "token_key_env": Key("POSTDUIF_TOKEN_KEY", *ENV),
    },
    "web": {
        "public_url": Key("", _public_url, ("lists.example.org", "https://x.org/?a",
                                            "https://{host}/")),
        "origins": Key([], _origins, (["https://www.example.org/evil"], ["null"],
                                       ["www.example.org"], ["https://x.org?a=1"])),
        "join_success": Key("{base_url}{lang}/join/success/", *SUCCESS),
        "subscribe_success": Key("", *SUCCESS),
        "trusted_proxies": Key([], _networks, (["proxy.example.org"], ["10.0.0.0/33"])),
        "send_greetings": Key(True),
        "greetings_retry_seconds": Key(300.0, *POSITIVE),
        "requests_per_minute": Key(20, *LIMIT),
        "join_requests_per_day": Key(5, *LIMIT),
        "confirmations_per_day": Key(1, *LIMIT),
        "honeypot": Key("nonce"),
    },
    "bounces": {
        "host": Key(""),
        "port": Key(993, *PORT),
        "security": Key("tls", SECURITY, ("TLS", "")),
        "username": Key(""),
        "password_env": Key("POSTDUIF_BOUNCES_PASSWORD", *ENV),
        "ca_file": Key(""),
        "folder": Key("INBOX", *NOT_EMPTY),
        "processed_folder": Key("postduif-processed", *NOT_EMPTY),
        "timeout": Key(60.0, *POSITIVE),
        "address": Key("", *EMAIL),
        "verp": Key(False),
        "soft_limit": Key(3, *ONE_OR_MORE),
        "soft_days": Key(15.0, *POSITIVE),
    },
    "images": {"renditions_dir": Key("static/email", *NOT_EMPTY),
               "budget_kb": Key(200, *ONE_OR_MORE), "max_total_kb": Key(1024, *ONE_OR_MORE)},
}

#: The defaults alone, as ``postduif.toml`` would spell them.
DEFAULTS: dict[str, dict[str, Any]] = {
    section: {name: key.default for name, key in keys.items()} for section, keys in SCHEMA.items()
}


def problem(key: Key, value: Any) -> str | None:
    """What is wrong with ``value`` for ``key`` (its type first, then its rule), or ``None``."""
    kind = key.kind
    fits = (isinstance(value, kind) and not (kind is int and isinstance(value, bool))
            or kind is float and isinstance(value, int) and not isinstance(value, bool))
    if kind is list:
        fits = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not fits:
        return f"must be {_KINDS[kind]}, not {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value!r}"
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str):
            bad = next((c for c in text if unicodedata.category(c) == "Cc"), None)
            if bad is not None:
                return f"contains the control character U+{ord(bad):04X}"
    said = key.rule(value) if key.rule else None
    if said and kind in (int, float):  # "must be a whole number, 1 or more"
        said = f"must be {_KINDS[kind]}, {said.removeprefix('must be ')}"
    return f"{said} (not {value!r})" if said else None


def first_problem(user: Mapping[str, Any], lines: Mapping[str, int]
                  ) -> tuple[str, str, int | None] | None:
    """The first bad setting in file order: (dotted key, what is wrong, its line)."""
    found = []
    for section, given in user.items():
        if section not in SCHEMA:
            continue  # unknown settings are refused before, with suggestions
        if not isinstance(given, dict):
            found.append((section, f"[{section}] must be a table of settings, not {given!r}"))
            continue
        for name, value in given.items():
            said = problem(SCHEMA[section][name], value) if name in SCHEMA[section] else None
            if said:
                found.append((f"{section}.{name}", f"{section}.{name} {said}"))
    if not found:
        return None
    dotted, message = min(found, key=lambda item: lines.get(item[0], 0))
    return dotted, message, lines.get(dotted)
