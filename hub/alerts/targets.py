"""Where a webhook may point: the hub's guard against server-side request forgery (SSRF).

A subscriber chooses the URL and the hub's workers, inside the government network, POST to it;
without a guard a subscription could make the hub call its own database, a cloud metadata
service (169.254.169.254) or an intranet host (OWASP SSRF Prevention Cheat Sheet). So:

* https only; credentials in the URL are refused (they would be stored in the clear);
* the host is resolved and **every** address must be globally routable: loopback, private,
  shared, link-local, multicast, reserved and unspecified addresses are refused, also when
  wrapped in an IPv4-mapped IPv6 address;
* a hub on a private network (HUB_ALERTS_ALLOW_PRIVATE_TARGETS, and the tests) may allow
  loopback and private addresses, and plain http to them only; link-local, multicast,
  reserved and unspecified addresses stay refused;
* the check is repeated before every attempt and the request goes to the very address that
  passed it (the URL's host travels in `Host` and as the TLS server name), so a DNS answer
  that changes after the check (DNS rebinding) cannot redirect a delivery;
* redirects are never followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import httpx

RESOLVE_SECONDS = 5.0
MAX_URL = 2000
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL may not be called; the message says why (never the resolved addresses)."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    address: str
    """The checked address the request must go to."""

    @cached_property
    def request(self) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """The URL with the checked address as its host, the `Host` header, and the TLS
        server name (so the certificate is still verified against the real host name)."""
        url = httpx.URL(self.url)
        pinned = url.copy_with(host=self.address)
        extensions: dict[str, Any] = {}
        if url.scheme == "https":
            extensions["sni_hostname"] = url.host
        return pinned, {"Host": url.netloc.decode("ascii")}, extensions


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal(address: Address, *, allow_private: bool) -> str | None:
    """Why `address` may not be called, or None when it may."""
    address = _plain(address)
    if address.is_unspecified or address.is_link_local or address.is_multicast:
        return "resolves to a link-local, multicast or unspecified address"
    if address.is_reserved:
        return "resolves to a reserved address"
    if address.is_global:
        return None
    if allow_private and (address.is_loopback or address.is_private):
        return None
    return "resolves to a loopback, private or otherwise non-public address"


def check_form(url: str, *, allow_private: bool) -> tuple[str, int]:
    """The URL's host and port, if its form is acceptable."""
    if len(url) > MAX_URL:
        raise TargetRefused(f"is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("is not a valid URL") from None
    if parts.scheme not in ("https", "http"):
        raise TargetRefused("must be an https URL")
    if parts.scheme == "http" and not allow_private:
        raise TargetRefused("must be an https URL")
    if not parts.hostname:
        raise TargetRefused("has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry credentials")
    if parts.fragment:
        raise TargetRefused("must not have a fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError):
        raise TargetRefused("does not resolve") from None
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not found:
        raise TargetRefused("does not resolve")
    return found


async def check(url: str, *, allow_private: bool) -> Target:
    """Resolve and check `url` (see the module docstring); `TargetRefused` when it fails."""
    host, port = check_form(url, allow_private=allow_private)
    addresses = await _addresses(host, port)
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            raise TargetRefused(reason)
    if urlsplit(url).scheme == "http" and any(_plain(a).is_global for a in addresses):
        raise TargetRefused("must be an https URL (http only to a private address)")
    return Target(url=url, host=host, port=port, address=str(addresses[0]))
