"""deploy/ stays in step with the app: every route is forwarded, nothing else, to one port."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Route

from postduif.web import PORT, create_app
from postduif.workspace import Workspace
from tests.web_support import KEY

from .conftest import REPO

DEPLOY = REPO / "deploy"
LANGS = ("nl", "en")


@pytest.fixture
def app_paths(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.setenv("POSTDUIF_TOKEN_KEY", KEY)
    app = create_app(Workspace.open(workspace))
    return {route.path.format(lang=lang) for route in app.routes
            if isinstance(route, Route) for lang in LANGS}


def _caddy_paths() -> set[str]:
    text = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    found = re.search(r"^\s*@postduif path (.+)$", text, flags=re.MULTILINE)
    assert found, "the Caddyfile names postduif's paths in one @postduif matcher"
    return set(found.group(1).split())


def _nginx_location() -> re.Pattern[str]:
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    found = re.search(r"location ~ (\S+) \{", text)
    assert found, "nginx.conf forwards postduif's paths in one regex location"
    return re.compile(found.group(1))


def test_caddy_forwards_exactly_the_apps_paths(app_paths: set[str]) -> None:
    assert _caddy_paths() == app_paths


def test_nginx_forwards_exactly_the_apps_paths(app_paths: set[str]) -> None:
    location = _nginx_location()
    for path in app_paths:
        assert location.fullmatch(path), path
    for path in ("/", "/nl/", "/de/join", "/nl/joinx", "/nl/join/", "/nl/newsletter/",
                 "/nl/newsletter/subscribe/", "/nl/admin", "/../nl/join"):
        assert not location.fullmatch(path), path


def test_the_proxies_and_the_unit_agree_on_the_port() -> None:
    unit = (DEPLOY / "postduif-serve.service").read_text(encoding="utf-8")
    assert f"--host 127.0.0.1 --port {PORT}" in unit
    assert f"reverse_proxy 127.0.0.1:{PORT}" in (DEPLOY / "Caddyfile").read_text("utf-8")
    assert f"proxy_pass http://127.0.0.1:{PORT};" in (DEPLOY / "nginx.conf").read_text("utf-8")


def test_the_unit_keeps_secrets_out_of_git_and_restarts() -> None:
    lines = set((DEPLOY / "postduif-serve.service").read_text(encoding="utf-8").splitlines())
    for line in ("User=postduif", "Restart=on-failure", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "EnvironmentFile=/etc/postduif/serve.env",
                 "WorkingDirectory=/srv/postduif/workspace", "StateDirectory=postduif"):
        assert line in lines, line
    assert not [line for line in lines if re.match(r"Environment=.*(KEY|PASSWORD)", line)]
