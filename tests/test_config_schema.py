"""Every key of ``postduif.toml``, given a wrong type or a wrong value, is one ConfigError naming
the file, the line and the key; walked over the schema, so a key added without a rule fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from postduif.config import load_settings
from postduif.errors import ConfigError
from postduif.settings_schema import SCHEMA, Key
from tests.conftest import REPO

KEYS = [(section, name, key) for section, keys in SCHEMA.items() for name, key in keys.items()]
IDS = [f"{section}.{name}" for section, name, _ in KEYS]
#: Values of another TOML type than each kind takes (an int is a fine float).
WRONG_TYPES: dict[type, tuple[Any, ...]] = {
    str: (5, True, ["a"]), int: ("x", 2.5, True, "25"), float: ("x", True, [1]),
    bool: ("false", 0, "true"), list: ("x", [1], [["a"]]),
}
PADDING = "# a comment\n\n"  # so the key is not on line 1 by chance


def toml(value: Any) -> str:
    """``value`` spelled as TOML (JSON's spelling of these types is valid TOML)."""
    return json.dumps(value)


def refused(tmp_path: Path, section: str, name: str, value: str) -> ConfigError:
    (tmp_path / "postduif.toml").write_text(f"{PADDING}[{section}]\n{name} = {value}\n",
                                            encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    return caught.value


def names_the_key(error: ConfigError, tmp_path: Path, section: str, name: str) -> None:
    assert error.path == tmp_path / "postduif.toml"
    assert error.line == PADDING.count("\n") + 2
    assert f"postduif.toml:{error.line}: {section}.{name} " in str(error)


def test_the_sample_settings_are_valid() -> None:
    settings = load_settings(REPO)
    assert (settings.smtp.port, settings.web.public_url) == (1025, "https://lists.techwerkers.nl/")


@pytest.mark.parametrize(("section", "name", "key"), KEYS, ids=IDS)
def test_a_wrong_type_is_one_error_naming_the_line_and_key(
        tmp_path: Path, section: str, name: str, key: Key) -> None:
    for value in WRONG_TYPES[key.kind]:
        error = refused(tmp_path, section, name, toml(value))
        names_the_key(error, tmp_path, section, name)
        assert "must be " in error.message


@pytest.mark.parametrize(("section", "name", "key"), KEYS, ids=IDS)
def test_the_default_is_taken_and_each_bad_value_refused(
        tmp_path: Path, section: str, name: str, key: Key) -> None:
    config = tmp_path / "postduif.toml"
    config.write_text(f"[{section}]\n{name} = {toml(key.default)}\n", encoding="utf-8")
    load_settings(tmp_path)
    assert (key.rule is None) == (key.bad == ()), "a rule comes with values it refuses"
    for value in key.bad:
        error = refused(tmp_path, section, name, toml(value))
        names_the_key(error, tmp_path, section, name)
        assert repr(value) in error.message


TEXT_KEYS = [(s, n, k) for s, n, k in KEYS if k.kind in (str, list)]


@pytest.mark.parametrize(("section", "name", "key"), TEXT_KEYS,
                         ids=[f"{s}.{n}" for s, n, _ in TEXT_KEYS])
@pytest.mark.parametrize("control", ["\x00", "\n", "\x1b"])
def test_no_text_setting_holds_a_control_character(
        tmp_path: Path, section: str, name: str, key: Key, control: str) -> None:
    text = f"x{control}y"
    error = refused(tmp_path, section, name, toml([text] if key.kind is list else text))
    names_the_key(error, tmp_path, section, name)
    assert f"U+{ord(control):04X}" in error.message


NUMBERS = [(s, n, k) for s, n, k in KEYS if k.kind is float]


@pytest.mark.parametrize(("section", "name", "key"), NUMBERS,
                         ids=[f"{s}.{n}" for s, n, _ in NUMBERS])
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_number_is_finite(tmp_path: Path, section: str, name: str, key: Key,
                            value: str) -> None:
    names_the_key(refused(tmp_path, section, name, value), tmp_path, section, name)


def test_the_issues_examples(tmp_path: Path) -> None:
    for section, name, value, said in [
        ("smtp", "port", '"x"', "smtp.port must be a whole number, not 'x'"),
        ("smtp", "timeout", "-1", "smtp.timeout must be a number, more than 0 (not -1)"),
        ("smtp", "rate_per_second", "-5", "must be a number, 0 or more (not -5)"),
        ("site", "timezone", '"Mars/Olympus"', "is not a time zone name"),
        ("bounces", "port", "99999", "must be a whole number, a port number from 1 to 65535"),
    ]:
        error = refused(tmp_path, section, name, value)
        names_the_key(error, tmp_path, section, name)
        assert said in error.message


def test_a_section_that_is_no_table_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "postduif.toml").write_text('smtp = "localhost"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"postduif.toml:1: \[smtp\] must be a table"):
        load_settings(tmp_path)


def test_the_first_bad_key_in_the_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "postduif.toml").write_text(
        '[web]\nrequests_per_minute = -1\n[smtp]\nport = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"postduif.toml:2: web.requests_per_minute"):
        load_settings(tmp_path)
