"""Shared HTTP handling of providers: one pooled client per plugin, status -> outcome.

Most providers use an ``httpx`` client. Webhooks, the channel that must sustain thousands of
requests a second, use ``KeepAlivePool``: persistent HTTP/1.1 connections with a lean request
writer and answer parser; an ``httpx`` request costs several times its CPU (sequential requests
to the same local server: ~2,800/s with ``httpx``, ~12,000/s with ``http.client``), the
difference between meeting the webhook throughput target or not on a small machine.
"""

from __future__ import annotations

import queue
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from partitur.channels.base import DeliveryResult

#: statuses worth another try: timeouts, conflicts in flight, rate limits, server errors
TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504}


def make_client(config: dict[str, Any]) -> httpx.Client:
    timeout = float(config.get("timeout", 10))
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        follow_redirects=False,
    )


def transport_failure(exc: httpx.HTTPError, what: str) -> DeliveryResult:
    return DeliveryResult.retry(f"{what}: {type(exc).__name__}: {exc}")


def status_failure(response: httpx.Response, what: str) -> DeliveryResult:
    snippet = response.text[:200].replace("\n", " ")
    error = f"{what} answered {response.status_code}: {snippet}"
    if response.status_code in TRANSIENT:
        retry_after = response.headers.get("retry-after")
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return DeliveryResult.retry(error, retry_after=seconds)
    return DeliveryResult.failed(error)


def json_body(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a provider answered; raises ``ValueError`` for anything else."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ValueError(
            f"{what} answered something that is not JSON: {response.text[:80]!r}"
        ) from exc
    if not isinstance(body, dict):
        raise ValueError(f"{what} answered JSON that is not an object")
    return body


#: the most of an answer's body that is read (a longer answer's connection is not kept)
MAX_ANSWER_BYTES = 64 * 1024
_MAX_LINE = 8 * 1024
_MAX_HEADERS = 100


class TransportError(Exception):
    """The request did not get an answer (refused, timed out, reset, not HTTP)."""


class _Stale(TransportError):
    """A kept connection was closed by the server before it answered (safe to send again)."""


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def _line(self) -> bytes:
        line = self.reader.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise TransportError("answer line too long")
        return line

    def exchange(self, request: bytes, *, first: bool) -> tuple[HttpAnswer, bool]:
        """Send one request and read its answer; returns it and whether the connection may be
        kept. ``first`` is false for a kept connection, whose silent close is ``_Stale``."""
        self.sock.sendall(request)
        while True:
            status_line = self._line()
            if not status_line:
                if first:
                    raise TransportError("server closed the connection without an answer")
                raise _Stale("kept connection was closed by the server")
            parts = status_line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise TransportError(f"not an HTTP answer: {status_line[:40]!r}")
            status = int(parts[1])
            headers: dict[str, str] = {}
            for _ in range(_MAX_HEADERS):
                line = self._line()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            else:
                raise TransportError("too many header lines in the answer")
            if 100 <= status < 200:  # 100 Continue and friends precede the real answer
                continue
            break
        keep = parts[0] == b"HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, complete = self._chunked()
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body = self.reader.read(min(length, MAX_ANSWER_BYTES))
            complete = length <= MAX_ANSWER_BYTES and len(body) == length
        elif status in (204, 304):
            body, complete = b"", True
        else:  # the body runs until the server closes the connection
            body, complete = self.reader.read(MAX_ANSWER_BYTES), False
        return HttpAnswer(status, headers, body), keep and complete

    def _chunked(self) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size_read = 0
        while True:
            size = int(self._line().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self._line() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(chunks), True
            if size_read + size > MAX_ANSWER_BYTES:
                return b"".join(chunks), False
            chunks.append(self.reader.read(size))
            size_read += size
            self._line()


class KeepAlivePool:
    """Persistent HTTP/1.1 connections to one ``http(s)://host:port``, shared by the sending
    threads.

    A connection is checked out for one request and put back when its answer was read in full
    and the server keeps it open, so consecutive requests skip the TCP (and TLS) handshake. A
    kept connection the server has closed meanwhile is retried once on a fresh one (the request
    never reached the server). ``timeout`` bounds the connect and every read; redirects are
    never followed; at most ``MAX_ANSWER_BYTES`` of an answer are read.

    Requests and answers are written and parsed here rather than by ``http.client``, whose
    header parsing (the ``email`` package) costs more CPU than the rest of a webhook delivery.
    """

    def __init__(
        self, url: str, *, timeout: float, verify_tls: bool = True, keep: int = 64
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) url: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = self.port == (443 if parts.scheme == "https" else 80)
        netloc = self.host if default_port else f"{self.host}:{self.port}"
        if ":" in self.host and not default_port:
            netloc = f"[{self.host}]:{self.port}"
        self._request_line = f"POST {path} HTTP/1.1\r\nHost: {netloc}\r\n".encode()
        self.timeout = timeout
        self.keep = keep
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._tls = ssl.create_default_context()
            if not verify_tls:
                self._tls.check_hostname = False
                self._tls.verify_mode = ssl.CERT_NONE
        self._idle: queue.LifoQueue[_Connection] = queue.LifoQueue()

    def _connect(self) -> _Connection:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except OSError:
                sock.close()
                raise
        return _Connection(sock)

    def post(self, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        """POST ``body`` to the pool's URL; raises ``TransportError`` without an answer."""
        head = [self._request_line]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} holds a line break")
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        head.append(f"Content-Length: {len(body)}\r\n\r\n".encode())
        request = b"".join(head) + body
        while True:
            try:
                conn, first = self._idle.get_nowait(), False
            except queue.Empty:
                try:
                    conn, first = self._connect(), True
                except OSError as exc:
                    raise TransportError(f"connect: {type(exc).__name__}: {exc}") from exc
            try:
                answer, keep = conn.exchange(request, first=first)
            except _Stale:
                conn.close()
                continue  # the server dropped an idle connection; the request never arrived
            except (ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if not first:
                    continue
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            except TransportError:
                conn.close()
                raise
            except (OSError, ValueError) as exc:
                conn.close()
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            if keep and self._idle.qsize() < self.keep:
                self._idle.put(conn)
            else:
                conn.close()
            return answer

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def answer_failure(answer: HttpAnswer, what: str) -> DeliveryResult:
    """The outcome of a non-2xx answer of a ``KeepAlivePool`` request."""
    snippet = answer.text[:200].replace("\n", " ")
    error = f"{what} answered {answer.status}: {snippet}"
    if answer.status in TRANSIENT:
        retry_after = answer.headers.get("retry-after")
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return DeliveryResult.retry(error, retry_after=seconds)
    return DeliveryResult.failed(error)
