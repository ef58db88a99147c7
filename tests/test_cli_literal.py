"""What organisers see is what came in: markup, control characters and spreadsheet formulas
from outside are shown and exported as text, through the real command line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .conftest_smtp import SmtpServer
from .test_cli_people import FORM, review_in_a_terminal, run
from .test_cli_send import CAMPAIGN, PEOPLE, prepare

BOLD = "[bold red]x[/]"
LINK = "[link=https://evil.example]click[/link]"
HOSTILE = dict(FORM, firstName=f"Eva {BOLD}", lastName="Jansen",
               organization=f"Bol {LINK}", goals=f"Een OR {LINK}\nen dan {BOLD}")


def _import(workspace: Path, *rows: dict[str, str], list_name: str = "leden"
            ) -> subprocess.CompletedProcess[str]:
    (workspace / "join.json").write_text(json.dumps(list(rows)), encoding="utf-8")
    return run(workspace, "joins", "import", "join.json", "--list", list_name,
               "--language", "nl")


def test_review_shows_markup_as_typed_and_no_hidden_link(workspace: Path) -> None:
    assert _import(workspace, HOSTILE, dict(FORM, email="ada@example.org",
                                            firstName="Ada")).returncode == 0
    screen = review_in_a_terminal(workspace, b"s\ns\n")
    for shown in (BOLD, LINK, "Een OR", "en dan"):
        assert shown.encode() in screen, screen.decode(errors="replace")
    assert b"\x1b]8;" not in screen  # no OSC 8 hyperlink escape: the link is only text
    assert b"Ada de Vries" in screen and b"Een ondernemingsraad oprichten" in screen


def test_subscribers_show_and_search_print_markup_literally(workspace: Path) -> None:
    assert _import(workspace, HOSTILE).returncode == 0
    shown = run(workspace, "subscribers", "show", FORM["email"])
    assert shown.returncode == 0, shown.stderr
    for value in (BOLD, LINK, "Een OR"):
        assert value in shown.stdout
    found = run(workspace, "subscribers", "search", "Jansen")
    assert found.returncode == 0 and BOLD in found.stdout and "leden (pending)" in found.stdout
    plain = run(workspace, "subscribers", "search", "nobody-like-this")
    assert BOLD not in plain.stdout and "\\" not in plain.stdout


def test_error_line_quotes_the_argument_literally(workspace: Path) -> None:
    result = run(workspace, "lists", "show", f"{LINK}\x1b[2J\r")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"no list named '{LINK}\\x1b[2J\\r'" in result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_a_rejected_address_with_cr_lf_esc_or_bidi_is_shown_escaped(workspace: Path) -> None:
    bad = ["eva@example.org\r\nBcc: x@evil.example", "\x1b[2Jwipe@example.org",
           "abc\u202egro.elpmaxe@x"]
    result = _import(workspace, *(dict(FORM, email=e) for e in bad),
                     dict(FORM, email="fine@example.org"))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "eva@example.org\\r\\nBcc: x@evil.example" in result.stdout
    assert "\\x1b[2Jwipe@example.org" in result.stdout and "\\u202e" in result.stdout
    assert not any(c in result.stdout for c in "\r\x1b\u202e")
    lines = [line for line in result.stdout.splitlines() if "join.json:" in line]
    assert len(lines) == 3  # each rejected row on its own line, nothing broken across lines
    assert "1 added, 0 updated, 0 unchanged, 3 rejected" in result.stdout


def test_an_ordinary_report_has_no_escapes(workspace: Path) -> None:
    result = _import(workspace, dict(FORM, firstName="Zoë", organization="Coöp 🐦"))
    assert result.returncode == 0 and "\\" not in result.stdout


FORMULAS = ['=HYPERLINK("https://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)",
            "-2+3+cmd|' /C calc'!A0"]


def _export(workspace: Path, *args: str) -> list[dict[str, str]]:
    result = run(workspace, "lists", "export", *args)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_lists_export_neutralises_formulas_and_keeps_ordinary_values(workspace: Path) -> None:
    rows = [dict(FORM, email=f"p{n}@example.org", firstName=f, organization=f)
            for n, f in enumerate(FORMULAS)]
    rows.append(dict(FORM, email="sam@example.org", firstName="Sam", lastName="de Vries",
                     organization="Bol-com 2"))
    assert _import(workspace, *rows).returncode == 0
    exported = {r["email"]: r for r in _export(workspace, "leden", "--status", "pending")}
    for n, formula in enumerate(FORMULAS):
        assert exported[f"p{n}@example.org"]["first_name"] == "'" + formula
        assert exported[f"p{n}@example.org"]["organization"] == "'" + formula
    sam = exported["sam@example.org"]
    assert (sam["first_name"], sam["last_name"], sam["organization"]) == (
        "Sam", "de Vries", "Bol-com 2")


def test_rejects_files_neutralise_formulas(workspace: Path) -> None:
    result = _import(workspace, dict(FORM, email='=HYPERLINK("https://evil.example")'),
                     dict(FORM, email="ok@@example.org"))
    assert result.returncode == 1
    with (workspace / "join.rejects.csv").open(encoding="utf-8", newline="") as file:
        rejects = list(csv.DictReader(file))
    assert [r["email"] for r in rejects] == ["'=HYPERLINK(\"https://evil.example\")",
                                             "ok@@example.org"]
    assert all(not r["raw"].startswith(("=", "+", "-", "@")) for r in rejects)


def test_listmonk_rejects_neutralise_formulas(workspace: Path) -> None:
    at = "2024-01-02 10:00:00.000000 +0000 UTC"
    (workspace / "export.csv").write_text(
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        f"b1,@SUM(1+1),Eva,{{}},enabled,{at},{at}\nb2,zoe@example.org,Zoe,{{}},enabled,{at},{at}\n",
        encoding="utf-8")
    result = run(workspace, "migrate", "listmonk", "export.csv", "--list", "nieuwsbrief",
                 "--language", "nl")
    assert result.returncode == 1, result.stdout + result.stderr
    with (workspace / "export.rejects.csv").open(encoding="utf-8", newline="") as file:
        rejects = list(csv.DictReader(file))
    assert [r["email"] for r in rejects] == ["'@SUM(1+1)"]


def test_lists_show_json_carries_the_counts(workspace: Path) -> None:
    assert _import(workspace, FORM, dict(FORM, email="ada@example.org")).returncode == 0
    assert run(workspace, "joins", "approve", "ada@example.org").returncode == 0
    shown = run(workspace, "lists", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    lists = {entry["name"]: entry for entry in json.loads(shown.stdout)["lists"]}
    assert lists["leden"]["total"] == 2
    assert sorted((c["status"], c["language"], c["count"]) for c in lists["leden"]["counts"]) \
        == [("confirmed", "nl", 1), ("pending", "nl", 1)]
    assert lists["nieuwsbrief"] == {  # approval also subscribes (lists/leden.toml)
        "name": "nieuwsbrief", "total": 1,
        "counts": [{"status": "confirmed", "language": "nl", "count": 1}]}


def test_status_json_carries_the_ledger(workspace: Path,
                                        smtp_server: Callable[..., SmtpServer]) -> None:
    never = run(workspace, "status", CAMPAIGN, "--json")
    assert never.returncode == 0 and json.loads(never.stdout)["list"] is None
    reply = f"550 5.1.1 {LINK}"
    server = smtp_server(faults={"reject": {"lid010@example.org": reply}})
    prepare(workspace, server)
    config = workspace / "postduif.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "connections = 10 ", "connections = 3 ").replace("batch = 8 ", "batch = 5 "),
        encoding="utf-8")
    assert run(workspace, "send", CAMPAIGN, "--yes").returncode == 1
    data = json.loads(run(workspace, "status", CAMPAIGN, "--json").stdout)
    assert data["list"] == "nieuwsbrief" and data["campaign"] == CAMPAIGN
    assert data["unknown_bound"] == {"messages": 15, "batch": 5, "connections": 3}
    assert data["totals"]["total"] == len(PEOPLE) and data["totals"]["failed"] == 1
    assert data["totals"]["sent"] == len(PEOPLE) - 1 and data["totals"]["queued"] == 0
    assert sum(v["total"] for v in data["languages"].values()) == len(PEOPLE)
    assert [(f["email"], f["state"]) for f in data["failures"]] == [
        ("lid010@example.org", "failed")]
    shown = run(workspace, "status", CAMPAIGN).stdout
    assert LINK in shown  # the server's reply, markup and all, as text


def test_check_json_carries_the_same_numbers_as_the_text(workspace: Path) -> None:
    post = next((workspace / "content").rglob("index.nl.md"), None) or next(
        (workspace / "content").rglob("*.md"))
    post.write_text(post.read_text(encoding="utf-8") + "\n{{< unknown-thing >}}\n",
                    encoding="utf-8")
    text = run(workspace, "check", "--all")
    data = json.loads(run(workspace, "check", "--all", "--json").stdout)
    assert f"{data['errors']} error(s), {data['warnings']} warning(s)" in text.stdout
    assert data["warnings"] + data["errors"] == len(data["problems"]) > 0
    assert {"path", "line", "severity", "code", "message"} == set(data["problems"][0])
    assert any(p["code"] == "unknown-shortcode" and p["line"] for p in data["problems"])


def test_shell_completion_is_offered(workspace: Path) -> None:
    helped = run(workspace, "--help")
    assert "--install-completion" in helped.stdout
    script = subprocess.run([str(Path(sys.executable).parent / "postduif"),
                             "--show-completion", "bash"], cwd=workspace, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "SHELL": "/bin/bash"})
    assert script.returncode == 0 and "_POSTDUIF_COMPLETE" in script.stdout


def test_every_formula_start_is_neutralised_and_nothing_else() -> None:
    from postduif.csv_out import neutralise

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}1+1") == f"'{start}1+1"
    for ordinary in ("Sam", "de Vries", "Bol-com", " =1", "'quoted", "", "3", "\n=x"):
        assert neutralise(ordinary) == ordinary
    assert (neutralise(None), neutralise(7)) == ("", "7")


def test_only_controls_are_escaped_for_the_terminal() -> None:
    from postduif.cli._show import visible

    assert visible("a\r\nb\tc\x1b[2J\x00\x7f\x9b") == "a\\r\\nb\\tc\\x1b[2J\\x00\\x7f\\x9b"
    assert visible("\u202eabc\u2066\u200f\u2028") == "\\u202eabc\\u2066\\u200f\\u2028"
    family = "Zoë 👩\u200d💻 Ærø [b] \\ é"  # ZWJ in an emoji is no control
    assert visible(family) == family


def test_check_quotes_the_content_literally(workspace: Path) -> None:
    page = workspace / "content/events/2026-10-13-boekenclub/index.nl.md"
    page.write_text(page.read_text(encoding="utf-8")
                    + "\nZie [TITLE [link=https://evil.example] hier.\n", encoding="utf-8")
    text = run(workspace, "check", "--all").stdout
    assert "leftover placeholder '[TITLE [link=https://evil.example]'" in text
    assert "[placeholder]" in text  # postduif's own code tag, shown as before
