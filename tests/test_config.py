"""Settings: defaults, paths resolved against the config file, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from postduif.config import find_workspace, load_settings
from postduif.errors import ConfigError


def test_paths_resolve_against_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "postduif.toml").write_text('[site]\npath = "../site"\n', encoding="utf-8")
    (tmp_path / "sub").mkdir()
    settings = load_settings(find_workspace(tmp_path / "sub"))
    assert settings.site_dir == (tmp_path.parent / "site").resolve()
    assert settings.database == (tmp_path / "lists/postduif.sqlite3").resolve()
    assert settings.smtp.connections == 10


def test_unknown_setting_and_bad_toml_are_named(tmp_path: Path) -> None:
    config = tmp_path / "postduif.toml"
    config.write_text("[smtp]\nhots = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting smtp\.hots"):
        load_settings(tmp_path)
    config.write_text("[smtp\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="postduif.toml:1: not valid TOML"):
        load_settings(tmp_path)


def test_password_comes_from_the_environment(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "postduif.toml").write_text("", encoding="utf-8")
    settings = load_settings(tmp_path)
    monkeypatch.delenv("POSTDUIF_SMTP_PASSWORD", raising=False)
    assert settings.smtp.password() is None
    monkeypatch.setenv("POSTDUIF_SMTP_PASSWORD", "s3cret")
    assert settings.smtp.password() == "s3cret"


def test_the_smtp_timeout_defaults_to_60_s_and_can_be_set(tmp_path: Path) -> None:
    (tmp_path / "postduif.toml").write_text("", encoding="utf-8")
    assert load_settings(find_workspace(tmp_path)).smtp.timeout == 60.0
    (tmp_path / "postduif.toml").write_text("[smtp]\ntimeout = 5\n", encoding="utf-8")
    assert load_settings(find_workspace(tmp_path)).smtp.timeout == 5.0


def test_the_smtp_batch_defaults_to_8_and_bounds_the_unknown(tmp_path: Path) -> None:
    config = tmp_path / "postduif.toml"
    config.write_text("", encoding="utf-8")
    smtp = load_settings(find_workspace(tmp_path)).smtp
    assert (smtp.batch, smtp.unknown_bound) == (8, 80)
    config.write_text("[smtp]\nbatch = 2\nconnections = 10\n", encoding="utf-8")
    assert load_settings(find_workspace(tmp_path)).smtp.unknown_bound == 20


@pytest.mark.parametrize("setting", ["batch = 0", "batch = 2.5", "connections = 0",
                                     "connections = '4'", "batch = true"])
def test_a_batch_or_connections_that_is_no_count_is_refused(tmp_path: Path,
                                                            setting: str) -> None:
    config = tmp_path / "postduif.toml"
    config.write_text(f"[smtp]\n{setting}\n", encoding="utf-8")
    key = setting.split()[0]
    with pytest.raises(ConfigError, match=rf"smtp\.{key} must be a whole number") as e:
        load_settings(find_workspace(tmp_path))
    assert str(config) in str(e.value)  # the file is named


@pytest.mark.parametrize(("table", "key"), [("bounces", "verp"), ("web", "send_greetings")])
def test_a_quoted_false_is_refused_not_taken_as_true(tmp_path: Path, table: str,
                                                     key: str) -> None:
    (tmp_path / "postduif.toml").write_text(f'[{table}]\n{key} = "false"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{table}.{key} must be true or false") as caught:
        load_settings(tmp_path)
    assert caught.value.line == 2
    (tmp_path / "postduif.toml").write_text(f"[{table}]\n{key} = false\n", encoding="utf-8")
    settings = load_settings(tmp_path)
    assert getattr(getattr(settings, table), key) is False
