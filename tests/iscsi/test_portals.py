"""Portals from configuration: parsing, and discovery on the host's own loopback (pyroute2)."""

from __future__ import annotations

import pytest

from cohort.domain.exports import Portal
from cohort.iscsi.portals import PortalFinder, interface_addresses, parse_portal


@pytest.mark.parametrize(
    ("text", "portal"),
    [
        ("127.0.0.1", Portal("127.0.0.1", 3260)),
        (" 127.0.0.2:3261 ", Portal("127.0.0.2", 3261)),
        ("[::1]", Portal("::1", 3260)),
        ("[fd00::1]:3262", Portal("fd00::1", 3262)),
        ("fd00::0:1", Portal("fd00::1", 3260)),
    ],
)
def test_parse(text: str, portal: Portal) -> None:
    assert parse_portal(text) == portal


@pytest.mark.parametrize(
    "text", ["", "host", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[127.0.0.1]", "[::1"]
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="portal"):
        parse_portal(text)


def test_the_default_port_applies_to_addresses_without_one() -> None:
    assert parse_portal("127.0.0.1", 3270) == Portal("127.0.0.1", 3270)
    assert str(Portal("::1", 3260)) == "[::1]:3260"


def test_loopback_ipv4_is_found_and_host_scope_ipv6_is_not() -> None:
    found = interface_addresses("lo")
    assert "127.0.0.1" in found
    assert "::1" not in found


def test_a_missing_interface_has_no_address() -> None:
    assert interface_addresses("cohort-no-such0") == []


def test_configured_first_then_interfaces_without_duplicates() -> None:
    finder = PortalFinder(["127.0.0.2:3261", "127.0.0.1"], ["lo", "cohort-no-such0"])
    portals = finder()
    assert portals[:2] == [Portal("127.0.0.2", 3261), Portal("127.0.0.1")]
    assert len(portals) == len(set(portals))
    assert portals == finder()


def test_bad_configuration_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="port"):
        PortalFinder([], ["lo"], port=0)
    with pytest.raises(ValueError, match="not an IP"):
        PortalFinder(["lo"], [])
