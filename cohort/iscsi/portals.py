"""The portals cohort's iSCSI targets listen on: configured addresses, and the addresses found
now on configured interfaces (with pyroute2, from the kernel's netlink; no `ip` command).

Interfaces are read again at every call, so an address added later (`ip addr add 127.0.0.2/8
dev lo`) is a portal of the next export. An interface gives its IPv4 addresses and its IPv6
addresses of global scope (link-local ones would need a zone in every initiator's portal, and
the host-scope `::1` is the loopback's own).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import structlog
from pyroute2 import IPRoute

from cohort.domain.exports import Portal

log = structlog.get_logger("cohort.iscsi.portals")

DEFAULT_PORT = 3260
#: rtnetlink's RT_SCOPE_UNIVERSE: an address reachable from anywhere (global).
_SCOPE_UNIVERSE = 0


def parse_portal(text: str, port: int = DEFAULT_PORT) -> Portal:
    """A portal from `ADDRESS`, `ADDRESS:PORT`, `[IPV6]` or `[IPV6]:PORT` (a bare IPv6 address
    is taken whole, without a port). ValueError names what is wrong."""
    text = text.strip()
    address, found_port = text, ""
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"portal {text!r}: expected [IPV6] or [IPV6]:PORT")
        found_port = rest[1:]
        if ":" not in address:
            raise ValueError(f"portal {text!r}: brackets are for IPv6 addresses")
    elif text.count(":") == 1:
        address, _, found_port = text.partition(":")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"portal {text!r}: {address!r} is not an IP address") from None
    if found_port:
        if not found_port.isdigit() or not 0 < int(found_port) < 65536:
            raise ValueError(f"portal {text!r}: port must be 1-65535")
        port = int(found_port)
    return Portal(str(ip), port)


def interface_addresses(ifname: str) -> list[str]:
    """The interface's IPv4 addresses and global IPv6 addresses, in the kernel's order; none
    (logged) when there is no such interface."""
    with IPRoute() as ipr:
        indexes = ipr.link_lookup(ifname=ifname)
        if not indexes:
            log.warning("exports.interface_missing", interface=ifname)
            return []
        found = []
        for message in ipr.get_addr(index=indexes[0]):
            if message["family"] == socket.AF_INET:
                found.append(message.get("IFA_LOCAL") or message.get("IFA_ADDRESS"))
            elif message["family"] == socket.AF_INET6 and message["scope"] == _SCOPE_UNIVERSE:
                found.append(message.get("IFA_ADDRESS"))
        return [str(ipaddress.ip_address(a)) for a in found if a]


class PortalFinder:
    """The portals of `[exports]`: `addresses` first (as configured), then each interface's
    addresses on `port`; duplicates dropped, first place kept. Malformed addresses are a
    ValueError at construction, not at the first export."""

    def __init__(
        self, addresses: Sequence[str], interfaces: Sequence[str], port: int = DEFAULT_PORT
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"port {port}: must be 1-65535")
        self._configured = [parse_portal(text, port) for text in addresses]
        self._interfaces = list(interfaces)
        self._port = port

    def __call__(self) -> list[Portal]:
        portals = list(self._configured)
        for ifname in self._interfaces:
            portals.extend(Portal(a, self._port) for a in interface_addresses(ifname))
        return list(dict.fromkeys(portals))
