"""A DKIM key pair made in the test and the DNS answer a receiver would get for it.

dkimpy's ``verify`` takes the DNS lookup as a function, so a signature is checked exactly as a
receiver checks it, against the test's own public key and without the network.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SELECTOR = "pd2026"
DOMAIN = "techwerkers.nl"


@dataclass(frozen=True)
class KeyPair:
    private: bytes  # PEM, as POSTDUIF_DKIM_KEY holds it
    public: bytes  # base64 DER, as the DNS TXT record's p= holds it

    def dns(self, selector: str = SELECTOR, domain: str = DOMAIN) -> Callable[..., bytes]:
        """A lookup that answers only the record of ``selector`` at ``domain``."""
        record = f"{selector}._domainkey.{domain}.".encode()

        def lookup(name: bytes, timeout: int = 5) -> bytes:
            assert name == record, name
            return b"v=DKIM1; k=rsa; p=" + self.public
        return lookup


def make_key(folder: Path) -> KeyPair:
    """A fresh 2048-bit RSA key made with openssl."""
    private = folder / "private.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(private), "2048"],
                   check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    return KeyPair(private.read_bytes(), base64.b64encode(public))
