"""Reading Hugo site configuration: the real site's split config, YAML, old-style tables, none."""

from __future__ import annotations

from pathlib import Path

import pytest

from postduif.content import load_site, read_hugo_config
from postduif.errors import ConfigError, ContentError

TESTS = Path(__file__).resolve().parent
CORPUS = TESTS.parents[1] / "shared" / "corpus"
TECHWERKERS = CORPUS / "techwerkers"
PAUSEAI = CORPUS / "pauseai-freiburg"
FIXTURES = TESTS / "fixtures"


def test_real_site_config_from_root_file_and_config_dir() -> None:
    config = read_hugo_config(TECHWERKERS)
    assert config.base_url == "https://www.techwerkers.nl/"
    assert config.default_language == "nl"
    assert config.default_in_subdir is True
    assert config.languages == ("nl", "en")
    assert set(config.content_dirs.values()) == {TECHWERKERS / "content"}
    assert not config.by_directory
    # languages.nl.toml writes the title with soft-hyphen entities for the web header
    assert config.titles == {"nl": "Techwerkerscoalitie", "en": "Tech Workers Coalition"}
    assert config.home_url("en") == "https://www.techwerkers.nl/en/"


def test_caller_overrides_base_url_and_languages() -> None:
    config = read_hugo_config(TECHWERKERS, base_url="http://127.0.0.1:1313",
                              languages=["en", "nl"])
    assert config.base_url == "http://127.0.0.1:1313/"
    assert config.default_language == "nl"  # still the site's own default
    assert config.languages == ("nl", "en")


def test_site_without_config_uses_given_languages_and_language_directories() -> None:
    config = read_hugo_config(PAUSEAI, languages=("de", "en"), base_url="https://pauseai.example")
    assert config.default_language == "de"
    assert config.by_directory
    assert config.content_dirs == {"de": PAUSEAI / "content" / "de",
                                   "en": PAUSEAI / "content" / "en"}
    assert config.lang_prefix("de") == ""
    assert config.lang_prefix("en") == "en/"


def test_languages_inferred_from_two_letter_content_directories() -> None:
    config = read_hugo_config(PAUSEAI, base_url="https://pauseai.example")
    assert set(config.languages) == {"de", "en"}
    assert config.default_language == config.languages[0]


def test_a_site_without_base_url_is_an_error_naming_where_to_set_it() -> None:
    """Without a base URL every link would be root-relative: nothing in an email works."""
    with pytest.raises(ConfigError) as caught:
        read_hugo_config(PAUSEAI)
    assert caught.value.path == PAUSEAI / "hugo.toml"  # none there: where it belongs
    assert "no baseURL" in caught.value.message
    assert caught.value.hint is not None
    assert "baseURL" in caught.value.hint and "[site]" in caught.value.hint


@pytest.mark.parametrize("url", ["/", "/club/", "www.example.org"])
def test_a_base_url_without_scheme_and_host_is_an_error(tmp_path: Path, url: str) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "hugo.toml").write_text(f'baseURL = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not an absolute") as caught:
        read_hugo_config(tmp_path)
    assert caught.value.path == tmp_path / "hugo.toml"
    assert read_hugo_config(tmp_path, base_url="https://example.org/club").base_url == \
        "https://example.org/club/"  # postduif.toml's [site] base_url wins


def test_yaml_config_with_content_dir_per_language() -> None:
    config = read_hugo_config(FIXTURES / "site_dirs")
    assert config.languages == ("de", "en")  # by weight, not by order in the file
    assert config.default_language == "de"
    assert config.content_dirs["en"] == FIXTURES / "site_dirs" / "content" / "en"
    assert config.titles == {"de": "Beispielgruppe", "en": "Example group"}


def test_old_style_language_tables_in_the_main_file(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "config.toml").write_text(
        'baseurl = "https://old.example"\ndefaultContentLanguage = "fr"\n'
        '[languages.en]\nlanguageName = "English"\nweight = 1\ntitle = "Old site"\n'
        '[languages.fr]\nlanguageName = "Français"\nweight = 1\ntitle = "Vieux&shy;site"\n',
        encoding="utf-8")
    config = read_hugo_config(tmp_path)
    assert config.languages == ("fr", "en")  # equal weights: the default comes first
    assert config.titles["fr"] == "Vieuxsite"
    assert config.default_in_subdir is False


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "config" / "_default").mkdir(parents=True)
    bad = tmp_path / "config" / "_default" / "languages.nl.toml"
    bad.write_text('weight = 1\ntitle = "unterminated\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_hugo_config(tmp_path)
    assert caught.value.path == bad
    assert caught.value.line == 2
    assert "languages.nl.toml" in str(caught.value)


def test_missing_site_root(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read_hugo_config(tmp_path / "nowhere")
    with pytest.raises(ContentError):
        load_site(tmp_path / "nowhere")


def test_site_without_content_directory(tmp_path: Path) -> None:
    (tmp_path / "hugo.toml").write_text('baseURL = "https://x.example/"\n', encoding="utf-8")
    with pytest.raises(ContentError, match="no content directory"):
        load_site(tmp_path)
