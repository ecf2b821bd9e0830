"""The providers' HTTP client against real sockets on 127.0.0.1: connection reuse, chunked
answers, servers that close kept connections, servers that never answer or answer too much."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from partitur.channels.plugins.http import (
    MAX_ANSWER_BYTES,
    ProviderClient,
    TransportError,
)
from tests.channels.conftest import self_signed

Reply = Callable[[int, bytes], tuple[bytes, bool]]  # (n-th request, request) -> (answer, close?)


@dataclass
class RawServer:
    port: int
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/in?x=1"


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[tuple[RawServer, list[Reply]]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server = RawServer(listener.getsockname()[1])
    reply: list[Reply] = [lambda n, r: (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", False)]
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(ConnectionError):  # a client may hang up mid-answer
            while not stop.is_set():
                req = _read_request(conn)
                if req is None:
                    return
                server.requests.append(req)
                answer, close = reply[0](len(server.requests), req)
                if answer:
                    conn.sendall(answer)
                if close:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            server.connections += 1
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server, reply
    stop.set()
    listener.close()


def test_requests_reuse_one_connection_and_carry_host_length_and_headers(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, _ = raw_server
    client = ProviderClient({"timeout": 2})
    for i in range(3):
        answer = client.post(
            server.url, body=b'{"n": %d}' % i, headers={"X-Partitur-Signature": "t=1,v1=ab"}
        )
        assert (answer.status, answer.body) == (200, b"{}")
    client.close()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /hooks/in?x=1 HTTP/1.1\r\n")
    head = first.lower()
    assert f"host: 127.0.0.1:{server.port}\r\n".encode() in head
    assert b"content-length: 8\r\n" in head and first.endswith(b'{"n": 0}')
    assert b"X-Partitur-Signature: t=1,v1=ab\r\n" in first


def test_chunked_answers_are_read_and_the_connection_kept(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, reply = raw_server
    reply[0] = lambda n, r: (
        b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
        b"5\r\nhello\r\n6; ext=1\r\n world\r\n0\r\n\r\n",
        False,
    )
    client = ProviderClient({"timeout": 2})
    first = client.post(server.url, body=b"{}")
    second = client.post(server.url, body=b"{}")
    assert (first.status, first.body, first.headers["retry-after"]) == (503, b"hello world", "7")
    assert second.body == b"hello world" and server.connections == 1


def test_a_kept_connection_the_server_closed_is_replaced_without_losing_the_request(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, reply = raw_server
    # the server answers and then closes without saying so (as idle timeouts do)
    reply[0] = lambda n, r: (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", True)
    client = ProviderClient({"timeout": 2})
    assert client.post(server.url, body=b'{"n": 1}').status == 200
    assert client.post(server.url, body=b'{"n": 2}').status == 200
    assert server.connections == 2
    assert [r.endswith(b'{"n": 1}') for r in server.requests] == [True, False]
    assert server.requests[-1].endswith(b'{"n": 2}')


def test_connection_close_and_http_10_answers_are_not_kept(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, reply = raw_server
    answers = [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.0 200 OK\r\n\r\n{}",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    reply[0] = lambda n, r: (answers[n - 1], n < 3)
    client = ProviderClient({"timeout": 2})
    assert [client.post(server.url, body=b"{}").status for _ in range(3)] == [200, 200, 204]
    assert server.connections == 3


def test_a_server_that_never_answers_is_a_transport_error_after_the_timeout(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, reply = raw_server
    reply[0] = lambda n, r: (b"", False)
    client = ProviderClient({"timeout": 0.3})
    with pytest.raises(TransportError, match="timed out"):
        client.post(server.url, body=b"{}")


def test_garbage_instead_of_http_and_refused_connections_are_transport_errors(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, reply = raw_server
    reply[0] = lambda n, r: (b"SSH-2.0-OpenSSH_9.6\r\n", True)
    with pytest.raises(TransportError, match="OpenSSH"):
        ProviderClient({"timeout": 2}).post(server.url, body=b"{}")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(TransportError, match="refused"):
        ProviderClient({"timeout": 2}).post(f"http://127.0.0.1:{port}/", body=b"{}")


def test_header_values_with_line_breaks_and_urls_that_are_no_http_are_refused() -> None:
    client = ProviderClient({"timeout": 1})
    with pytest.raises(ValueError, match="line break"):
        client.post("http://127.0.0.1:9/", body=b"{}", headers={"X-Evil": "a\r\nInjected: yes"})
    with pytest.raises(ValueError, match="not an http"):
        client.post("ftp://127.0.0.1/", body=b"{}")


# urllib3 warns of every unverified request: the provider asked for it here
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_endpoints_are_verified_unless_verification_is_switched_off(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                conn = tls.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()
                continue
            with conn:
                while (req := _read_request(conn)) is not None:
                    seen.append(req)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    threading.Thread(target=serve, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{port}/h"
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            ProviderClient({"timeout": 2}).post(url, body=b"{}")
        client = ProviderClient({"timeout": 2, "verify_tls": False})
        assert [client.post(url, body=b"{}").status for _ in range(2)] == [200, 200]
        assert len(seen) == 2 and seen[0].startswith(b"POST /h HTTP/1.1\r\n")
        client.close()
    finally:
        listener.close()


def test_at_most_64_kib_of_an_answer_is_read_and_its_connection_is_not_kept(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, reply = raw_server
    huge = b"x" * (MAX_ANSWER_BYTES * 4)
    answers = [
        b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % len(huge) + huge,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    ]
    reply[0] = lambda n, r: (answers[min(n, 2) - 1], False)
    client = ProviderClient({"timeout": 2})
    first = client.post(server.url, body=b"{}")
    assert (first.status, len(first.body)) == (500, MAX_ANSWER_BYTES)
    assert client.post(server.url, body=b"{}").body == b"{}"
    assert server.connections == 2


def test_form_json_and_basic_auth_bodies_are_encoded(
    raw_server: tuple[RawServer, list[Reply]],
) -> None:
    server, _ = raw_server
    client = ProviderClient({"timeout": 2})
    client.post(server.url, form={"To": "+49 151", "Body": "a&b"}, auth=("AC1", "tok"))
    client.post(server.url, json={"to": "+49151", "n": None})
    form, document = server.requests
    assert b"content-type: application/x-www-form-urlencoded\r\n" in form.lower()
    assert b"authorization: basic qumxonrvaw==\r\n" in form.lower()
    assert form.endswith(b"To=%2B49+151&Body=a%26b")
    assert b"content-type: application/json\r\n" in document.lower()
    assert document.endswith(b'{"to":"+49151","n":null}')
