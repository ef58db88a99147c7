"""Front matter read through python-frontmatter's handlers, every line still the file's own."""

from __future__ import annotations

import pytest

from postduif.content.frontmatter import FrontMatterError, split_front_matter

from .conftest import CORPUS


def test_yaml_keys_body_line_and_dates_as_text() -> None:
    matter = split_front_matter("---\n\ntitle: Borrel\ndate: 2026-12-19T16:00:00+01:00\n"
                                "---\n\nTekst\n\n---\n\nMeer tekst\n")
    assert matter.params == {"title": "Borrel", "date": "2026-12-19T16:00:00+01:00"}
    assert matter.key_lines == {"title": 3, "date": 4}
    assert matter.body_line == 6 and matter.body.startswith("\nTekst\n\n---\n")


def test_toml_front_matter_with_tomllib() -> None:
    matter = split_front_matter('+++\ntitle = "Borrel"\ndate = 2026-12-19\n+++\nTekst\n')
    assert matter.params["title"] == "Borrel" and str(matter.params["date"]) == "2026-12-19"
    assert matter.body == "Tekst\n" and matter.body_line == 5


@pytest.mark.parametrize(("text", "line", "message"), [
    ("---\ntitle: Open\n\nGeen einde.\n", 1, "never closed"),
    ("+++\ntitle = \"Open\"\n", 1, "never closed"),
    ("---\ntitle: Borrel\ntags: [niet\n---\n", 3, "invalid YAML"),
    ('+++\ntitle = "Borrel"\ndate = \nplace = "Amsterdam"\n+++\n', 3, "invalid TOML"),
    ("---\n- een\n- lijst\n---\n", 1, "must be a mapping"),
])
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(FrontMatterError) as raised:
        split_front_matter(text)
    assert raised.value.line == line and message in raised.value.message


def test_a_toml_error_names_only_the_file_line() -> None:
    """tomllib counts lines inside the front matter; a second, different line would mislead."""
    with pytest.raises(FrontMatterError) as raised:
        split_front_matter('+++\ntitle = "Borrel"\ndate = \nplace = "Amsterdam"\n+++\n')
    assert raised.value.line == 3 and "line" not in raised.value.message


def test_without_front_matter_the_whole_text_is_body() -> None:
    matter = split_front_matter("Alleen tekst\n---\n")
    assert matter.params == {} and matter.body_line == 1


def test_every_real_page_reads() -> None:
    pages = sorted((CORPUS / "techwerkers" / "content").rglob("index.*.md"))
    assert len(pages) > 50
    for page in pages:
        matter = split_front_matter(page.read_text(encoding="utf-8"))
        assert matter.params.get("title"), page
        first = page.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
        assert first[matter.body_line - 2].rstrip() in ("---", "+++"), page
