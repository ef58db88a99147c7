"""The command line as a user meets it: a real process, its exit status and its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from postduif import __version__


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postduif", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_version(tmp_path: Path) -> None:
    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_build_prints_a_summary_per_language(workspace: Path) -> None:
    result = run("build", "campaigns/2026-12-community-update.toml", cwd=workspace)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split("│")[1].strip() == "nl" for line in lines if line.count("│") > 2)
    assert any(line.split("│")[1].strip() == "en" for line in lines if line.count("│") > 2)
    assert (workspace / "build/2026-12-community-update/en.eml").is_file()


def test_workspace_option_works_from_elsewhere(workspace: Path, tmp_path: Path) -> None:
    result = run("--workspace", str(workspace), "check", "2026-12-community-update",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_outside_a_workspace_is_a_one_line_error(tmp_path: Path) -> None:
    result = run("check", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: no postduif.toml")
    assert "Traceback" not in result.stderr


def test_unknown_campaign_names_the_known_ones(workspace: Path) -> None:
    result = run("build", "nope", cwd=workspace)
    assert result.returncode == 1
    assert "Error: no campaign 'nope'" in result.stderr
    assert "2026-12-community-update" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_campaign_toml_names_file_and_line(workspace: Path) -> None:
    path = workspace / "campaigns/broken.toml"
    path.write_text('page = "posts/2026-12"\nlist = "nieuwsbrief"\nmode = per-subscriber\n',
                    encoding="utf-8")
    result = run("check", "broken", cwd=workspace)
    assert result.returncode == 1
    assert f"{path}:3" in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_check_fails_on_errors_and_passes_on_warnings(workspace: Path) -> None:
    page = workspace / "content/posts/2026-12/index.nl.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n{{< no-such-thing >}}\n",
                    encoding="utf-8")
    warned = run("check", "2026-12-community-update", cwd=workspace)
    assert warned.returncode == 0, warned.stdout
    assert "unknown-shortcode" in warned.stdout
    page.write_text(page.read_text(encoding="utf-8") + "\nTODO: foto toevoegen\n",
                    encoding="utf-8")
    failed = run("check", "2026-12-community-update", cwd=workspace)
    assert failed.returncode == 1
    line = len(page.read_text(encoding="utf-8").splitlines())
    assert f"index.nl.md:{line}: error: leftover placeholder" in failed.stdout.replace("\n", "")
