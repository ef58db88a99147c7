"""The table of bad inputs: one ``Case`` per entry. To add one, append a ``Case`` to CASES:
what to break (a helper from support.py, or any function of the workspace) and the commands
with their exit codes and the file:line or field each message must name. A class of inputs
of its own (feeds, bounces, addresses, ...) may keep its table in ``cases_<class>.py`` with
its own ``CASES`` (and ``SENDS``); :func:`all_cases` gathers them all.

Every case is also checked for executable HTML and injected headers in all that postduif
wrote, formula cells in its CSV, and tracebacks or terminal escapes in its output; cases that
expect output files (``SENDS``) check that some were written.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .support import (
    CAMPAIGN,
    EN_PAGE,
    Case,
    Prepare,
    Step,
    append,
    big_import,
    both,
    cli,
    full_disk,
    line_count,
    line_of,
    read_only,
    replace_line,
    symlink,
    write,
)

CAMPAIGN_FILE = f"campaigns/{CAMPAIGN}.toml"
CHECK = Step(("check",), 1)
BUILD = Step(("build", CAMPAIGN_FILE), 0)
DRY_RUN = Step(("send", CAMPAIGN, "--dry-run"), 0)
TEN_MB = 10 * 1024 * 1024
EN_SUBJECT = 'subject = "Techwerkers in December'


def page_error(what: str, line: int = 1) -> Step:
    """``check`` fails and names the English page's line and the problem."""
    return Step(("check",), 1, (f"{EN_PAGE}:{line}: error", what))


def importing(code: int, *names: str, rel: str = "people.csv") -> Step:
    """Import ``rel`` as confirmed subscribers of the newsletter."""
    return Step(("joins", "import", rel, "--list", "nieuwsbrief", "--confirmed"), code, names)


def import_people(csv: str, code: int, *names: str) -> tuple[Prepare, Step]:
    """Write people.csv and import it as confirmed subscribers of the newsletter."""
    return write("people.csv", csv), importing(code, *names)


def show(email: str, *names: str) -> Step:
    return Step(("subscribers", "show", email), 0, names)


def nested_json(levels: int) -> str:
    return "[" * levels + "]" * levels


def store_error(argv: tuple[str, ...], cause: str) -> Step:
    """One ``Error:`` line naming the store file and the cause, exit 1."""
    return Step(argv, 1, ("Error: ", STORE, cause))


#: The line that text appended to the English page starts on.
EN_APPENDED = line_count(EN_PAGE)
STORE = "lists/postduif.sqlite3"
LISTS_SHOW = ("lists", "show")
NEWSLETTER = "lists/nieuwsbrief.toml"
MEMBERS = "lists/leden.toml"
CAMPAIGN_LIST = line_of(CAMPAIGN_FILE, "list = ")
SMTP_PORT = line_of("postduif.toml", "port = ")
MARKUP_NAME = "[bold red]Sam[/]"
MARKUP_LINK = "[link=https://evil.example]click[/link]"
CRLF_ADDRESS = "sam@example.org\r\nBcc: evil@example.org"
CRLF_SHOWN = "sam@example.org\\r\\nBcc: evil@example.org"  # escaped, on the report's line
SAM_TWICE = ("email,naam,taal\nsam@example.org,Sam,en\neva@example.org,Eva,nl\n"
             "SAM@Example.org,Sam Smit,en\n")

XSS_PEOPLE, XSS_IMPORT = import_people(
    "email,naam,taal\n"
    "sam@example.org,<script>alert(1)</script> Sam,en\n"
    'eva@example.org,"<img src=x onerror=alert(2)>",nl\n', 0, "2 added")
CRLF_PEOPLE, CRLF_IMPORT = import_people(
    'email,naam,taal\nsam@example.org,"Sam\r\nBcc: evil@example.org\r\nX-Injected: 1",en\n',
    1, "people.csv:2", "U+000D")
NUL_PEOPLE, NUL_IMPORT = import_people(
    "email,naam,taal\nsam@example.org,Sam\x00,en\n", 1, "people.csv", "NUL byte")
LONG_PEOPLE, LONG_IMPORT = import_people(
    "email,naam,taal\nsam@example.org," + "S" * TEN_MB + ",en\n", 1, "people.csv:2",
    "longer than")

CASES: tuple[Case, ...] = (
    Case("binary page", write(EN_PAGE, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 100),
         (page_error("not valid UTF-8"),)),
    Case("page with a NUL byte", append(EN_PAGE, "a NUL \x00 here\n"),
         (page_error("NUL byte", EN_APPENDED),)),
    Case("empty page", write(EN_PAGE, ""),
         (Step(("check",), 0, (f"{EN_PAGE}:1: warning: page has no title",)),)),
    Case("unclosed front matter", write(EN_PAGE, '---\ntitle: "Half a page"\n\nBody.\n'),
         (page_error("never closed"),)),
    Case("10 MB line in a page", append(EN_PAGE, "x" * TEN_MB + "\n"),
         (Step(("check",), 1, (CAMPAIGN_FILE, "Gmail clips")),)),
    Case("symlink loops in content",
         both(symlink("content/posts/loop", ".."), symlink("content/a/b", "../b"),
              symlink("content/b", "a/b")),
         (Step(("check",), 0, ("0 error(s)",)), BUILD)),
    Case("XSS in front matter",
         both(replace_line(EN_PAGE, "title:", 'title: "<script>alert(1)</script> Hi"'),
              replace_line(EN_PAGE, "summary:", 'summary: "<img src=x onerror=alert(2)>"'),
              replace_line(EN_PAGE, "featureAlt:",
                           'featureAlt: "\\"><script>alert(3)</script><b onmouseover=x>"'),
              replace_line(CAMPAIGN_FILE, EN_SUBJECT, "")),
         (BUILD,)),
    Case("javascript: and on*= in the page body",
         append(EN_PAGE, "\n[click](javascript:alert(1)) [tab](java&#x09;script:alert(2))\n\n"
                '<a href="javascript:alert(3)" onclick="x()">raw</a> '
                '<a href=" JaVaScRiPt:alert(4)">spaced</a> <span onmouseover="y()">s</span>\n'),
         (BUILD,)),
    Case("CR/LF in a campaign subject",
         replace_line(CAMPAIGN_FILE, EN_SUBJECT,
                      'subject = "Hi\\r\\nBcc: evil@example.org\\r\\nX-Injected: 1"'),
         (Step(("check",), 1, (f"{CAMPAIGN_FILE}:{line_of(CAMPAIGN_FILE, EN_SUBJECT)}: error",
                               "U+000D")),
          Step(("build", CAMPAIGN_FILE), 1, ("1 error(s)",)))),
    Case("CR/LF in a page title (the default subject)",
         both(replace_line(EN_PAGE, "title:", 'title: "Hi\\nBcc: evil@example.org"'),
              replace_line(CAMPAIGN_FILE, EN_SUBJECT, "")),
         (Step(("check",), 1, ("en subject contains the control character U+000A",)),)),
    Case("CR/LF in the sender's name (postduif.toml)",
         replace_line("postduif.toml", 'name = "Techwerkers"',
                      'name = "Techwerkers\\r\\nBcc: evil@example.org"'),
         (Step(("check",), 1, (f"postduif.toml:{line_of('postduif.toml', 'name = ')}:",
                               "sender.name", "U+000D")),
          Step(("send", CAMPAIGN, "--dry-run"), 1, ("sender.name",)))),
    Case("CR/LF in a subscriber's name", CRLF_PEOPLE, (CRLF_IMPORT, DRY_RUN)),
    Case("XSS in subscribers' names", XSS_PEOPLE, (XSS_IMPORT, DRY_RUN)),
    Case("NUL byte in an import file", NUL_PEOPLE, (NUL_IMPORT,)),
    Case("10 MB line in an import file", LONG_PEOPLE, (LONG_IMPORT,)),
    Case("rich markup in stored fields",
         write("people.csv", "email,naam,taal,organisatie,doelen\n"
               f"sam@example.org,{MARKUP_NAME},en,{MARKUP_LINK},[reverse]goals[/reverse]\n"),
         (importing(0, "1 added"),
          show("sam@example.org", MARKUP_NAME, MARKUP_LINK, "[reverse]goals[/reverse]"),
          Step(("subscribers", "search", "Sam"), 0, (MARKUP_NAME,)),
          Step(("lists", "export", "nieuwsbrief"), 0, (MARKUP_LINK,), csv_out=True),
          Step(("subscribers", "export", "sam@example.org"), 0, (MARKUP_LINK,)))),
    Case("terminal escapes (an OSC 8 link) in a name",
         write("people.jsonl", '{"email": "sam@example.org", '
               '"firstName": "\\u001b]8;;https://evil.example\\u001b\\\\click"}\n'),
         (importing(1, "people.jsonl:1", "first_name", "U+001B", rel="people.jsonl"),)),
    Case("a column postduif does not import",
         write("people.csv", "email,naam,taal,telefoon\nsam@example.org,Sam,en,0612345678\n"),
         (importing(0, "1 added", "people.csv:2: sam@example.org: warning: 'telefoon' is not "
                    "a field postduif imports"),)),
    Case("CSV formulas in an export",
         write("people.csv", "email,naam,taal,organisatie\n"
               'sam@example.org,"=HYPERLINK(""https://evil.example"")",en,+cmd|calc\n'
               "eva@example.org,@SUM(A1),nl,-2+3\n"),
         (importing(0, "2 added"),
          Step(("lists", "export", "nieuwsbrief"), 0,
               ("'=HYPERLINK(", "'+cmd|calc", "'@SUM(A1)", "'-2+3"), csv_out=True))),
    Case("CSV formulas in a rejects file",
         write("people.csv", 'email,naam,taal\n"=HYPERLINK(""https://evil.example"")",a,en\n'
               '+cmd|x@y,b,en\n@SUM(1),c,en\n-2+3,d,en\n\tx@y,e,en\n"\r=1",f,en\n'),
         (importing(1, "people.csv:2", "people.csv:5", "people.csv:7", "6 rejected"),)),
    Case("CR/LF in a rejected address",
         write("people.csv", f'email,naam,taal\n"{CRLF_ADDRESS}",Sam,en\n'),
         (importing(1, f"people.csv:2: {CRLF_SHOWN}: email: ", "U+000D"),)),
    Case("the same file imported twice, one person twice in it",
         write("people.csv", SAM_TWICE),
         (importing(0, "2 added, 0 updated", "people.csv:4",
                    "line 4 repeats line 2; the later row wins"),
          importing(0, "0 added, 0 updated, 2 unchanged"),
          show("sam@example.org", "Sam Smit"))),
    Case("JSON nested 100,000 levels deep",
         write("people.json", '[{"email": "sam@example.org"},\n'
               f'{{"email": "eva@example.org", "links": {nested_json(100_000)}}}]\n'),
         (importing(1, "people.json:2", "nested more than 32 levels", rel="people.json"),)),
    Case("JSON Lines nested 60,000 levels deep (a line below the length limit)",
         write("people.jsonl", '{"email": "sam@example.org"}\n'
               f'{{"email": "eva@example.org", "links": {nested_json(60_000)}}}\n'),
         (importing(1, "people.jsonl:2", "nested more than 32 levels", rel="people.jsonl"),)),
    Case("homoglyph addresses and a bidi control in a name",
         write("people.csv", "email,naam,taal\ns\u0430m@example.org,Sam,en\n"
               "\uff53am@example.org,Sam,en\neva@example.org,Eva \u202eavE,nl\n"),
         (importing(1, "2 added", "people.csv:2", "Cyrillic", "people.csv:3", "fullwidth",
                    "people.csv:4", "U+202E"),)),
    Case("an invalid address and a malformed CSV row in an import",
         write("people.csv", "email,naam,taal\nnot-an-address,Sam,en\neva@example.org,Eva\n"),
         (importing(1, "people.csv:2: not-an-address: email", "people.csv:3",
                    "malformed CSV row"),)),
    Case("a store that is not SQLite", write(STORE, b"not a database\x00\xff" * 500),
         (store_error(LISTS_SHOW, "file is not a database"),
          store_error(("subscribers", "add", "sam@example.org"), "file is not a database"),
          store_error(("send", CAMPAIGN, "--dry-run"), "file is not a database"))),
    Case("a read-only store",
         both(write("people.csv", "email,naam,taal\nsam@example.org,Sam,en\n"),
              cli("subscribers", "add", "eva@example.org")),
         (store_error(("subscribers", "add", "sam@example.org"), "is read-only"),
          store_error(importing(1).argv, "is read-only")),
         around=read_only("lists")),
    Case("a read-only lists/ folder without a store", lambda workspace: None,
         (store_error(LISTS_SHOW, "lists is read-only"),), around=read_only("lists")),
    Case("a full disk under the store", big_import(600),
         (Step(("joins", "import", "big.jsonl", "--list", "leden"), 1,
               ("Error: ", "disk/postduif.sqlite3", "database or disk is full")),),
         around=full_disk("300k")),
    Case("send --to an invalid address", lambda workspace: None,
         (Step(("send", CAMPAIGN, "--to", "not-an-address"), 1,
               ("--to 'not-an-address' is not an email address", "nothing was sent")),
          Step(("send", CAMPAIGN, "--to", "a@example.org\nBcc: evil@example.org"), 1,
               ("'a@example.org\\nBcc: evil@example.org'", "U+000A", "nothing was sent")))),
    Case("broken YAML front matter",
         replace_line(EN_PAGE, "author:", "author: name: Sam"),
         (page_error("invalid YAML front matter", line_of(EN_PAGE, "author:")),)),
    Case("broken TOML front matter",
         write(EN_PAGE, '+++\ntitle = "TOML page"\nsummary = = "x"\n+++\n\nBody.\n'),
         (Step(("check",), 1, (f"{EN_PAGE}:3: error: invalid TOML front matter: Invalid value",),
               absent=("(at line",)),)),
    Case("an unknown shortcode", append(EN_PAGE, "{{< no-such-shortcode >}}\n"),
         (Step(("check",), 0, (f"{EN_PAGE}:{EN_APPENDED}: warning: unknown shortcode "
                               "'no-such-shortcode'",)),)),
    Case("a campaign file with broken TOML",
         replace_line(CAMPAIGN_FILE, "list = ", 'list = "nieuwsbrief'),
         (Step(("check",), 1, (f"{CAMPAIGN_FILE}:{CAMPAIGN_LIST}: error: not valid TOML",)),
          Step(("send", CAMPAIGN, "--dry-run"), 1,
               (f"{CAMPAIGN_FILE}:{CAMPAIGN_LIST}: not valid TOML",)))),
    Case("an unknown key in a campaign file",
         replace_line(CAMPAIGN_FILE, "mode = ", 'moed = "per-subscriber"'),
         (Step(("check",), 1, (f"{CAMPAIGN_FILE}:{line_of(CAMPAIGN_FILE, 'mode = ')}: error: "
                               "unknown key: 'moed'", "did you mean mode?")),)),
    Case("postduif.toml with broken TOML",
         replace_line("postduif.toml", "port = ", "port = 1025 1026"),
         (Step(("check",), 1, (f"postduif.toml:{SMTP_PORT}: not valid TOML",)),
          Step(LISTS_SHOW, 1, (f"postduif.toml:{SMTP_PORT}: not valid TOML",)))),
    Case("an unknown setting in postduif.toml",
         replace_line("postduif.toml", "port = ", "prot = 1025"),
         (Step(LISTS_SHOW, 1, (f"postduif.toml:{SMTP_PORT}: unknown setting smtp.prot",
                               "did you mean port?")),)),
    Case("a list file with broken TOML",
         replace_line(NEWSLETTER, "optin = ", 'optin = "double'),
         (Step(("check",), 1, (f"{NEWSLETTER}:{line_of(NEWSLETTER, 'optin = ')}: error: "
                               "not valid TOML",)),
          Step(LISTS_SHOW, 1, (f"{NEWSLETTER}:{line_of(NEWSLETTER, 'optin = ')}: "
                               "not valid TOML",)))),
    Case("a broken list file that no campaign uses",
         replace_line(MEMBERS, "optin = ", 'optin = "single'),
         (Step(("check",), 1, (f"{MEMBERS}:{line_of(MEMBERS, 'optin = ')}: error: "
                               "not valid TOML",)),)),
)

#: Cases whose steps write HTML, .eml or rejects files that the output checks must see.
SENDS = {"symlink loops in content", "XSS in front matter",
         "javascript: and on*= in the page body", "CR/LF in a subscriber's name",
         "XSS in subscribers' names", "CSV formulas in a rejects file"}


def all_cases() -> tuple[tuple[Case, ...], set[str]]:
    """The cases of this table and of every ``cases_<class>.py`` beside it, and the names
    of those that must write output."""
    cases, sends = list(CASES), set(SENDS)
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        module = importlib.import_module(f"{__package__}.{path.stem}")
        cases += module.CASES
        sends |= set(getattr(module, "SENDS", ()))
    return tuple(cases), sends
