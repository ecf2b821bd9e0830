"""Where partitur may send requests of its own (provider webhooks, SMS and push gateways, the
monitor's alert webhook, SMTP): only to public addresses over HTTP(S) (SMTP: a public host),
unless the operator allows a host (``PARTITUR_OUTBOUND_ALLOWED_HOSTS``; the demo's sinks on
127.0.0.1 need it). A name is resolved and every address it has must be public: loopback,
link-local (cloud metadata at 169.254.169.254), private, shared, multicast and reserved
addresses are refused, however they are written (``0x7f000001``, ``[::1]``, ``::ffff:127.0.0.1``).
The check runs when a URL is saved and again before the first request to it."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

#: hosts, addresses and networks (CIDR) the operator allows although they are not public
_allowed_hosts: frozenset[str] = frozenset()
_allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


class OutboundRefused(ValueError):
    """The target is not an allowed destination; the message says why."""


def allow(entries: Iterable[str]) -> None:
    """Allow these hosts (names or addresses) and networks (``10.0.0.0/8``) for this process."""
    global _allowed_hosts, _allowed_networks
    hosts, networks = set(), []
    for entry in entries:
        text = entry.strip().lower().strip("[]")
        if not text:
            continue
        if "/" in text:
            networks.append(ipaddress.ip_network(text, strict=False))
        else:
            hosts.add(text)
    _allowed_hosts, _allowed_networks = frozenset(hosts), tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return str(address) in _allowed_hosts or any(address in n for n in _allowed_networks)


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    literal = _address(host)
    if literal is not None:
        return [literal]
    try:
        # inet_aton reads the forms getaddrinfo accepts for IPv4 ("0x7f000001", "127.1")
        return [ipaddress.IPv4Address(socket.inet_aton(host))]
    except OSError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise OutboundRefused(f"{host} cannot be resolved: {exc.strerror or exc}") from None
    found = []
    for info in infos:
        address = _address(str(info[4][0]).split("%")[0])
        if address is not None:
            found.append(address)
    return found


def check_host(host: str, port: int) -> None:
    """Raise ``OutboundRefused`` unless every address of ``host`` is public or allowed."""
    name = host.strip().lower().strip("[]")
    if not name:
        raise OutboundRefused("the address has no host")
    if name in _allowed_hosts:
        return
    for address in _resolve(name, port):
        if _allowed(address) or address.is_global:
            continue
        raise OutboundRefused(
            f"{host} is a {_kind(address)} address ({address}); partitur sends only to public "
            "addresses unless PARTITUR_OUTBOUND_ALLOWED_HOSTS names the host"
        )


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    if address.is_multicast:
        return "multicast"
    return "reserved"


def check_url(url: str) -> None:
    """Raise ``OutboundRefused`` unless ``url`` is http(s) to a public or allowed host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused("only http and https URLs are allowed")
    if not parts.hostname:
        raise OutboundRefused("the URL has no host")
    check_host(parts.hostname, port or (443 if parts.scheme == "https" else 80))
