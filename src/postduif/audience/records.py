"""Normalising what people type into join forms, before anything reaches the store.

Pure functions, no I/O, so an import can validate every row first and report each rejected one
with its reason. Every field is stripped, bounded in length and refused if it holds control
characters: CR and LF in a name end up in an email header, NUL and friends in a CSV export.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from functools import cache
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from email_validator import EmailNotValidError, validate_email

from postduif.addresses import wire_address
from postduif.errors import PostduifError

#: Longest accepted value per field, in characters. 254 is the SMTP limit for an address.
LIMITS: dict[str, int] = {
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "social_link": 500,
    "organization": 200,
    "goals": 5000,
}

#: Fields people fill in from a text box, where line breaks are part of what they wrote. Such
#: text never goes into a header; line ends are normalised to LF.
MULTILINE = frozenset({"goals"})

# C0/C1 controls (NUL, TAB, CR, LF, DEL, ...) and U+2028/U+2029, which some mail clients and
# editors treat as line breaks as well. One compiled class is far cheaper than a
# unicodedata lookup per character, which matters for 100,000-row imports. Lone surrogates
# (JSON's "\ud800" decodes to one) are not text at all: SQLite cannot store them as UTF-8.
#: Bidirectional controls (embeddings, overrides, isolates, marks) are refused too: U+202E in a
#: name makes "Sam\u202egro.live" show as "Samevil.org" in the review screen and in a greeting.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")
_CONTROL_BUT_LF = re.compile(rf"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")
_IS_BIDI = re.compile(rf"[{_BIDI}]")
#: Scripts whose letters look like Latin ones; mixing them in one part of an address is the
#: homoglyph trick (Cyrillic "а" in "sаm@example.org"). Fullwidth forms look like Latin too.
_LOOKALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
#: A scheme at the start of a link: ``https:``, ``javascript:``, ``mailto:``.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: A link written without a scheme that starts with a host name: ``linkedin.com/in/sam``.
_BARE_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*"
                        r"\.[A-Za-z]{2,}(?:[/?#]|$)")
#: An http(s) link whose host is a plain name and that has no port, user name, space or
#: backslash: valid as it stands. Anything else is taken apart by urlsplit and checked.
_PLAIN_WEB_LINK = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?:[/?#][^\s\\]*)?\Z", re.IGNORECASE)
_LINE_END = re.compile(r"\r\n?")
_SPACES = re.compile(r" +")


class InvalidField(PostduifError):
    """One field of one person is unacceptable; an import rejects the row and goes on."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def clean_field(name: str, value: object, max_len: int) -> str:
    """``value`` stripped, or :class:`InvalidField` if it is not short, printable text.

    ``None`` counts as empty, because JSON forms send ``null`` for fields left blank.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidField(name, f"must be text, not {type(value).__name__}")
    text = value.strip()
    control = _CONTROL
    if name in MULTILINE:
        text, control = _LINE_END.sub("\n", text), _CONTROL_BUT_LF
    found = control.search(text)
    if found:
        raise InvalidField(name, _control_reason(found.group()))
    if len(text) > max_len:
        raise InvalidField(name, f"is {len(text)} characters long; at most {max_len} allowed")
    return text


def _control_reason(char: str) -> str:
    """Why a character is refused; a bidi control is named, as nobody recognises U+202E."""
    if _IS_BIDI.match(char):
        what = unicodedata.name(char, "bidirectional control")
        return (f"contains the bidirectional control character U+{ord(char):04X} ({what}), "
                "which makes text show in a different order than it is written")
    return f"contains the control character U+{ord(char):04X}"


def split_name(name: str) -> tuple[str, str]:
    """``(first, last)`` of a name written in one field, as people and export tools write it.

    ``"Eva de Vries"`` is first name Eva, last name "de Vries" (the first word is the first
    name: the greeting needs it, and Dutch surname prefixes belong to the last name).
    ``"Jansen, Eva"`` is the directory form "Last, First", written by address books and
    listmonk; splitting it at the first space would greet "Jansen,". A single word, or a
    comma with nothing on one side (``"Eva"``, ``"Jansen,"``), is a first name alone, so the
    greeting still has a name. Only spaces separate words: any other whitespace stays in
    place for :func:`clean_field` to refuse as a control character.
    """
    text = name.strip()
    if "," in text:
        last, _, first = (_SPACES.sub(" ", part.strip()) for part in text.partition(","))
        if first and last:
            return first, last
        text = first or last
    first, _, last = _SPACES.sub(" ", text).partition(" ")
    return first, last


def normalise_email(raw: object) -> str:
    """The address in the one form the store keeps: syntax-checked (no DNS), lower-cased.

    Internationalised addresses are accepted: the domain in its Unicode form (``xn--...``
    typed in is stored as the name it spells, so both are one subscriber), a local part
    that is not ASCII as it is (see :func:`address_notes` for what that means for sending).

    Lower-casing the local part too is a deliberate simplification: practically no mail
    server treats ``Ann@`` and ``ann@`` as different people, and one form means one subscriber.
    """
    text = clean_field("email", raw, LIMITS["email"])
    if not text:
        raise InvalidField("email", "is missing")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidField("email", str(exc)) from None
    return checked.normalized.lower()


def lookalike_warning(email: str) -> str | None:
    """Why ``email`` (as :func:`normalise_email` returned it) may imitate another address, or None.

    A warning, not a refusal: the address is valid and may be someone's real one, but an
    organiser should look before mailing it. Each part is judged alone (the local part and
    every domain label), so a Cyrillic name at a Latin domain (``иван@example.org``) is fine;
    a part mixing Latin, Cyrillic and Greek letters, or holding a fullwidth letter, is not.
    Script is read from the character's Unicode name (``CYRILLIC SMALL LETTER A``), which is
    all this needs; no confusables table is involved.
    """
    if email.isascii():  # nearly every address: nothing to look up
        return None
    local, _, domain = email.rpartition("@")
    for part in (local, *domain.split(".")):
        reason = _mixed_script(part)
        if reason:
            return f"{reason} in {part!r}: it may imitate another address; check it before mailing"
    return None


def address_notes(email: str) -> list[str]:
    """What an organiser should know about a valid ``email`` (as :func:`normalise_email`
    returned it) before mailing it; nothing for an ASCII address.

    Accepted at intake, and said in the import report: an internationalised domain
    (``jose@exämple.org``) is kept as written and mailed to its ASCII form
    (``xn--exmple-cua.org``); a local part that is not ASCII (``zoë@example.org``) can only
    be mailed through a server that offers SMTPUTF8, and is marked failed on any other.
    """
    if email.isascii():
        return []
    notes = [warning] if (warning := lookalike_warning(email)) else []
    wire = wire_address(email)
    if not wire.isascii():
        notes.append("the part before the @ is not ASCII: mail to it goes out only through a "
                     "server that offers SMTPUTF8, and is marked failed otherwise")
    elif wire != email:
        notes.append(f"an internationalised domain: kept as written, mailed to {wire}")
    return notes


def refuse_lookalike(email: str) -> str:
    """``email``, or :class:`InvalidField` if it may imitate another address.

    For the site's forms, where anyone can type anything: there a lookalike address is refused
    rather than warned about, since nobody who could judge the warning would see it. A real
    address of that kind (vanishingly rare) can still be added by an organiser, who is warned.
    """
    if lookalike_warning(email):
        raise InvalidField("email", "mixes letters of different scripts (or fullwidth letters); "
                                    "type the address in one script")
    return email


def _mixed_script(part: str) -> str | None:
    """What makes one part of an address look like something it is not, or None."""
    scripts: dict[str, str] = {}
    for char in part:
        name = unicodedata.name(char, "")
        if name.startswith("FULLWIDTH"):
            return f"a fullwidth character U+{ord(char):04X} ({name})"
        script = name.partition(" ")[0]
        if script in _LOOKALIKE_SCRIPTS and char.isalpha():
            scripts.setdefault(script, f"U+{ord(char):04X} {name}")
    if len(scripts) < 2:
        return None
    shown = " and ".join(f"{script.title()} ({char})" for script, char in scripts.items())
    return f"mixes {shown} letters"


def normalise_link(raw: object, field: str = "social_links") -> str:
    """A social link as an absolute ``http``/``https`` URL with a host, or :class:`InvalidField`.

    Organisers open these links to vet a join request, so anything a browser would run or
    hand to another program (``javascript:``, ``data:``, ``mailto:``, ``ftp:``) is refused,
    and so are relative links and links with a user name (``https://bank.example@evil.example``
    shows one host and opens another). A link written without a scheme but starting with a
    host name (``linkedin.com/in/sam``, as people type it into a spreadsheet) gets
    ``https://`` in front: that is what the person meant, and it can only open a web page.
    ``field`` is the name the error is reported under (``socialLink1`` for the site's form).
    """
    text = clean_field(field, raw, LIMITS["social_link"])
    if not text:
        return ""
    if not _SCHEME.match(text) and _BARE_HOST.match(text):
        text = f"https://{text}"
    if _PLAIN_WEB_LINK.match(text):  # nearly every real link: no need to take it apart
        return _within_limit(field, text)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidField(field, "is not a valid web address") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidField(field, "must be a web address starting with https:// or http://")
    if not parts.hostname:
        raise InvalidField(field, "must be a web address with a host name")
    if parts.username is not None or " " in text:
        raise InvalidField(field, "is not a valid web address")
    return _within_limit(field, text)


def _within_limit(field: str, link: str) -> str:
    """``link``, unless ``https://`` put in front made it longer than allowed."""
    if len(link) > LIMITS["social_link"]:
        raise InvalidField(field, f"is {len(link)} characters long; "
                                  f"at most {LIMITS['social_link']} allowed")
    return link


def normalise_language(raw: object, allowed: Collection[str]) -> str:
    """A language code from ``allowed`` for ``raw``, or ``""`` if nothing was given.

    Accepts codes in any case and with a region (``EN``, ``nl-NL``, ``nl_NL``) and the
    language's name in any of the allowed languages (``Nederlands``, ``Dutch``, ``Engels``).
    """
    text = clean_field("language", raw, 50)
    if not text:
        return ""
    code = _names(frozenset(allowed)).get(text.casefold()) or _code(text)
    if code not in allowed:
        choices = ", ".join(sorted(allowed))
        raise InvalidField("language", f"{text!r} is not one of the languages offered ({choices})")
    return code


def _code(text: str) -> str:
    """The language part of a locale identifier, or ``""`` if babel does not know it."""
    try:
        return Locale.parse(text.replace("-", "_").lower()).language
    except (ValueError, UnknownLocaleError):
        return ""


@cache
def _names(allowed: frozenset[str]) -> dict[str, str]:
    """Every allowed language's name, as written in each allowed language and in English."""
    names: dict[str, str] = {}
    for code in allowed:
        for shown_in in allowed | {"en"}:
            name = Locale.parse(code).get_display_name(shown_in)
            if name:
                names[name.casefold()] = code
    return names
