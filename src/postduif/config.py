"""Workspace discovery and settings.

A workspace is a directory with a ``postduif.toml``. Its settings are laid over
:data:`DEFAULTS`, and every relative path is resolved against the directory holding the file,
so ``postduif --workspace ../site`` behaves exactly like running inside ``../site``. Secrets are
never read from the file: only the *names* of environment variables are configured there.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from postduif.errors import ConfigError
from postduif.toml_lines import error_line, key_lines

CONFIG_NAME = "postduif.toml"

DEFAULTS: dict[str, Any] = {
    "site": {"path": ".", "base_url": "", "timezone": "Europe/Amsterdam"},
    "sender": {"name": "", "email": "", "reply_to": "", "postal_address": ""},
    "paths": {
        "campaigns": "campaigns",
        "templates": "templates",
        "lists": "lists",
        "build": "build",
        "outbox": "outbox",
    },
    "store": {"path": "lists/postduif.sqlite3"},
    "smtp": {
        "host": "127.0.0.1",
        "port": 25,
        "security": "none",
        "username": "",
        "password_env": "POSTDUIF_SMTP_PASSWORD",
        "timeout": 60.0,
        "ca_file": "",
        "connections": 10,  # measured: sessions multiply the rate at a distance (README)
        "batch": 8,
        "rate_per_second": 0.0,
        "rate_per_hour": 0.0,
    },
    "dkim": {"selector": "", "domain": "", "key_env": "POSTDUIF_DKIM_KEY"},
    "links": {
        "unsubscribe": "{public_url}{lang}/newsletter/unsubscribe/?token={token}",
        "confirm": "{public_url}{lang}/newsletter/confirm/?token={token}",
        "preferences": "{public_url}{lang}/newsletter/preferences/?token={token}",
        "token_key_env": "POSTDUIF_TOKEN_KEY",
    },
    "web": {
        "public_url": "",
        "origins": [],
        "join_success": "{base_url}{lang}/join/success/",
        "subscribe_success": "",
        "trusted_proxies": [],
        "send_greetings": True,
        "greetings_retry_seconds": 300.0,
        "requests_per_minute": 20,
        "join_requests_per_day": 5,
        "confirmations_per_day": 1,
        "honeypot": "nonce",
    },
    "bounces": {
        "host": "",
        "port": 993,
        "security": "tls",
        "username": "",
        "password_env": "POSTDUIF_BOUNCES_PASSWORD",
        "ca_file": "",
        "folder": "INBOX",
        "processed_folder": "postduif-processed",
        "timeout": 60.0,
        "address": "",
        "verp": False,
        "soft_limit": 3,
        "soft_days": 15,
    },
    "images": {"renditions_dir": "static/email", "budget_kb": 200, "max_total_kb": 1024},
}


@dataclass(frozen=True)
class Sender:
    name: str
    email: str
    reply_to: str
    postal_address: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    @property
    def contact(self) -> str:
        """Where readers write to: the reply address, else the sender's."""
        return self.reply_to or self.email


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    username: str
    password_env: str
    timeout: float
    ca_file: str  # a CA bundle to trust besides the system's, e.g. for a private relay
    connections: int
    rate_per_second: float
    rate_per_hour: float
    #: Rows a connection claims per ledger commit: a crash leaves at most ``batch`` ×
    #: ``connections`` messages unknown.
    batch: int = 8

    @property
    def unknown_bound(self) -> int:
        """The most messages a killed run can leave unknown (claimed, not yet recorded)."""
        return self.batch * self.connections

    def password(self) -> str | None:
        """The SMTP password, from the environment variable named in the settings."""
        return os.environ.get(self.password_env) or None


@dataclass(frozen=True)
class DkimSettings:
    """DKIM signing, on when a selector is set; the private key (PEM) comes from ``key_env``."""

    selector: str
    domain: str
    key_env: str

    def private_key(self) -> bytes | None:
        value = os.environ.get(self.key_env)
        return value.encode() if value else None


@dataclass(frozen=True)
class WebSettings:
    """``postduif serve``: who may post the site's forms, where browsers go next, abuse limits.

    ``origins`` are exact ``scheme://host[:port]`` strings; empty means the site's base URL.
    Limits of 0 switch that limit off.
    """

    #: Where ``postduif serve`` is reached from outside, ending in "/" (``{public_url}`` in
    #: ``[links]``); empty: the site's base URL, right only if its host forwards serve's paths.
    public_url: str
    origins: tuple[str, ...]
    join_success: str  # a ``{base_url}{lang}`` pattern: where a plain join form post goes
    subscribe_success: str  # "" : postduif's own "check your inbox" page
    trusted_proxies: tuple[str, ...]  # only these may name the client in X-Forwarded-For
    send_greetings: bool  # serve sends due confirmation and welcome emails itself
    greetings_retry_seconds: float
    requests_per_minute: int  # per client, on the form endpoints
    join_requests_per_day: int  # pending join requests per client
    confirmations_per_day: int  # confirmation emails per address
    honeypot: str  # a form field people leave empty (listmonk's forms call it "nonce")


@dataclass(frozen=True)
class BounceSettings:
    """``postduif bounces``: the return mailbox (IMAP), the envelope sender, soft-bounce rules.

    ``address`` is the envelope sender (Return-Path) of campaigns and greetings, where relays
    send their reports; empty means ``sender.email``. With ``verp`` every message gets its own
    ``local+<signed id>@domain`` of that address, so a report without the original headers is
    still matched exactly. ``soft_limit`` soft bounces within ``soft_days`` days count as a
    hard bounce.
    """

    host: str  # empty: no mailbox configured; ``postduif bounces --from PATH`` still works
    port: int
    security: str  # "tls", "starttls" or "none"
    username: str
    password_env: str
    ca_file: str
    folder: str
    processed_folder: str  # handled messages are moved here, never deleted
    timeout: float
    address: str
    verp: bool
    soft_limit: int
    soft_days: float

    def password(self) -> str | None:
        """The mailbox password, from the environment variable named in the settings."""
        return os.environ.get(self.password_env) or None


@dataclass(frozen=True)
class ImageSettings:
    """Email renditions of the site's images (see :mod:`postduif.renditions`).

    ``renditions_dir`` lies inside the Hugo site's ``static/``, so the site's next deploy
    publishes its files at ``url_path`` below the base URL. An image heavier than
    ``budget_bytes`` gets a rendition; an email whose images weigh more than
    ``max_total_bytes`` is a warning.
    """

    renditions_dir: Path
    url_path: str  # "email/": where Hugo publishes renditions_dir, below baseURL
    budget_bytes: int
    max_total_bytes: int


@dataclass(frozen=True)
class Settings:
    """Everything postduif knows about one workspace, with absolute paths."""

    root: Path
    site_dir: Path
    base_url: str  # empty: take baseURL from the Hugo config
    timezone: str
    sender: Sender
    smtp: SmtpSettings
    campaigns_dir: Path
    templates_dir: Path
    lists_dir: Path
    build_dir: Path
    outbox_dir: Path
    database: Path
    unsubscribe_url: str
    confirm_url: str
    preferences_url: str
    token_key_env: str
    dkim: DkimSettings
    web: WebSettings
    bounces: BounceSettings
    images: ImageSettings

    @property
    def return_path(self) -> str:
        """The envelope sender of everything postduif sends: where bounce reports arrive."""
        return self.bounces.address or self.sender.email

    def token_key(self) -> bytes | None:
        value = os.environ.get(self.token_key_env)
        return value.encode() if value else None


def find_workspace(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds a ``postduif.toml``."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} found in {start} or any parent directory",
        hint="run postduif inside a workspace, or pass --workspace PATH",
    )


def load_settings(workspace: Path) -> Settings:
    """Read ``postduif.toml`` in ``workspace`` (which must exist) over the defaults."""
    path = workspace / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
        user = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", hint="create it, or pass --workspace") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path, line=error_line(exc)) from None
    _refuse_unknown(DEFAULTS, user, path, key_lines(text))
    _refuse_control_in_headers(user, path, key_lines(text))
    merged = _merge(DEFAULTS, user, path)
    return _settings(workspace.resolve(), merged, path)


def _merge(defaults: Mapping[str, Any], user: Mapping[str, Any], path: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for section, default in defaults.items():
        given = user.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"[{section}] must be a table", path=path)
        merged[section] = {**default, **given}
    return merged


def _refuse_unknown(defaults: Mapping[str, Any], user: Mapping[str, Any], path: Path,
                    lines: Mapping[str, int]) -> None:
    """Every unknown setting in one message, so fixing a file takes one round, not one per typo."""
    unknown: list[tuple[str, str, Mapping[str, Any]]] = []  # (dotted key, name, valid keys)
    for key, given in user.items():
        if key not in defaults:
            unknown.append((key, key, defaults))
        elif isinstance(given, dict):
            unknown += [(f"{key}.{name}", name, defaults[key])
                        for name in given if name not in defaults[key]]
    if unknown:
        described = [_nearest(dotted, name, valid, lines) for dotted, name, valid in unknown]
        raise ConfigError(("unknown settings: " if len(unknown) > 1 else "unknown setting ")
                          + "; ".join(described), path=path,
                          line=min((lines[d] for d, _, _ in unknown if d in lines), default=None))


#: Settings that become header values (From, Reply-To): one line each.
HEADER_SETTINGS = (("sender", "name"), ("sender", "email"), ("sender", "reply_to"))


def _refuse_control_in_headers(user: Mapping[str, Any], path: Path,
                               lines: Mapping[str, int]) -> None:
    """A line break in a header setting would be folded away silently (or, written raw,
    start a header of its own), so it is an error naming the setting and its line."""
    for section, key in HEADER_SETTINGS:
        table = user.get(section)
        value = str(table.get(key, "")) if isinstance(table, dict) else ""
        bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            dotted = f"{section}.{key}"
            raise ConfigError(f"{dotted} contains the control character U+{ord(bad):04X}; it "
                              f"goes into a mail header, which is one line",
                              path=path, line=lines.get(dotted))


def _nearest(dotted: str, name: str, valid: Mapping[str, Any],
             lines: Mapping[str, int]) -> str:
    shown = dotted if "." in dotted else f"[{dotted}]"
    notes = [f"line {lines[dotted]}"] if dotted in lines else []
    notes += [f"did you mean {near}?" for near in difflib.get_close_matches(name, list(valid), n=1)]
    return f"{shown} ({'; '.join(notes)})" if notes else shown


def _settings(root: Path, s: dict[str, Any], path: Path) -> Settings:
    def resolve(value: str) -> Path:
        return (root / value).resolve()

    smtp = s["smtp"]
    if smtp["security"] not in ("starttls", "tls", "none"):
        raise ConfigError("smtp.security must be 'starttls', 'tls' or 'none'", path=path)
    for key in ("connections", "batch"):
        if not isinstance(smtp[key], int) or isinstance(smtp[key], bool) or smtp[key] < 1:
            raise ConfigError(f"smtp.{key} must be a whole number, 1 or more "
                              f"(not {smtp[key]!r})", path=path)
    base_url = str(s["site"]["base_url"])
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    web = _web(s["web"], path)
    links = _links(s["links"], web.public_url, path)
    return Settings(
        root=root,
        site_dir=resolve(s["site"]["path"]),
        base_url=base_url,
        timezone=str(s["site"]["timezone"]),
        sender=Sender(**{k: str(v) for k, v in s["sender"].items()}),
        smtp=SmtpSettings(
            host=str(smtp["host"]),
            port=int(smtp["port"]),
            security=str(smtp["security"]),
            username=str(smtp["username"]),
            password_env=str(smtp["password_env"]),
            timeout=float(smtp["timeout"]),
            ca_file=str(resolve(smtp["ca_file"])) if smtp["ca_file"] else "",
            connections=int(smtp["connections"]),
            rate_per_second=float(smtp["rate_per_second"]),
            rate_per_hour=float(smtp["rate_per_hour"]),
            batch=int(smtp["batch"]),
        ),
        campaigns_dir=resolve(s["paths"]["campaigns"]),
        templates_dir=resolve(s["paths"]["templates"]),
        lists_dir=resolve(s["paths"]["lists"]),
        build_dir=resolve(s["paths"]["build"]),
        outbox_dir=resolve(s["paths"]["outbox"]),
        database=resolve(s["store"]["path"]),
        unsubscribe_url=links["unsubscribe"],
        confirm_url=links["confirm"],
        preferences_url=links["preferences"],
        token_key_env=str(s["links"]["token_key_env"]),
        dkim=DkimSettings(**{k: str(v) for k, v in s["dkim"].items()}),
        web=web,
        bounces=_bounces(root, s["bounces"], path),
        images=_images(resolve(s["site"]["path"]), s["images"], path),
    )


#: The ``[links]`` that carry a token, and the placeholders they may use.
LINK_KEYS = ("unsubscribe", "confirm", "preferences")
_LINK_SLOTS = {"public_url": "", "base_url": "", "lang": "", "token": ""}


def _links(links: dict[str, Any], public_url: str, path: Path) -> dict[str, str]:
    """Each link pattern, checked, with ``{public_url}`` filled in: ``web.public_url``, or
    ``{base_url}`` (the site's URL, known once the Hugo config is read) when that is empty."""
    resolved = {}
    for key in LINK_KEYS:
        pattern = str(links[key])
        try:
            pattern.format(**_LINK_SLOTS)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"links.{key}: {pattern!r} may use only {{public_url}}, "
                              f"{{base_url}}, {{lang}} and {{token}} ({exc})", path=path,
                              line=_line(path, f"links.{key}")) from None
        if "{token}" not in pattern:
            raise ConfigError(f"links.{key}: {pattern!r} has no {{token}}: the link could not "
                              "say whose it is", path=path, line=_line(path, f"links.{key}"))
        resolved[key] = pattern.replace("{public_url}", public_url or "{base_url}")
    return resolved


def _public_url(value: object, path: Path) -> str:
    url = str(value)
    if not url:
        return ""
    parts = urlsplit(url)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or "{" in url or "}" in url):
        raise ConfigError(f"web.public_url: {url!r} is not a URL like "
                          "'https://lists.example.org/' (where postduif serve answers)",
                          path=path, line=_line(path, "web.public_url"))
    return url if url.endswith("/") else url + "/"
def _images(site_dir: Path, i: dict[str, Any], path: Path) -> ImageSettings:
    """``renditions_dir`` must lie inside the site's ``static/``: only that is published."""
    static = site_dir / "static"
    # As spelled, not resolved: a static/ that is a symbolic link is still the site's static/.
    directory = Path(os.path.normpath(site_dir / str(i["renditions_dir"])))
    if not directory.is_relative_to(static) or directory == static:
        raise ConfigError(f"images.renditions_dir {i['renditions_dir']!r} must be a folder "
                          f"inside the Hugo site's static/ ({static}), which the site "
                          "publishes", path=path, line=_line(path, "images.renditions_dir"))
    for key in ("budget_kb", "max_total_kb"):
        if not isinstance(i[key], int) or isinstance(i[key], bool) or i[key] < 1:
            raise ConfigError(f"images.{key} must be a whole number of kilobytes, 1 or more "
                              f"(not {i[key]!r})", path=path, line=_line(path, f"images.{key}"))
    return ImageSettings(
        renditions_dir=directory,
        url_path=directory.relative_to(static).as_posix() + "/",
        budget_bytes=i["budget_kb"] * 1024,
        max_total_bytes=i["max_total_kb"] * 1024,
    )


def _line(path: Path, dotted: str) -> int | None:
    return key_lines(path.read_text(encoding="utf-8")).get(dotted)


def _web(w: dict[str, Any], path: Path) -> WebSettings:
    for key in ("origins", "trusted_proxies"):
        if not isinstance(w[key], list) or not all(isinstance(v, str) for v in w[key]):
            raise ConfigError(f"web.{key} must be a list of strings", path=path)
    origins = tuple(v.rstrip("/") for v in w["origins"])
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ConfigError(f"web.origins: {origin!r} is not an origin like "
                              "'https://www.example.org' (scheme, host, optional port)",
                              path=path)
    for proxy in w["trusted_proxies"]:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(f"web.trusted_proxies: {proxy!r} is not an IP address or network "
                              "like '127.0.0.1' or '10.0.0.0/8'", path=path) from None
    for key in ("join_success", "subscribe_success"):
        try:
            str(w[key]).format(base_url="", lang="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"web.{key}: {w[key]!r} may use only {{base_url}} and {{lang}} "
                              f"({exc})", path=path) from None
    limits = ("requests_per_minute", "join_requests_per_day", "confirmations_per_day")
    for key in limits:
        if not isinstance(w[key], int) or w[key] < 0:
            raise ConfigError(f"web.{key} must be a whole number, 0 or more (0: no limit)",
                              path=path)
    return WebSettings(
        public_url=_public_url(w["public_url"], path),
        origins=origins,
        join_success=str(w["join_success"]),
        subscribe_success=str(w["subscribe_success"]),
        trusted_proxies=tuple(w["trusted_proxies"]),
        send_greetings=_flag("web", "send_greetings", w, path),
        greetings_retry_seconds=float(w["greetings_retry_seconds"]),
        requests_per_minute=w["requests_per_minute"],
        join_requests_per_day=w["join_requests_per_day"],
        confirmations_per_day=w["confirmations_per_day"],
        honeypot=str(w["honeypot"]),
    )


def _bounces(root: Path, b: dict[str, Any], path: Path) -> BounceSettings:
    if b["security"] not in ("starttls", "tls", "none"):
        raise ConfigError("bounces.security must be 'tls', 'starttls' or 'none'", path=path)
    if not isinstance(b["soft_limit"], int) or b["soft_limit"] < 1:
        raise ConfigError("bounces.soft_limit must be a whole number, 1 or more", path=path)
    if not isinstance(b["soft_days"], int | float) or b["soft_days"] <= 0:
        raise ConfigError("bounces.soft_days must be a number of days above 0", path=path)
    if b["address"] and "@" not in str(b["address"]):
        raise ConfigError(f"bounces.address: {b['address']!r} is not an email address",
                          path=path)
    return BounceSettings(
        host=str(b["host"]),
        port=int(b["port"]),
        security=str(b["security"]),
        username=str(b["username"]),
        password_env=str(b["password_env"]),
        ca_file=str((root / b["ca_file"]).resolve()) if b["ca_file"] else "",
        folder=str(b["folder"]),
        processed_folder=str(b["processed_folder"]),
        timeout=float(b["timeout"]),
        address=str(b["address"]),
        verp=_flag("bounces", "verp", b, path),
        soft_limit=b["soft_limit"],
        soft_days=float(b["soft_days"]),
    )


def _flag(section: str, key: str, values: Mapping[str, Any], path: Path) -> bool:
    """A true/false setting; the string "false" must not switch something on."""
    value = values[key]
    if not isinstance(value, bool):
        raise ConfigError(f"{section}.{key} must be true or false (without quotes), "
                          f"not {value!r}", path=path, line=_line(path, f"{section}.{key}"))
    return value
