"""Real image files of a chosen size for tests, and an independent reader of their size."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def write_png(path: Path, width: int, height: int) -> Path:
    """A valid grey PNG of ``width`` x ``height`` pixels (browsers decode it too)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = (b"\x00" + b"\x80" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, read without the code under test."""
    data = path.read_bytes()
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def jpeg_size(path: Path) -> tuple[int, int]:
    """Width and height from a JPEG's first SOFn marker."""
    data = path.read_bytes()
    at = 2
    while at < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    raise AssertionError(f"no SOF marker in {path}")


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def adobe_rgb_profile() -> bytes:
    """An ICC v2 display profile with Adobe RGB (1998)'s primaries and gamma (2.2), written
    byte by byte from the ICC specification (ICC.1:2001-04), so the tests depend on no
    profile file of the system: matrix/TRC, primaries adapted to the D50 connection space."""
    text = b"Adobe RGB (1998) compatible, postduif test\0"
    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233)  # u8Fixed8 2.19921875
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(0.6097, 0.3111, 0.0195)), (b"gXYZ", _xyz(0.2053, 0.6257, 0.0609)),
            (b"bXYZ", _xyz(0.1492, 0.0632, 0.7446)), (b"cprt", b"text\0\0\0\0none\0"),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24 + b"\0" * 4
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def jpeg_segments(path: Path) -> list[tuple[int, bytes]]:
    """Each marker segment before the image data, as ``(marker, payload)``: APP1 holds EXIF
    and XMP, APP2 an ICC profile, COM a comment."""
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8", f"{path} is no JPEG"
    found, at = [], 2
    while at < len(data) and data[at + 1] != 0xDA:  # up to the start of scan
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        found.append((marker, data[at + 4:at + 2 + length]))
        at += 2 + length
    return found


def png_chunks(path: Path) -> list[bytes]:
    """The chunk types of a PNG, in order."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is no PNG"
    found, at = [], 8
    while at < len(data):
        length = struct.unpack(">I", data[at:at + 4])[0]
        found.append(data[at + 4:at + 8])
        at += 12 + length
    return found
