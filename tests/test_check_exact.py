"""The exact checks: a TODO only readers would see, URLs that cannot work, shortcodes that are
never closed, and shortcodes in code left as text. Each found where it should be, silent where
it should not, on the sample workspace and on the real site in ``../shared/corpus``."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from postduif.check import check_page
from postduif.content import Site, load_site
from postduif.problems import Problem, Severity
from postduif.workspace import Workspace

from .conftest import CORPUS
from .test_check import NL_PAGE, append, campaign_problems, only

TECHWERKERS = CORPUS / "techwerkers"


@pytest.fixture(scope="module")
def corpus() -> Site:
    return load_site(TECHWERKERS)


def codes(problems: list[Problem]) -> set[str]:
    return {p.code for p in problems}


def corpus_problems(site: Site, relative: str) -> list[Problem]:
    source = TECHWERKERS / "content" / relative
    [page] = [p for p in site.pages if p.source == source]
    return check_page(site, page)


def test_a_todo_inside_an_html_comment_is_no_placeholder(workspace: Path) -> None:
    append(workspace, NL_PAGE, "<!-- TODO: foto van de bijeenkomst\n     toevoegen -->")
    assert "placeholder" not in codes(campaign_problems(workspace))


def test_a_todo_beside_a_comment_still_is(workspace: Path) -> None:
    line = append(workspace, NL_PAGE, "<!-- notitie --> TODO: foto toevoegen")
    problem = only(campaign_problems(workspace), "placeholder")
    assert problem.severity is Severity.ERROR and problem.line == line


def test_the_real_sites_commented_todo_is_silent(corpus: Site) -> None:
    source = TECHWERKERS / "content/resources/organize/index.nl.md"
    assert "<!-- [TODO:" in source.read_text(encoding="utf-8")
    assert "placeholder" not in codes(corpus_problems(corpus, "resources/organize/index.nl.md"))


@pytest.mark.parametrize("link", [
    "[het rapport](https://%20%20https://cset.georgetown.edu/publication/ai-and-work/)",
    '<a href="https://%20%20https://cset.georgetown.edu/">het rapport</a>',
    "[kapot](https:///geen-host)",
    "[poort](https://example.org:80x/)",
    "[mail](mailto:)",
])
def test_a_url_that_cannot_work_is_an_error_at_its_line(workspace: Path, link: str) -> None:
    line = append(workspace, NL_PAGE, f"Lees {link} voor meer.")
    problem = only(campaign_problems(workspace), "bad-url")
    assert problem.severity is Severity.ERROR and problem.line == line
    assert problem.path is not None and problem.path.name == "index.nl.md"


@pytest.mark.parametrize("link", [
    "[het rapport](https://cset.georgetown.edu/publication/AI-and-Work/)",
    "[IPv6](https://[2001:db8::1]:8443/pad)",
    "[spatie in het pad](https://example.org/een%20pad/)",
    "[mail](mailto:info@techwerkers.nl?subject=Hoi%20daar)",
])
def test_a_valid_url_is_silent(workspace: Path, link: str) -> None:
    append(workspace, NL_PAGE, f"Lees {link} voor meer.")
    assert codes(campaign_problems(workspace)) & {"bad-url", "insecure-link"} == set()


def test_a_plain_http_link_is_a_warning(workspace: Path) -> None:
    line = append(workspace, NL_PAGE, "Zie [de wet](http://wetten.overheid.nl/BWBR0005290).")
    problem = only(campaign_problems(workspace), "insecure-link")
    assert problem.severity is Severity.WARNING and problem.line == line


def test_the_real_site_has_http_links_and_no_broken_urls(corpus: Site) -> None:
    found = corpus_problems(corpus, "resources/long-term-illness/index.nl.md")
    insecure = [p.line for p in found if p.code == "insecure-link"]
    assert insecure == [48, 49]
    every = [p for page in corpus.pages for p in corpus.render(page).problems]
    assert [p for p in every if p.code == "bad-url"] == []


@pytest.mark.parametrize("text", [
    "{{% pull-quote %}}\nSamen staan we sterk.",
    "{{< alert \"lightbulb\" >}}\nLet op: de bijeenkomst begint eerder.",
    "Meld je aan: {{< button href=\"/join\" \nDoe mee",
])
def test_an_unclosed_shortcode_is_an_error_at_its_line(workspace: Path, text: str) -> None:
    line = append(workspace, NL_PAGE, text)
    problem = only(campaign_problems(workspace), "unclosed-shortcode")
    assert problem.severity is Severity.ERROR and problem.line == line


def test_closed_and_self_contained_shortcodes_are_silent(workspace: Path) -> None:
    append(workspace, NL_PAGE, "{{% pull-quote %}}\nSamen staan we sterk.\n{{% /pull-quote %}}"
           "\n\n{{< button href=\"/join\" >}}Doe mee{{< /button >}}\n\n{{< youtube abc >}}")
    assert "unclosed-shortcode" not in codes(campaign_problems(workspace))


def test_the_real_site_has_no_unclosed_shortcode(corpus: Site) -> None:
    every = [p for page in corpus.pages for p in corpus.render(page).problems]
    assert [p for p in every if p.code in ("unclosed-shortcode", "malformed-shortcode")] == []


@pytest.mark.parametrize("text", [
    "```\n{{< onbekend-ding >}}\n{{% pull-quote %}}\n```",
    "~~~~markdown\n{{< onbekend-ding >}}\n~~~~",
    "Schrijf `{{< onbekend-ding >}}` of ``{{% pull-quote %}}`` in je pagina.",
])
def test_shortcodes_in_code_are_left_as_text(workspace: Path, text: str) -> None:
    append(workspace, NL_PAGE, text)
    problems = campaign_problems(workspace)
    assert codes(problems) & {"unknown-shortcode", "unclosed-shortcode",
                              "malformed-shortcode"} == set()
    ws = Workspace.open(workspace)
    page = ws.site.get("posts/2026-12", "nl")
    assert page is not None
    shown = html.unescape(ws.site.render(page).html)
    assert "<code>{{< onbekend-ding >}}" in shown or "{{< onbekend-ding >}}\n" in shown


def test_the_same_shortcode_outside_code_is_expanded(workspace: Path) -> None:
    line = append(workspace, NL_PAGE, "Schrijf {{< onbekend-ding >}} in je pagina.")
    assert only(campaign_problems(workspace), "unknown-shortcode").line == line
