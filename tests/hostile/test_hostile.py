"""Every bad input of cases.py through the real CLI process, and the checks of support.py.

The checks themselves are tested first, in both directions, on small documents: a scanner
that never finds anything would let every case pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

from .cases import all_cases
from .support import (
    Case,
    Ran,
    Step,
    eml_problems,
    executable_html,
    formula_cells,
    injected_headers,
    output_problems,
    run,
    step_problems,
    written,
)

CASES, SENDS = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input(case: Case, workspace: Path) -> None:
    case.prepare(workspace)
    problems = []
    with case.around(workspace):
        for step in case.steps:
            problems += step_problems(run(workspace, step, case.timeout))
    problems += output_problems(workspace)
    if case.name in SENDS:
        assert written(workspace), "the case's output was never written, so never checked"
    assert problems == []


def test_readme_counts_the_cases() -> None:
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "tests/hostile/" in readme and f" {len(CASES)} cases: " in readme


def test_every_case_has_a_unique_name_and_sends_names_cases() -> None:
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names)
    assert set(names) >= SENDS


@pytest.mark.parametrize("html", [
    "<p>a</p><SCRIPT>x()</SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    '<a href=" JaVa\tScript:alert(1)">a</a>',
    '<a href="&#106;avascript:alert(1)">a</a>',
    '<br onload="x()"/>',
])
def test_executable_html_is_found(html: str) -> None:
    assert executable_html(html)


def test_harmless_html_is_not_flagged() -> None:
    html = ('<meta http-equiv="Content-Type" content="text/html"><p>javascript:alert(1) '
            '&lt;script&gt; onerror=x</p><img alt="&quot;&gt;&lt;script&gt;" src="a.png">'
            '<a href="https://example.org/?q=javascript:x">ok</a>')
    assert executable_html(html) == []


CLEAN = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Hi\r\n\r\nBody\r\n"


def test_injected_headers_are_found() -> None:
    assert injected_headers(CLEAN) == []
    injected = CLEAN.replace(b"Subject: Hi", b"Subject: Hi\r\nBcc: c@example.org\r\nTo: d@x")
    assert injected_headers(injected) == ["header bcc", "2 to headers"]


def test_a_failed_step_is_reported() -> None:
    step = Step(("check",), 0, ("page.md:3",), ("secret",))
    ran = Ran(step, 1, "Traceback (most recent call last):\nsecret\n")
    assert step_problems(ran) == ["check: exit 1, expected 0", "check: printed a traceback",
                                  "check: does not name 'page.md:3'", "check: shows 'secret'"]
    assert step_problems(Ran(step, 0, "page.md:3: error")) == []


@pytest.mark.parametrize("output", [
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "\x1b[1mbold\x1b[0m", "a\x1b[2Jb"])
def test_a_terminal_escape_in_the_output_is_reported(output: str) -> None:
    ran = Ran(Step(("lists", "show"), 0), 0, f"page.md:3 {output}")
    assert step_problems(ran) == ["lists show: printed a terminal escape sequence"]


def test_a_second_error_line_is_reported() -> None:
    step = Step(("lists", "show"), 1)
    assert step_problems(Ran(step, 1, "Error: a\nHint: b\n")) == []
    assert step_problems(Ran(step, 1, "Error: a\nError: b\n")) == [
        "lists show: more than one Error: line"]


def test_formula_cells_are_found_and_neutralised_ones_are_not() -> None:
    text = ('a,=HYPERLINK(""x""),"+cmd|x",@SUM(1),-2+3,"\tx","\rx"\r\n'
            "'=HYPERLINK(x),'+cmd,ok,x=1,,'-1\r\n")
    assert [item.split(": ", 1)[1] for item in formula_cells(text)] == [
        "formula cell '=HYPERLINK(\"\"x\"\")'", "formula cell '+cmd|x'",
        "formula cell '@SUM(1)'", "formula cell '-2+3'", "formula cell '\\tx'",
        "formula cell '\\rx'"]
    step = Step(("lists", "export", "x"), 0, csv_out=True)
    assert step_problems(Ran(step, 0, "=1\n", "=1\n")) == [
        "lists export x: line 1: formula cell '=1'"]


def test_the_html_part_of_an_eml_is_scanned() -> None:
    html = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Hi\r\n"
            b"Content-Type: text/html; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"<p>Hi <img src=3Dx onerror=3Dy></p>")
    assert eml_problems(html) == ["<img onerror=...>"]
    assert eml_problems(CLEAN) == []


def test_output_problems_reads_build_and_outbox(tmp_path: Path) -> None:
    (tmp_path / "outbox" / "c").mkdir(parents=True)
    (tmp_path / "outbox" / "c" / "index.html").write_text("<script>x</script>")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "en.eml").write_bytes(CLEAN.replace(b"Hi", b"Hi\r\nX-Injected: 1"))
    (tmp_path / "in.rejects.csv").write_bytes(b"line,email\r\n2,\"=1\"\r\n3,'=1\r\n")
    assert output_problems(tmp_path) == ["in.rejects.csv: line 2: formula cell '=1'",
                                         "build/en.eml: header x-injected",
                                         "outbox/c/index.html: <script>"]
