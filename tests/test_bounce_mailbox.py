"""Reading the return mailbox: a real Dovecot IMAP server on 127.0.0.1, Maildirs and mbox files.

Every source must give the same reports; reading must change nothing (no \\Seen, no local file
touched); only ``processed`` moves a message, on IMAP into the processed folder; every failure
is one clear MailboxError naming where, never the password.
"""

from __future__ import annotations

import mailbox
import socket
import time
from pathlib import Path

import imap_tools
import pytest

from postduif.bounces.classify import classify
from postduif.bounces.mailbox import ImapMailbox, open_mailbox, open_path
from postduif.bounces.model import Item, Kind
from postduif.errors import MailboxError

from .bounce_samples import HOSTILE, SAMPLES, write_reports
from .imap_server import PASSWORD, UTF8_PASSWORD, UTF8_USER, Dovecot, ImapAccount, free_port


def readings(items: list[Item]) -> list[tuple[Kind, tuple[str, ...], tuple[str, ...]]]:
    """What classifying gives, independent of line endings (IMAP serves CRLF)."""
    notices = [classify(item.raw) for item in items]
    return [(n.kind, tuple(f.address for f in n.failures), n.original_message_ids)
            for n in notices]


def sample_readings() -> list[tuple[Kind, tuple[str, ...], tuple[str, ...]]]:
    return readings([Item(handle="", raw=s.raw()) for s in SAMPLES])


def flags(account: ImapAccount, folder: str = "INBOX") -> list[tuple[str, ...]]:
    with imap_tools.MailBoxUnencrypted("127.0.0.1", account.server.imap_port).login(
            account.username, PASSWORD, initial_folder=folder) as box:
        return [m.flags for m in box.fetch(mark_seen=False, headers_only=True)]


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_imap_reads_every_sample_without_marking_it_seen(imap_account: ImapAccount,
                                                         security: str) -> None:
    imap_account.deliver(*(s.raw() for s in SAMPLES))
    settings = imap_account.settings(security)
    with ImapMailbox(settings) as box:
        items = list(box.items())
        assert box.name == (f"imap://{imap_account.username}@127.0.0.1:{settings.port}/INBOX")
    assert readings(items) == sample_readings()
    assert len({item.handle for item in items}) == len(SAMPLES)
    assert all("\\Seen" not in f for f in flags(imap_account))
    assert imap_account.folder_count("INBOX") == len(SAMPLES)


def test_hostile_messages_come_through_imap_as_not_understood(
        imap_account: ImapAccount) -> None:
    imap_account.deliver(*HOSTILE.values())
    with ImapMailbox(imap_account.settings()) as box:
        items = list(box.items())
    assert len(items) == len(HOSTILE)
    assert {classify(item.raw).kind for item in items} == {Kind.UNKNOWN}


def test_processed_moves_into_a_created_folder_and_never_deletes(
        imap_account: ImapAccount) -> None:
    imap_account.deliver(*(s.raw() for s in SAMPLES[:3]))
    assert imap_account.folder_count("postduif-processed") == -1
    with ImapMailbox(imap_account.settings()) as box:
        first, *rest = list(box.items())
        box.processed(first)
        box.processed(rest[0])
    assert imap_account.folder_count("postduif-processed") == 2
    assert imap_account.folder_count("INBOX") == 1
    with ImapMailbox(imap_account.settings()) as box:
        left = list(box.items())
    assert readings(left) == readings(rest[1:])
    with ImapMailbox(imap_account.settings(folder="postduif-processed",
                                           processed_folder="elsewhere")) as box:
        moved = list(box.items())
    assert readings(moved) == readings([first, rest[0]])


def test_reports_handled_before_an_error_are_still_moved(imap_account: ImapAccount) -> None:
    imap_account.deliver(*(s.raw() for s in SAMPLES[:3]))
    with pytest.raises(ZeroDivisionError), ImapMailbox(imap_account.settings()) as box:
        for item in box.items():
            box.processed(item)
            break
        1 / 0  # noqa: B018 - the caller's own failure, after one report was handled
    assert imap_account.folder_count("postduif-processed") == 1
    assert imap_account.folder_count("INBOX") == 2


def test_an_empty_mailbox_gives_nothing(imap_account: ImapAccount) -> None:
    with ImapMailbox(imap_account.settings()) as box:
        assert list(box.items()) == []


def test_many_messages_fetched_in_chunks_can_be_moved_while_reading(
        imap_account: ImapAccount, tmp_path: Path) -> None:
    written = write_reports(tmp_path / "many", 450)
    imap_account.deliver(*((tmp_path / "many" / "new" / w.key).read_bytes() for w in written))
    kinds = []
    with ImapMailbox(imap_account.settings()) as box:
        for item in box.items():
            kinds.append(classify(item.raw).kind)
            box.processed(item)
    assert sorted(kinds) == sorted(w.sample.kind for w in written)
    assert imap_account.folder_count("INBOX") == 0
    assert imap_account.folder_count("postduif-processed") == 450


def error_of(settings: object) -> MailboxError:
    with pytest.raises(MailboxError) as caught, ImapMailbox(settings) as box:  # type: ignore[arg-type]
        list(box.items())
    return caught.value


def test_a_wrong_password_names_the_server_and_its_words_not_the_password(
        imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTDUIF_TEST_IMAP_PASSWORD", "wrong-secret-123")
    error = error_of(imap_account.settings())
    text = str(error)
    assert f"127.0.0.1:{imap_account.server.imap_port}" in text
    assert "AUTHENTICATIONFAILED" in text and imap_account.username in text
    assert "wrong-secret-123" not in text and PASSWORD not in text


def test_a_utf8_password_logs_in(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    account = dovecot.add_user(UTF8_USER)
    account.deliver(SAMPLES[0].raw())
    monkeypatch.setenv("POSTDUIF_TEST_IMAP_PASSWORD", UTF8_PASSWORD)
    with ImapMailbox(account.settings()) as box:
        assert readings(list(box.items())) == sample_readings()[:1]
    monkeypatch.setenv("POSTDUIF_TEST_IMAP_PASSWORD", UTF8_PASSWORD + "x")
    assert "AUTHENTICATIONFAILED" in str(error_of(account.settings()))


def test_a_closed_port_is_a_clear_error(imap_account: ImapAccount) -> None:
    port = free_port()
    error = error_of(imap_account.settings(port=port))
    assert f"127.0.0.1:{port}" in str(error) and "refused" in str(error).lower()


def test_a_server_that_never_answers_is_given_up_after_the_timeout(
        imap_account: ImapAccount) -> None:
    with socket.socket() as silent:  # accepts the connection, never sends a greeting
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        error = error_of(imap_account.settings(port=port, timeout=0.5))
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{port}" in str(error) and "timed out" in str(error)


def test_tls_spoken_to_the_plain_port_is_a_clear_error(imap_account: ImapAccount) -> None:
    error = error_of(imap_account.settings("tls", port=imap_account.server.imap_port))
    assert "TLS" in str(error) and f":{imap_account.server.imap_port}" in str(error)


def test_a_missing_folder_is_named(imap_account: ImapAccount) -> None:
    error = error_of(imap_account.settings(folder="Bounces"))
    assert "'Bounces'" in str(error) and "doesn't exist" in str(error)


def test_a_missing_password_variable_is_named(imap_account: ImapAccount) -> None:
    error = error_of(imap_account.settings(password_env="POSTDUIF_UNSET_PASSWORD_VAR"))
    assert "POSTDUIF_UNSET_PASSWORD_VAR" in str(error) and error.hint


def test_an_empty_username_is_named(imap_account: ImapAccount) -> None:
    error = error_of(imap_account.settings(username=""))
    assert "username" in str(error) and error.hint


def test_settings_that_would_be_ignored_or_loop_are_refused(imap_account: ImapAccount) -> None:
    ca_file = str(imap_account.server.ca_file)
    assert "ca_file" in str(error_of(imap_account.settings("none", ca_file=ca_file)))
    error = error_of(imap_account.settings(ca_file="", processed_folder="INBOX"))
    assert "processed_folder" in str(error)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_without_the_ca_file_fails_the_certificate_check(imap_account: ImapAccount,
                                                             security: str) -> None:
    error = error_of(imap_account.settings(security, ca_file=""))
    assert "TLS" in str(error) and "certificate verify failed" in str(error)


def test_maildir_and_mbox_read_the_same_samples_and_are_left_alone(tmp_path: Path) -> None:
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    mbox = mailbox.mbox(tmp_path / "bounces.mbox", create=True)
    for sample in SAMPLES:
        maildir.add(sample.raw())
        mbox.add(sample.raw())
    maildir.close()
    mbox.close()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for path in (tmp_path / "Maildir", tmp_path / "bounces.mbox"):
        with open_path(path) as box:
            assert box.name == str(path)
            items = list(box.items())
            for item in items:
                box.processed(item)
        assert sorted(readings(items)) == sorted(sample_readings())
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_generated_reports_are_deterministic_and_read_back(tmp_path: Path) -> None:
    first = write_reports(tmp_path / "a", 30)
    second = write_reports(tmp_path / "b", 30)
    assert first == second
    for written in first:
        assert (tmp_path / "a" / "new" / written.key).read_bytes() == \
            (tmp_path / "b" / "new" / written.key).read_bytes()
    with open_path(tmp_path / "a") as box:
        items = list(box.items())
    assert [item.handle for item in items] == [w.key for w in first]
    notices = [classify(item.raw) for item in items]
    assert [n.kind for n in notices] == [w.sample.kind for w in first]
    assert len({n.key for n in notices}) == len(first)


def test_a_path_that_is_no_mailbox_is_a_clear_error(tmp_path: Path) -> None:
    eml = tmp_path / "one.eml"
    eml.write_bytes(SAMPLES[0].raw())
    (tmp_path / "folder").mkdir()
    for path, words in ((eml, "neither a Maildir nor an mbox"),
                        (tmp_path / "folder", "not a Maildir"),
                        (tmp_path / "missing", "no such file")):
        with pytest.raises(MailboxError) as caught:
            open_path(path)
        assert str(path) in str(caught.value) and words in str(caught.value)


def test_from_path_wins_and_without_host_or_path_the_error_says_what_to_set(
        imap_account: ImapAccount, tmp_path: Path) -> None:
    write_reports(tmp_path / "md", 1)
    with open_mailbox(imap_account.settings(), tmp_path / "md") as box:
        assert box.name == str(tmp_path / "md")
    assert isinstance(open_mailbox(imap_account.settings(), None), ImapMailbox)
    with pytest.raises(MailboxError) as caught:
        open_mailbox(imap_account.settings(host=""), None)
    assert "[bounces] host" in (caught.value.hint or "") and "--from" in (caught.value.hint or "")
