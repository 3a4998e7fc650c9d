"""Reading a request body as the Functions host does: Content-Length or chunked, within a limit."""

from __future__ import annotations

from email.message import Message
from io import BufferedIOBase


class RejectedError(Exception):
    """The request cannot be served; answer with this status and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClientGoneError(Exception):
    """The client hung up before sending the whole body."""


def declared_length(headers: Message) -> int | None:
    """The Content-Length the request declares (None: none); RejectedError when it is unclear."""
    values = set(headers.get_all("Content-Length") or [])
    if not values:
        return None
    value = values.pop().strip()
    if values or not value.isdigit():
        raise RejectedError(400, "Content-Length must be one non-negative integer")
    return int(value)


def check_length(length: int, limit: int) -> None:
    """Raise RejectedError (413) when a body of `length` bytes is over `limit`."""
    if length > limit:
        raise RejectedError(413, f"Request body is larger than {limit} bytes")


def read_body(rfile: BufferedIOBase, headers: Message, limit: int) -> bytes:
    """The whole body; an oversize one is refused before it is buffered."""
    encoding = headers.get("Transfer-Encoding", "").strip().lower()
    if encoding == "chunked":
        return _read_chunked(rfile, limit)
    if encoding:
        raise RejectedError(501, f"Transfer-Encoding {encoding!r} is not supported")
    length = declared_length(headers) or 0
    check_length(length, limit)  # before reading: an oversize body is never buffered
    body = rfile.read(length)
    if len(body) < length:
        raise ClientGoneError
    return body


def _read_chunked(rfile: BufferedIOBase, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024)
        if not line:
            raise ClientGoneError
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise RejectedError(400, "Malformed chunk size") from None
        if size == 0:
            break
        total += size
        check_length(total, limit)
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise ClientGoneError
        chunks.append(chunk)
        rfile.readline(3)  # the CRLF that ends each chunk
    while rfile.readline(8192) not in (b"\r\n", b"\n", b""):
        pass  # trailers carry nothing a function can see
    return b"".join(chunks)
