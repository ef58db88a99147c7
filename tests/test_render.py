"""The renderer end to end with the repository's real templates: structure, languages, safety."""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from postduif.errors import ConfigError, RenderError
from postduif.render import (
    EmailContext,
    Event,
    Renderer,
    Section,
    fields_used,
    personalise,
    placeholder,
)

from .conftest import REPO

TEMPLATES = REPO / "templates"
STRINGS = tomllib.loads((TEMPLATES / "strings.toml").read_text(encoding="utf-8"))
START = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)  # 19:00 in Amsterdam
URL_NL = "https://www.techwerkers.nl/nl/posts/2026-dec/"
URL_EN = "https://www.techwerkers.nl/en/posts/2026-dec/"
MEETUP_NL = "https://www.techwerkers.nl/nl/events/borrel/"
MEETUP_EN = "https://www.techwerkers.nl/en/events/borrel/"
CALL = "https://meet.example.org/techwerkers?room=1&pin=2"


class Page(HTMLParser):
    """What a reader and a mail client see of a rendered document, collected with html.parser."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.title = ""
        self.styles: list[str] = []
        self.texts: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, link text)
        self.ids: set[str] = set()
        self.inline_styles: dict[str, list[str]] = {}  # tag -> style attributes
        self.tags: list[str] = []
        self._open: list[str] = []
        self._link: list[str] | None = None
        self._href = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        self.tags.append(tag)
        if tag == "html":
            self.lang = attr.get("lang", "")
        if "id" in attr:
            self.ids.add(attr["id"])
        if "style" in attr:
            self.inline_styles.setdefault(tag, []).append(attr["style"])
        if tag == "a":
            self._link, self._href = [], attr.get("href", "")
        if tag not in ("br", "img", "meta", "link", "hr"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass
        if tag == "a" and self._link is not None:
            self.links.append((self._href, " ".join("".join(self._link).split())))
            self._link = None

    def handle_data(self, data: str) -> None:
        if "style" in self._open:
            self.styles.append(data)
        elif "title" in self._open:
            self.title += data
        elif "body" in self._open and data.strip():
            self.texts.append(" ".join(data.split()))
            if self._link is not None:
                self._link.append(data)

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def hrefs(self, text: str) -> list[str]:
        return [href for href, shown in self.links if shown == text]


def section(lang: str, **changes: object) -> Section:
    nl = lang == "nl"
    base = Section(
        lang=lang,
        title="Nieuws uit december" if nl else "News from December",
        body_html=("<p>De borrel is <strong>terug</strong> &amp; iedereen is welkom.</p>"
                   "<h2>Op de radar</h2><ul><li>Een petitie</li><li>Een podcast</li></ul>")
        if nl else ("<p>The social is <strong>back</strong> &amp; everyone is welcome.</p>"
                    "<h2>On the radar</h2><ul><li>A petition</li><li>A podcast</li></ul>"),
        page_url=URL_NL if nl else URL_EN,
        events=(
            Event("Decemberborrel" if nl else "December social", START, "Amsterdam",
                  MEETUP_NL if nl else MEETUP_EN, ""),
            Event("Online overleg" if nl else "Online meeting", START, CALL,
                  MEETUP_NL + "online/" if nl else MEETUP_EN + "online/", ""),
        ),
        alternates={"en": URL_EN} if nl else {"nl": URL_NL},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def context(*sections: Section, template: str = "newsletter", **changes: object) -> EmailContext:
    base = EmailContext(
        template=template,
        lang=sections[0].lang if sections else "nl",
        subject="Nieuwsbrief december",
        preheader="De borrel is terug",
        sections=sections,
        sender_name="Techwerkers",
        sender_email="nieuwsbrief@techwerkers.nl",
        contact_email="hey@techwerkers.nl",
        postal_address="Postbus 123, 1000 AA Amsterdam",
        site_title="Techwerkers",
        site_url="https://www.techwerkers.nl/nl/",
        list_title="de nieuwsbrief van Techwerkers",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


def test_templates_are_the_pairs_without_the_layout(renderer: Renderer) -> None:
    names = renderer.templates()
    assert {"newsletter", "welcome", "confirm"} <= set(names)
    assert "layout" not in names
    for name in names:
        assert (TEMPLATES / f"{name}.mjml.j2").is_file()
        assert (TEMPLATES / f"{name}.txt.j2").is_file()


def test_every_language_has_the_same_strings() -> None:
    assert set(STRINGS) >= {"nl", "en"}
    assert len({frozenset(table) for table in STRINGS.values()}) == 1


def test_dutch_newsletter(renderer: Renderer) -> None:
    out = renderer.render(context(section("nl")))
    page = Page(out.html)
    assert (out.lang, page.lang, page.title) == ("nl", "nl", "Nieuwsbrief december")
    assert "De borrel is terug & iedereen is welkom." in page.text
    assert "dinsdag 8 december 2026, 19:00" in page.text
    assert page.hrefs("Decemberborrel") == [MEETUP_NL]
    assert page.hrefs(CALL) == [CALL]  # an online location is a link
    assert page.hrefs(STRINGS["nl"]["unsubscribe"]) == [placeholder("UNSUBSCRIBE_URL")]
    assert page.hrefs(STRINGS["nl"]["preferences"]) == [placeholder("PREFERENCES_URL")]
    assert page.hrefs(STRINGS["nl"]["web_version"]) == [URL_NL]
    assert page.hrefs("Read this in English") == [URL_EN]
    assert "Postbus 123, 1000 AA Amsterdam" in page.text
    assert "de nieuwsbrief van Techwerkers" in page.text
    assert not any(href.startswith("#") for href, _ in page.links)  # no jump link: one language
    assert (out.greeting_named, out.greeting_anonymous) == ("Hoi {name},", "Hoi,")


def test_english_newsletter(renderer: Renderer) -> None:
    out = renderer.render(context(section("en")))
    page = Page(out.html)
    assert (out.lang, page.lang) == ("en", "en")
    assert "Tuesday 8 December 2026, 19:00" in page.text
    assert "dinsdag" not in page.text
    assert page.hrefs("Lees dit in het Nederlands") == [URL_NL]
    assert page.hrefs("Unsubscribe") == [placeholder("UNSUBSCRIBE_URL")]
    assert STRINGS["en"]["agenda_heading"] in page.texts
    assert out.greeting_named == "Hi {name},"


def test_bilingual_newsletter_dutch_first_with_jump_link(renderer: Renderer) -> None:
    out = renderer.render(context(section("nl"), section("en")))
    page = Page(out.html)
    assert out.lang == "nl+en"
    assert page.tags.count("h1") == 2
    text = page.text
    assert text.index("Nieuws uit december") < text.index("News from December")
    assert text.index("dinsdag 8 december 2026, 19:00") < text.index(
        "Tuesday 8 December 2026, 19:00")
    jump = [href for href, shown in page.links if href.startswith("#")]
    assert jump == ["#section-en"]
    assert "section-en" in page.ids
    assert text.index("Read this in English") < text.index("Nieuws uit december")
    assert page.hrefs("Webversie") == [URL_NL] and page.hrefs("Web version") == [URL_EN]
    assert "Read this in English" not in out.text.split("------")[-1]  # both present: no alternate
    assert out.text.index("Nieuws uit december") < out.text.index("News from December")


def test_css_is_inlined_and_media_queries_kept(renderer: Renderer) -> None:
    page = Page(renderer.render(context(section("nl"))).html)
    assert any("font-size" in style for style in page.inline_styles["h1"])
    assert any("margin" in style for style in page.inline_styles["li"])
    assert any("color" in style for style in page.inline_styles["a"])
    assert any("@media" in css and "max-width: 480px" in css for css in page.styles)
    assert not any("googleapis" in css for css in page.styles)


def test_placeholders_survive_and_personalise_escapes(renderer: Renderer) -> None:
    out = renderer.render(context(section("nl")))
    assert f'href="{placeholder("UNSUBSCRIBE_URL")}"' in out.html
    assert placeholder("GREETING") in out.html and placeholder("GREETING") in out.text
    assert fields_used(out) == {"GREETING", "UNSUBSCRIBE_URL", "PREFERENCES_URL"}
    name = '<Sam & "Jo">'
    unsubscribe = "https://lijst.techwerkers.nl/afmelden?t=a1&l=nl"
    preferences = "https://lijst.techwerkers.nl/voorkeuren?t=b2&l=nl"
    html, text = personalise(out, {
        "GREETING": out.greeting_named.format(name=name),
        "UNSUBSCRIBE_URL": unsubscribe,
        "PREFERENCES_URL": preferences,
    })
    assert "%%" not in html and "%%" not in text
    assert f"Hoi {name}," in text and unsubscribe in text and preferences in text
    assert "<Sam" not in html and "Hoi &lt;Sam &amp; &quot;Jo&quot;&gt;," in html
    page = Page(html)
    assert f"Hoi {name}," in page.texts
    assert page.hrefs("Afmelden") == [unsubscribe]
    assert page.hrefs("Voorkeuren aanpassen") == [preferences]


def test_personalise_names_a_missing_value(renderer: Renderer) -> None:
    out = renderer.render(context(section("nl")))
    with pytest.raises(RenderError, match="UNSUBSCRIBE_URL"):
        personalise(out, {"GREETING": "Hoi,"})


def test_personalise_is_cheap_enough_for_a_large_list(renderer: Renderer) -> None:
    out = renderer.render(context(section("nl"), section("en")))
    started = time.perf_counter()
    for number in range(10_000):
        personalise(out, {"GREETING": f"Hoi lid {number},",
                          "UNSUBSCRIBE_URL": f"https://x.nl/u/{number}",
                          "PREFERENCES_URL": f"https://x.nl/p/{number}"})
    assert time.perf_counter() - started < 10  # about 0.3 s here; generous for slow machines


def test_autoescape_in_subject_and_titles(renderer: Renderer) -> None:
    subject = "Nieuws <script>alert(1)</script> & meer"
    sneaky = section("nl", title="Titel met <b>vet</b>")
    out = renderer.render(context(sneaky, subject=subject))
    page = Page(out.html)
    assert page.title == subject
    assert "Titel met <b>vet</b>" in page.texts
    assert "script" not in page.tags and "b" not in page.tags  # text, never elements
    assert out.subject == subject
    assert "Titel met <b>vet</b>" in out.text  # the text part is not HTML: no escaping there


def test_text_part_is_wrapped_and_keeps_links(renderer: Renderer) -> None:
    long_body = "<p>" + "Een zin die steeds weer terugkomt. " * 12 + "</p>"
    out = renderer.render(context(section("nl", body_html=long_body)))
    lines = out.text.splitlines()
    assert all(len(line) <= 72 or "http" in line or "%%" in line for line in lines)
    assert "dinsdag 8 december 2026, 19:00" in lines
    assert MEETUP_NL in lines
    assert f"Read this in English: {URL_EN}" in lines
    assert "&amp;" not in out.text and "<p>" not in out.text


def test_welcome_uses_the_page_body_or_the_standard_text(renderer: Renderer) -> None:
    standard = renderer.render(context(template="welcome", sections=()))
    first = STRINGS["nl"]["welcome_body"][0].format(site="Techwerkers",
                                                    list="de nieuwsbrief van Techwerkers")
    assert first in Page(standard.html).texts
    assert " ".join(first.split()) in " ".join(standard.text.split())
    own = section("en", title="Welcome aboard", body_html="<p>Our own welcome words.</p>",
                  events=())
    custom = Page(renderer.render(context(own, template="welcome")).html)
    assert "Our own welcome words." in custom.texts and "Welcome aboard" in custom.texts
    assert STRINGS["en"]["welcome_body"][0].format(
        site="Techwerkers", list="de nieuwsbrief van Techwerkers") not in custom.texts


def test_confirm_has_the_button_and_no_unsubscribe(renderer: Renderer) -> None:
    out = renderer.render(context(template="confirm", sections=(), lang="en"))
    page = Page(out.html)
    assert page.hrefs(STRINGS["en"]["confirm_button"]) == [placeholder("CONFIRM_URL")]
    assert STRINGS["en"]["confirm_ignore"] in page.texts
    assert fields_used(out) == {"CONFIRM_URL"}  # no unsubscribe or preferences: not on it yet
    html, text = personalise(out, {"CONFIRM_URL": "https://x.nl/bevestig?t=1&u=2"})
    assert Page(html).hrefs(STRINGS["en"]["confirm_button"]) == ["https://x.nl/bevestig?t=1&u=2"]
    assert "https://x.nl/bevestig?t=1&u=2" in text.splitlines()


def test_event_without_time_zone_is_refused(renderer: Renderer) -> None:
    naive = Event("Borrel", datetime(2026, 12, 8, 19, 0), "", MEETUP_NL, "")
    with pytest.raises(RenderError, match="no time zone"):
        renderer.render(context(section("nl", events=(naive,))))


def test_unknown_template_or_language_is_refused(renderer: Renderer) -> None:
    with pytest.raises(RenderError, match="no email template 'digest'"):
        renderer.render(context(section("nl"), template="digest"))
    with pytest.raises(RenderError, match="'fr'"):
        renderer.render(context(section("fr")))


def test_undefined_variable_names_template_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "strings.toml").write_text('[nl]\nhello = "Hallo"\n', encoding="utf-8")
    (tmp_path / "broken.mjml.j2").write_text(
        "<mjml>\n  <mj-body>\n    {{ t.hello }} {{ no_such_value }}\n  </mj-body>\n</mjml>\n",
        encoding="utf-8")
    (tmp_path / "broken.txt.j2").write_text("{{ t.hello }}\n", encoding="utf-8")
    with pytest.raises(RenderError) as caught:
        Renderer(tmp_path).render(context(section("nl"), template="broken"))
    assert caught.value.path is not None and caught.value.path.name == "broken.mjml.j2"
    assert caught.value.line == 3
    assert "no_such_value" in str(caught.value)
    assert re.search(r"broken\.mjml\.j2:3: ", str(caught.value))


def test_strings_missing_in_one_language_are_reported(tmp_path: Path) -> None:
    (tmp_path / "strings.toml").write_text('[nl]\na = "x"\nb = "y"\n[en]\na = "x"\n',
                                           encoding="utf-8")
    with pytest.raises(RenderError, match=r"\[en\] lacks b"):
        Renderer(tmp_path)


def test_alternate_without_strings_is_named_in_its_own_language(renderer: Renderer) -> None:
    german = "https://www.techwerkers.nl/de/posts/2026-dez/"
    out = renderer.render(context(section("nl", alternates={"en": URL_EN, "de": german})))
    page = Page(out.html)
    assert page.hrefs("Deutsch") == [german]
    assert page.hrefs("Read this in English") == [URL_EN]
    assert f"Deutsch: {german}" in out.text.splitlines()


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        Renderer(TEMPLATES, timezone="Mars/Olympus")


def test_events_are_shown_in_the_renderers_time_zone() -> None:
    out = Renderer(TEMPLATES, timezone="America/New_York").render(context(section("en")))
    assert "Tuesday 8 December 2026, 13:00" in Page(out.html).text
