"""html_to_text: the plain-text part must stay readable and keep every link target."""

from __future__ import annotations

from postduif.render import html_to_text


def test_headings_paragraphs_and_entities() -> None:
    text = html_to_text("<h1>Werk &amp; tech</h1><p>Een&nbsp;zin met &lt;haakjes&gt; en"
                        " &eacute;&eacute;n &#8364;.</p><h2>Kort</h2><h3>Klein kopje</h3>")
    assert text == ("Werk & tech\n===========\n\nEen\xa0zin met <haakjes> en één €.\n\n"
                    "Kort\n----\n\nKLEIN KOPJE\n")


def test_lists_nested_and_numbered() -> None:
    text = html_to_text("<ul><li>appels</li><li>peren<ol><li>conference</li><li>gieser wildeman"
                        "</li></ol></li></ul><p>daarna</p>")
    assert text.splitlines() == ["- appels", "- peren", "  1. conference", "  2. gieser wildeman",
                                 "", "daarna"]


def test_blockquote_keeps_its_marker_on_every_line() -> None:
    text = html_to_text("<blockquote><p>" + "woord " * 20 + "</p><p>tweede</p></blockquote>")
    lines = text.splitlines()
    assert all(line.startswith(">") for line in lines)
    assert lines[-2:] == [">", "> tweede"]
    assert all(len(line) <= 40 for line in html_to_text(
        "<blockquote><p>" + "woord " * 20 + "</p></blockquote>", width=40).splitlines())


def test_links_are_kept_once() -> None:
    text = html_to_text(
        '<p><a href="https://www.techwerkers.nl/nl/join/">Word lid</a>, mail '
        '<a href="mailto:info@techwerkers.nl">info@techwerkers.nl</a>, zie '
        '<a href="https://example.org/x">https://example.org/x</a> of '
        '<a href="#agenda">de agenda</a>.</p>')
    assert text == ("Word lid <https://www.techwerkers.nl/nl/join/>, mail\n"
                    "info@techwerkers.nl, zie https://example.org/x of de agenda.\n")


def test_never_wraps_inside_a_url() -> None:
    url = "https://www.techwerkers.nl/nl/events/" + "een-heel-lange-naam-" * 6 + "/?a=1&b=2"
    text = html_to_text(f'<p>Lees het verslag van de avond <a href="{url}">hier</a> en deel het '
                        "met je collega's op de werkvloer.</p>", width=50)
    assert f"<{url}>" in text.splitlines()
    assert all(len(line) <= 50 for line in text.splitlines() if url not in line)


def test_images_line_breaks_and_skipped_content() -> None:
    text = html_to_text('<style>p{color:red}</style><p>eerste<br>tweede<br/>'
                        '<img src="https://example.org/a.png" alt="Een  spandoek"></p>'
                        '<figure><img src="cid:inline" alt=""><figcaption>Foto: iemand</figcaption>'
                        "</figure><script>alert(1)</script><iframe>embed</iframe>")
    assert text == ("eerste\ntweede\n[Een spandoek] <https://example.org/a.png>\n\n"
                    "Foto: iemand\n")


def test_preformatted_text_is_left_alone() -> None:
    text = html_to_text("<pre>regel  een\n    ingesprongen</pre><p>na</p>")
    assert text == "regel  een\n    ingesprongen\n\nna\n"


def test_empty_input() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<p> </p><div></div>") == ""


def test_a_small_heading_is_upper_cased_but_its_urls_keep_their_case() -> None:
    text = html_to_text('<h3>Het rapport van <a href="https://cset.georgetown.edu/publication/'
                        'AI-and-Work/">CSET</a> &lt;nieuw&gt;</h3>'
                        '<h4><img alt="Logo" src="https://example.org/Logo.PNG"></h4>', width=200)
    assert text.splitlines() == [
        "HET RAPPORT VAN CSET <https://cset.georgetown.edu/publication/AI-and-Work/> <NIEUW>",
        "", "[LOGO] <https://example.org/Logo.PNG>"]
