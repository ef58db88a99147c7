"""STARTTLS, implicit TLS and AUTH against a real aiosmtpd server in a child process.

The server's certificate is self-signed for 127.0.0.1, so the client trusts it only through
``smtp.ca_file``: without it the check must fail before anything is sent.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from postduif.config import SmtpSettings
from postduif.errors import SendError
from postduif.send import SmtpTransport

SERVER = r"""
import json, socket, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

mode, cert, key, mailbox = sys.argv[1:5]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        tls = server.transport.get_extra_info("ssl_object") is not None
        with open(mailbox, "a") as out:
            out.write(json.dumps({"to": envelope.rcpt_tos, "tls": tls,
                                  "authenticated": session.authenticated}) + "\n")
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"organiser"
          and auth_data.password == b"geheim")
    return AuthResult(success=ok, handled=False)

with socket.socket() as probe:  # a free port: the Controller cannot start on port 0
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
options = dict(authenticator=authenticator, auth_required=True, auth_require_tls=True)
if mode == "tls":  # aiosmtpd does not count implicit TLS for auth_require_tls
    options["auth_require_tls"] = False
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=context,
                            server_hostname="127.0.0.1", **options)
else:
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, **options)
controller.start()
print(port, flush=True)
time.sleep(120)
"""


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def serve(mode: str, certificate: tuple[Path, Path], mailbox: Path) -> Iterator[int]:
    process = subprocess.Popen([sys.executable, "-c", SERVER, mode, *map(str, certificate),
                                str(mailbox)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.kill()
        process.wait()


def settings(port: int, security: str, ca_file: Path | None) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, security=security, username="organiser",
                        password_env="UNUSED", timeout=10.0,
                        ca_file=str(ca_file) if ca_file else "", connections=1,
                        rate_per_second=0.0, rate_per_hour=0.0)


async def send_one(transport: SmtpTransport) -> None:
    await transport.check()
    async with transport.connection() as connection:
        await connection.send("nb@techwerkers.nl", "sam@example.org",
                              b"Subject: hoi\r\n\r\nHallo.\r\n")


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_secured_login_and_delivery(security: str, certificate: tuple[Path, Path],
                                    tmp_path: Path) -> None:
    mailbox = tmp_path / "mailbox.jsonl"
    for port in serve(security, certificate, mailbox):
        trusted = settings(port, security, certificate[0])
        asyncio.run(send_one(SmtpTransport(trusted, password="geheim")))
        received = [json.loads(line) for line in mailbox.read_text().splitlines()]
        assert received == [{"to": ["sam@example.org"], "tls": True, "authenticated": True}]

        with pytest.raises(SendError, match=f"127.0.0.1:{port}.*refused the login"):
            asyncio.run(send_one(SmtpTransport(trusted, password="fout")))
        with pytest.raises(SendError, match=f"cannot connect to 127.0.0.1:{port} \\({security}\\)"):
            asyncio.run(send_one(SmtpTransport(replace(trusted, ca_file=""), password="geheim")))
        assert len(mailbox.read_text().splitlines()) == 1
