"""A full disk and a read-only store, made for real: one ``Error:`` line naming the file and
the cause, exit status 1, no traceback; the same commands on a healthy disk just work.

The full disk is a small tmpfs and the read-only store a read-only bind mount: both need root
(``mount``), which also ignores permission bits, so ``chmod`` would prove nothing for root.
Without root the read-only case uses ``chmod`` (which then does bind), and the full-disk case
is skipped with that reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_cli_send import CAMPAIGN, prepare, run

ROOT = os.geteuid() == 0


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` and everything in it read-only, for whoever runs the test."""
    if not ROOT:
        modes = {p: p.stat().st_mode for p in (folder, *folder.iterdir())}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    mount("--bind", str(folder), str(folder))
    try:
        mount("-o", "remount,ro,bind", str(folder))
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def use_store(workspace: Path, path: Path) -> None:
    config = workspace / "postduif.toml"
    config.write_text(re.sub(r'(?m)^path = "lists/postduif.sqlite3".*$', f'path = "{path}"',
                             config.read_text(encoding="utf-8")), encoding="utf-8")


def big_import(workspace: Path, rows: int) -> Path:
    lines = (json.dumps({"email": f"p{n}@example.org", "firstName": "Piet", "lastName": "Jansen",
                         "goals": "g" * 900}) for n in range(rows))
    path = workspace / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_one_clear_error(result: subprocess.CompletedProcess[str], store: Path,
                           cause: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "no transaction is active" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, result.stderr
    assert str(store) in error[0] and cause in error[0], result.stderr


@pytest.mark.skipif(not ROOT, reason="a real small filesystem needs mount (root)")
def test_a_full_disk_is_one_clear_error_and_a_roomy_one_imports(
        workspace: Path, tmp_path: Path) -> None:
    big = big_import(workspace, 600)
    with small_disk(tmp_path / "disk", "300k") as disk:
        store = disk / "postduif.sqlite3"
        use_store(workspace, store)
        full = run(workspace, "joins", "import", big.name, "--list", "leden")
        assert_one_clear_error(full, store, "database or disk is full")
        assert "Hint: free space" in full.stderr
    with small_disk(tmp_path / "roomy", "50m") as disk:
        use_store(workspace, disk / "postduif.sqlite3")
        fine = run(workspace, "joins", "import", big.name, "--list", "leden")
        assert fine.returncode == 0, fine.stderr
        assert "600 added" in fine.stdout and "Error" not in fine.stderr


@pytest.mark.skipif(not ROOT, reason="a real small filesystem needs mount (root)")
def test_send_on_a_full_disk_is_one_clear_error(workspace: Path, tmp_path: Path,
                                               smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    with small_disk(tmp_path / "disk", "2m") as disk:
        store = disk / "postduif.sqlite3"
        use_store(workspace, store)
        prepare(workspace, server)
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as out:
            while True:
                out.write(b"\0" * 65536)
        result = run(workspace, "send", CAMPAIGN, "--yes")
        assert_one_clear_error(result, store, "database or disk is full")
        filler.unlink()
        assert run(workspace, "send", CAMPAIGN, "--yes").returncode == 0
    assert server.mailbox.count() == 60


def test_a_read_only_store_is_one_clear_error_and_a_writable_one_is_written(
        workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    store = folder / "postduif.sqlite3"
    use_store(workspace, store)
    assert run(workspace, "subscribers", "add", "a@example.org").returncode == 0
    with read_only(folder):
        refused = run(workspace, "subscribers", "add", "b@example.org")
        assert_one_clear_error(refused, store, "read-only")
        assert "Hint: make the store file and its folder writable" in refused.stderr
    added = run(workspace, "subscribers", "add", "b@example.org")
    assert added.returncode == 0 and "Error" not in added.stderr


def test_a_read_only_folder_without_a_store_is_one_clear_error(
        workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lists-ro"
    folder.mkdir()
    store = folder / "postduif.sqlite3"
    use_store(workspace, store)
    with read_only(folder):
        result = run(workspace, "lists", "show")
        assert_one_clear_error(result, store, f"{folder} is read-only")
    assert run(workspace, "lists", "show").returncode == 0


def test_rejects_beside_an_input_in_a_read_only_folder_are_one_clear_error(
        workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "in.jsonl").write_text('{"email": "not-an-address"}\n', encoding="utf-8")
    with read_only(folder):
        result = run(workspace, "joins", "import", str(folder / "in.jsonl"), "--list", "leden")
        assert_one_clear_error(result, folder / "in.rejects.csv", "nothing was imported")
    written = run(workspace, "joins", "import", str(folder / "in.jsonl"), "--list", "leden")
    assert written.returncode == 1 and "Error" not in written.stderr  # a rejected row
    assert (folder / "in.rejects.csv").exists()
