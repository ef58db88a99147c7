"""Start-up: the command line imports a library only when a command that needs it runs.

Each test runs a fresh interpreter and reads its ``sys.modules``, so what one test imported
cannot hide what another would. Not timed (bench/startup.py times the whole processes); what
is checked is the cause of the time: ``postduif --version`` paid 0.42 s for Jinja, MJML, DKIM,
SMTP, IMAP and the rest before printing one line.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from postduif.audience.listmonk import LANGUAGE_ATTRIBUTES
from postduif.cli.migrate import LANGUAGE_ATTRIBUTE_HELP

# The heavy dependencies (and the stdlib parts only sending and the store use).
HEAVY = ("aiosmtplib", "asyncio", "babel", "css_inline", "cryptography", "dkim", "dns",
         "email_validator", "flufl", "frontmatter", "httpx", "icalendar", "imap_tools", "jinja2",
         "markdown_it", "mjml", "nh3", "PIL", "recurring_ical_events", "sqlite3", "starlette",
         "uvicorn", "watchfiles", "yaml")

RUN_CLI = """
import json, sys
sys.argv = ["postduif", *sys.argv[1:]]
from postduif.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\n" + json.dumps(sorted(sys.modules)))
"""


def modules_after(code: str, *arguments: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    done = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    names = json.loads(done.stderr.strip().splitlines()[-1])
    return {name.split(".")[0] for name in names} | set(names)


def loaded_heavy(modules: set[str]) -> list[str]:
    return [name for name in HEAVY if name in modules]


@pytest.mark.parametrize("module", ["postduif", "postduif.cli"])
def test_importing_the_package_or_the_cli_loads_no_dependency(module: str) -> None:
    code = f"import json, sys, {module}; sys.stderr.write(json.dumps(sorted(sys.modules)))"
    assert loaded_heavy(modules_after(code)) == []


@pytest.mark.parametrize("arguments", [("--version",), ("--help",), ("send", "--help"),
                                       ("joins", "import", "--help"), ("migrate",)])
def test_version_and_help_load_no_dependency(arguments: tuple[str, ...]) -> None:
    modules = modules_after(RUN_CLI, *arguments)
    assert loaded_heavy(modules) == []
    assert not any(name.startswith("postduif.send") for name in modules)


def test_help_is_plain_text_without_typers_rich_renderer() -> None:
    """Typer's rich help imports Markdown, Syntax and Traceback rendering: half of --help."""
    assert "typer.rich_utils" not in modules_after(RUN_CLI, "--help")


def test_a_command_still_loads_what_it_runs() -> None:
    """The reverse: the laziness is per command, not a missing import."""
    modules = modules_after(RUN_CLI, "-w", "/nonexistent", "check")
    assert "postduif.workspace" in modules


def test_the_version_is_the_installed_one() -> None:
    from importlib.metadata import version

    import postduif

    assert postduif.__version__ == version("postduif")


def test_migrate_help_names_the_attributes_it_tries() -> None:
    """The help text is written out (so --help need not import the migration): it must still
    list what ``listmonk.LANGUAGE_ATTRIBUTES`` tries, in that order."""
    assert f"(default: {', '.join(LANGUAGE_ATTRIBUTES)})" in LANGUAGE_ATTRIBUTE_HELP


def test_version_and_help_print_without_rich() -> None:
    """rich's console, text and tables are a fifth of the start-up; plain lines need none."""
    for arguments in (("--version",), ("--help",)):
        assert "rich" not in modules_after(RUN_CLI, *arguments), arguments
