"""Workspace discovery and settings.

A workspace is a directory with a ``postduif.toml``. Its settings are laid over
:data:`DEFAULTS`, and every relative path is resolved against the directory holding the file,
so ``postduif --workspace ../site`` behaves exactly like running inside ``../site``. Secrets are
never read from the file: only the *names* of environment variables are configured there.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postduif.errors import ConfigError
from postduif.settings_schema import DEFAULTS, first_problem
from postduif.toml_lines import error_line, key_lines

CONFIG_NAME = "postduif.toml"

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
    lines = key_lines(text)
    _refuse_unknown(DEFAULTS, user, path, lines)
    bad = first_problem(user, lines)
    if bad is not None:
        _, message, line = bad
        raise ConfigError(message, path=path, line=line)
    merged = {section: {**default, **user.get(section, {})}
              for section, default in DEFAULTS.items()}
    return _settings(workspace.resolve(), merged, path)


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


def _nearest(dotted: str, name: str, valid: Mapping[str, Any],
             lines: Mapping[str, int]) -> str:
    shown = dotted if "." in dotted else f"[{dotted}]"
    notes = [f"line {lines[dotted]}"] if dotted in lines else []
    notes += [f"did you mean {near}?" for near in difflib.get_close_matches(name, list(valid), n=1)]
    return f"{shown} ({'; '.join(notes)})" if notes else shown


def _settings(root: Path, s: dict[str, Any], path: Path) -> Settings:
    """The checked values (see :mod:`postduif.settings_schema`) as typed, absolute settings."""
    def resolve(value: str) -> Path:
        return (root / value).resolve()

    smtp = s["smtp"]
    base_url = s["site"]["base_url"]
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    web = _web(s["web"])
    links = _links(s["links"], web.public_url)
    return Settings(
        root=root,
        site_dir=resolve(s["site"]["path"]),
        base_url=base_url,
        timezone=s["site"]["timezone"],
        sender=Sender(**s["sender"]),
        smtp=SmtpSettings(**{**smtp, "timeout": float(smtp["timeout"]),
                             "rate_per_second": float(smtp["rate_per_second"]),
                             "rate_per_hour": float(smtp["rate_per_hour"]),
                             "ca_file": str(resolve(smtp["ca_file"])) if smtp["ca_file"] else ""}),
        campaigns_dir=resolve(s["paths"]["campaigns"]),
        templates_dir=resolve(s["paths"]["templates"]),
        lists_dir=resolve(s["paths"]["lists"]),
        build_dir=resolve(s["paths"]["build"]),
        outbox_dir=resolve(s["paths"]["outbox"]),
        database=resolve(s["store"]["path"]),
        unsubscribe_url=links["unsubscribe"],
        confirm_url=links["confirm"],
        preferences_url=links["preferences"],
        token_key_env=s["links"]["token_key_env"],
        dkim=DkimSettings(**s["dkim"]),
        web=web,
        bounces=BounceSettings(**{**s["bounces"], "timeout": float(s["bounces"]["timeout"]),
                                  "soft_days": float(s["bounces"]["soft_days"]),
                                  "ca_file": str(resolve(s["bounces"]["ca_file"]))
                                  if s["bounces"]["ca_file"] else ""}),
        images=_images(resolve(s["site"]["path"]), s["images"], path),
    )


#: The ``[links]`` that carry a token.
LINK_KEYS = ("unsubscribe", "confirm", "preferences")


def _links(links: dict[str, Any], public_url: str) -> dict[str, str]:
    """Each link pattern with ``{public_url}`` filled in: ``web.public_url``, or ``{base_url}``
    (the site's URL, known once the Hugo config is read) when that is empty."""
    return {key: links[key].replace("{public_url}", public_url or "{base_url}")
            for key in LINK_KEYS}


def _images(site_dir: Path, i: dict[str, Any], path: Path) -> ImageSettings:
    """``renditions_dir`` must lie inside the site's ``static/``: only that is published."""
    static = site_dir / "static"
    # As spelled, not resolved: a static/ that is a symbolic link is still the site's static/.
    directory = Path(os.path.normpath(site_dir / i["renditions_dir"]))
    if not directory.is_relative_to(static) or directory == static:
        raise ConfigError(f"images.renditions_dir {i['renditions_dir']!r} must be a folder "
                          f"inside the Hugo site's static/ ({static}), which the site "
                          "publishes", path=path, line=_line(path, "images.renditions_dir"))
    return ImageSettings(
        renditions_dir=directory,
        url_path=directory.relative_to(static).as_posix() + "/",
        budget_bytes=i["budget_kb"] * 1024,
        max_total_bytes=i["max_total_kb"] * 1024,
    )


def _line(path: Path, dotted: str) -> int | None:
    return key_lines(path.read_text(encoding="utf-8")).get(dotted)


def _web(w: dict[str, Any]) -> WebSettings:
    public_url = w["public_url"]
    return WebSettings(**{
        **w, "public_url": public_url if not public_url or public_url.endswith("/")
        else public_url + "/",
        "origins": tuple(v.rstrip("/") for v in w["origins"]),
        "trusted_proxies": tuple(w["trusted_proxies"]),
        "greetings_retry_seconds": float(w["greetings_retry_seconds"]),
    })
