"""Made-up emails for previewing and checking templates without a Hugo site.

A template author can render every template in every language mode from these (the MJML oracle
test does exactly that), so a broken template shows up before a real campaign needs it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postduif.render.model import EmailContext, Event, Section

SITE_URL = "https://www.example.org/"
_TEMPLATES = ("newsletter", "welcome", "welcome-member", "welcome-newsletter", "confirm")

_TITLES = {"nl": "Nieuws van de werkvloer", "en": "News from the shop floor"}
_BODIES = {
    "nl": (
        '<p class="lead">Deze maand: een nieuwe werkgroep, een leesclub en een oproep.</p>'
        "<h2>Nieuw</h2><p>De werkgroep <strong>Rechten &amp; regels</strong> zoekt mensen die "
        'willen meelezen met cao-voorstellen. <a href="https://www.example.org/nl/werkgroepen/">'
        "Lees meer over de werkgroepen</a>.</p>"
        "<ul><li>Leesclub op de eerste dinsdag</li><li>Spreekuur voor vragen over je contract</li>"
        "</ul><blockquote><p>Samen sta je sterker dan alleen.</p></blockquote>"
        '<figure><img src="https://www.example.org/nl/nieuws/foto.jpg" alt="Een volle zaal">'
        "<figcaption>De vorige bijeenkomst</figcaption></figure>"
    ),
    "en": (
        '<p class="lead">This month: a new working group, a reading club and a call for help.</p>'
        "<h2>New</h2><p>The <strong>Rights &amp; rules</strong> working group is looking for "
        'people to read along with collective agreement proposals. <a href="https://www.example.'
        'org/en/working-groups/">Read more about the working groups</a>.</p>'
        "<ul><li>Reading club on the first Tuesday</li><li>Office hours for questions about your "
        "contract</li></ul><blockquote><p>Together you stand stronger than alone.</p></blockquote>"
        '<figure><img src="https://www.example.org/en/news/photo.jpg" alt="A full room">'
        "<figcaption>The previous meeting</figcaption></figure>"
    ),
}
_EVENT_TITLES = {
    "nl": ("Leesclub: werk en technologie", "Online spreekuur"),
    "en": ("Reading club: work and technology", "Online office hours"),
}
_LIST_TITLES = {"nl": "de nieuwsbrief van Voorbeeld", "en": "the Voorbeeld newsletter"}


def sample_context(template: str, langs: tuple[str, ...] = ("nl",)) -> EmailContext:
    """An email for ``template`` with one section per language in ``langs`` (nl and/or en)."""
    if template not in _TEMPLATES:
        raise ValueError(f"no sample for template {template!r}")
    sections = tuple(_section(template, lang, langs) for lang in langs)
    first = langs[0]
    return EmailContext(
        template=template,
        lang=first,
        subject=f"{_TITLES[first]} <maart>",
        preheader="Werkgroepen, leesclub & spreekuur" if first == "nl" else
        "Working groups, reading club & office hours",
        sections=sections if template == "newsletter" else (),
        sender_name="Voorbeeld",
        sender_email="post@example.org",
        contact_email="vragen@example.org",
        postal_address="Postbus 1234, 1000 AB Amsterdam",
        site_title="Voorbeeld",
        site_url=SITE_URL,
        list_title=_LIST_TITLES[first],
    )


def _section(template: str, lang: str, langs: tuple[str, ...]) -> Section:
    others = {"nl": "en", "en": "nl"}
    other = others[lang]
    page = f"{SITE_URL}{lang}/nieuws/maart/" if template == "newsletter" else ""
    return Section(
        lang=lang,
        title=_TITLES[lang],
        body_html=_BODIES[lang] if template == "newsletter" else "",
        page_url=page,
        events=_events(lang) if template == "newsletter" else (),
        alternates={other: f"{SITE_URL}{other}/nieuws/maart/"} if page and other not in langs
        else {},
        image_url=f"{SITE_URL}{lang}/nieuws/maart/kop.jpg" if page else "",
        image_alt="Spandoek bij een demonstratie" if lang == "nl" else "Banner at a demonstration",
        image_caption=("Foto: de leesclub" if lang == "nl" else "Photo: the reading club")
        if page else "",
        image_width=480 if page else 0,
    )


def _events(lang: str) -> tuple[Event, ...]:
    reading, online = _EVENT_TITLES[lang]
    start = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    return (
        Event(reading, start, "OBA Oosterdok, Amsterdam", f"{SITE_URL}{lang}/events/leesclub/",
              "Bring your own book." if lang == "en" else "Neem je eigen boek mee."),
        Event(online, start + timedelta(days=7, hours=1), "https://meet.example.org/spreekuur",
              f"{SITE_URL}{lang}/events/spreekuur/", ""),
    )
