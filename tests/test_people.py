"""Normalising addresses, languages and free-text fields from join forms."""

from __future__ import annotations

import pytest

from postduif.audience.records import (
    LIMITS,
    InvalidField,
    clean_field,
    lookalike_warning,
    normalise_email,
    normalise_language,
    normalise_link,
    refuse_lookalike,
    split_name,
)
from postduif.errors import PostduifError

OFFERED = ("nl", "en")


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Sanne.de.Vries@Voorbeeld.NL ", "sanne.de.vries@voorbeeld.nl"),
    ("joost+tw@example.org", "joost+tw@example.org"),
    ("Ömer@bücher.example", "ömer@bücher.example"),
])
def test_addresses_are_normalised_to_one_form(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), [
    ("", "is missing"),
    (None, "is missing"),
    ("geen-apenstaartje.nl", "@-sign"),
    ("twee@@voorbeeld.nl", "@"),
    ("spatie in@voorbeeld.nl", "SPACE"),
    ("iemand@localhost", "period"),
    ("a@b.nl\r\nBcc: everyone@example.org", "U+000D"),
    ("x" * 250 + "@voorbeeld.nl", "at most 254"),
    (42, "must be text"),
])
def test_bad_addresses_are_refused_with_a_reason(raw: object, reason: str) -> None:
    with pytest.raises(InvalidField) as caught:
        normalise_email(raw)
    assert caught.value.field == "email"
    assert reason in caught.value.reason


@pytest.mark.parametrize("raw", [
    "nl", "NL", "nl-NL", "nl_NL", "nl-BE", "Nederlands", "nederlands", "Dutch", " Dutch ",
])
def test_dutch_in_its_many_spellings(raw: str) -> None:
    assert normalise_language(raw, OFFERED) == "nl"


@pytest.mark.parametrize("raw", ["en", "EN", "en-GB", "English", "Engels"])
def test_english_in_its_many_spellings(raw: str) -> None:
    assert normalise_language(raw, OFFERED) == "en"


def test_no_language_given_means_the_list_default_decides() -> None:
    assert normalise_language("", OFFERED) == ""
    assert normalise_language(None, OFFERED) == ""


@pytest.mark.parametrize("raw", ["fr", "Frans", "Klingon", "zz-ZZ", "nl\nen"])
def test_languages_not_offered_are_refused(raw: str) -> None:
    with pytest.raises(InvalidField) as caught:
        normalise_language(raw, OFFERED)
    assert caught.value.field == "language"


def test_a_language_is_only_accepted_if_offered() -> None:
    assert normalise_language("English", ("en",)) == "en"
    with pytest.raises(InvalidField):
        normalise_language("Nederlands", ("en",))


def test_fields_are_stripped() -> None:
    assert clean_field("first_name", "  Fatima \u00a0", LIMITS["first_name"]) == "Fatima"


@pytest.mark.parametrize("char", ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028"])
def test_control_characters_are_refused_anywhere_in_a_field(char: str) -> None:
    with pytest.raises(InvalidField) as caught:
        clean_field("first_name", f"organise{char}the union", LIMITS["first_name"])
    assert f"U+{ord(char):04X}" in caught.value.reason
    assert caught.value.field == "first_name"


@pytest.mark.parametrize("char", ["\t", "\x00", "\x1b", "\x85", "\u2028"])
def test_goals_keep_line_breaks_but_refuse_other_controls(char: str) -> None:
    text = clean_field("goals", "Een OR oprichten.\r\nEn dan:\rwinnen.", LIMITS["goals"])
    assert text == "Een OR oprichten.\nEn dan:\nwinnen."
    with pytest.raises(InvalidField):
        clean_field("goals", f"organise{char}the union", LIMITS["goals"])


def test_length_is_bounded_after_stripping() -> None:
    assert clean_field("organization", " " + "o" * 200 + " ", 200) == "o" * 200
    with pytest.raises(InvalidField, match="201 characters long; at most 200"):
        clean_field("organization", "o" * 201, 200)


def test_an_invalid_field_is_a_user_error_naming_the_field() -> None:
    error = InvalidField("last_name", "is too long")
    assert isinstance(error, PostduifError)
    assert str(error) == "last_name: is too long"


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://social.example/@sam", "https://social.example/@sam"),
    ("  http://sam.example  ", "http://sam.example"),
    ("HTTPS://Social.Example/@sam", "HTTPS://Social.Example/@sam"),
    ("https://[2001:db8::1]:8443/sam", "https://[2001:db8::1]:8443/sam"),
    ("linkedin.com/in/sam", "https://linkedin.com/in/sam"),  # as typed into a spreadsheet
    ("www.sam.example", "https://www.sam.example"),
    ("", ""),
])
def test_links_are_web_addresses(raw: str, expected: str) -> None:
    assert normalise_link(raw, "socialLink1") == expected


@pytest.mark.parametrize(("raw", "reason"), [
    ("javascript:alert(1)", "starting with https:// or http://"),
    ("data:text/html;base64,PHNjcmlwdD4=", "starting with https:// or http://"),
    ("ftp://files.example/sam", "starting with https:// or http://"),
    ("mailto:sam@example.org", "starting with https:// or http://"),
    ("file:///etc/passwd", "starting with https:// or http://"),
    ("/in/sam", "starting with https:// or http://"),
    ("sam", "starting with https:// or http://"),
    ("https:///no-host", "host name"),
    ("https://bank.example@evil.example/", "not a valid web address"),
    ("https://sam.example:99999/", "not a valid web address"),
    ("https://sam.example/a b", "not a valid web address"),
    ("https://sam.example/\x00", "U+0000"),
    ("https://sam.example/" + "x" * 500, "at most 500"),
])
def test_other_links_are_refused_naming_the_field(raw: str, reason: str) -> None:
    with pytest.raises(InvalidField, match=reason.replace("+", r"\+").replace("?", r"\?")) as exc:
        normalise_link(raw, "socialLink2")
    assert exc.value.field == "socialLink2"


def test_a_prefixed_link_still_respects_the_length_limit() -> None:
    bare = "sam.example/" + "x" * (LIMITS["social_link"] - 12)
    assert len(bare) == LIMITS["social_link"]
    with pytest.raises(InvalidField, match="at most 500"):
        normalise_link(bare)


@pytest.mark.parametrize(("name", "expected"), [
    ("Eva de Vries", ("Eva", "de Vries")),
    ("  Eva   de  Vries ", ("Eva", "de Vries")),
    ("Jansen, Eva", ("Eva", "Jansen")),
    ("de Vries,Eva", ("Eva", "de Vries")),
    ("López García, Ana María", ("Ana María", "López García")),
    ("Çelik, Zeynep", ("Zeynep", "Çelik")),
    ("Ümit Öztürk", ("Ümit", "Öztürk")),
    ("Eva", ("Eva", "")),
    ("Jansen,", ("Jansen", "")),
    (", Eva", ("Eva", "")),
    ("", ("", "")),
])
def test_names_are_split_into_first_and_last(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_splitting_a_name_leaves_control_characters_to_be_refused() -> None:
    first, _ = split_name("Eva\nBcc: x@example.org")
    with pytest.raises(InvalidField, match="control character U\\+000A"):
        clean_field("first_name", first, LIMITS["first_name"])


BIDI = ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A))]


@pytest.mark.parametrize("char", BIDI)
@pytest.mark.parametrize("field", ["first_name", "last_name", "organization", "goals", "email"])
def test_bidi_controls_are_refused_in_every_text_field(field: str, char: str) -> None:
    with pytest.raises(InvalidField) as caught:
        clean_field(field, f"Sam{char}gro.live", 5000)
    assert caught.value.field == field
    assert caught.value.reason.startswith(
        f"contains the bidirectional control character U+{ord(char):04X} (")


@pytest.mark.parametrize("text", ["\u05e9\u05e8\u05d4 \u05db\u05d4\u05df",  # Hebrew
                                  "\u0641\u0627\u0637\u0645\u0629",  # Arabic
                                  "Zo\u00eb \u00d6zt\u00fcrk", "\u200dZWJ stays"])
def test_right_to_left_names_and_joiners_are_not_bidi_controls(text: str) -> None:
    assert clean_field("first_name", text, 100) == text


@pytest.mark.parametrize(("address", "found"), [
    ("s\u0430m@example.org", "mixes Latin (U+0073 LATIN SMALL LETTER S) and Cyrillic "
                             "(U+0430 CYRILLIC SMALL LETTER A) letters in 's\u0430m'"),
    ("\uff53am@example.org", "a fullwidth character U+FF53 (FULLWIDTH LATIN SMALL LETTER S)"),
    ("sam@ex\u03b1mple.org", "mixes Latin (U+0065 LATIN SMALL LETTER E) and Greek "
                             "(U+03B1 GREEK SMALL LETTER ALPHA) letters in 'ex\u03b1mple'"),
])
def test_mixed_script_addresses_are_warned_about(address: str, found: str) -> None:
    warning = lookalike_warning(normalise_email(address))
    assert warning is not None and warning.startswith(found)
    with pytest.raises(InvalidField, match="^email: mixes letters of different scripts"):
        refuse_lookalike(normalise_email(address))


@pytest.mark.parametrize("address", [
    "sam@example.org", "\u0438\u0432\u0430\u043d@example.org",  # Cyrillic at a Latin domain
    "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
    "zo\u00eb@b\u00fccher.example", "\u03b1\u03b2@example.gr", "sam+1@example.org",
])
def test_single_script_addresses_are_not_warned_about(address: str) -> None:
    email = normalise_email(address)
    assert lookalike_warning(email) is None
    assert refuse_lookalike(email) == email

