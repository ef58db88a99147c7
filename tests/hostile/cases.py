"""The table of bad inputs: one ``Case`` per entry. To add one, append a ``Case`` to CASES:
what to break (a helper from support.py, or any function of the workspace) and the commands
with their exit codes and the file:line or field each message must name.

Every case is also checked for executable HTML and injected headers in all that postduif
wrote, and for tracebacks; cases that expect output (``SENDS``) check that some was written.
"""

from __future__ import annotations

from .support import (
    CAMPAIGN,
    EN_PAGE,
    Case,
    Prepare,
    Step,
    append,
    both,
    line_count,
    line_of,
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


def import_people(csv: str, code: int, *names: str) -> tuple[Prepare, Step]:
    """Write people.csv and import it as confirmed subscribers of the newsletter."""
    return (write("people.csv", csv),
            Step(("joins", "import", "people.csv", "--list", "nieuwsbrief", "--confirmed"),
                 code, names))


#: The line that text appended to the English page starts on.
EN_APPENDED = line_count(EN_PAGE)

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
)

#: Cases whose last step writes HTML or .eml files that the output checks must see.
SENDS = {"symlink loops in content", "XSS in front matter",
         "javascript: and on*= in the page body", "CR/LF in a subscriber's name",
         "XSS in subscribers' names"}
