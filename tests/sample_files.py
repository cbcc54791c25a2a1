"""Small files of each kind the upload tests send: the types taken, built whole, and what
must be refused (executables, markup, archives, files cut short)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png() -> bytes:
    """A 1×1 grey PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\x00\x80")) + _chunk(b"IEND", b""))


def jpeg() -> bytes:
    """Start of image, a JFIF header, end of image."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def pdf(body: bytes = b"1 0 obj <<>> endobj\n") -> bytes:
    return b"%PDF-1.4\n" + body + b"trailer <<>>\n%%EOF\n"


def archive(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in members.items():
            out.writestr(name.replace("__", "/"), data)
    return buffer.getvalue()


def ofd() -> bytes:
    """An OFD document: a zip with OFD.xml at its root."""
    return archive(**{"OFD.xml": b"<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\"/>",
                      "Doc_0__Document.xml": b"<ofd:Document/>"})


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
