"""Which client a login comes from, for throttling.

The peer of the TCP connection is the client, unless the peer is one of the configured
trusted proxies: then X-Forwarded-For is read from its right end (the hop the proxy itself
added) leftwards, skipping further trusted proxies, and the first other address is the
client. An untrusted peer's X-Forwarded-For is ignored, so a stranger cannot make a new
client of themself by changing the header. IPv6 clients are counted by their /64 network:
one home or host usually holds a whole /64 and could otherwise take a fresh address for
every guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"  # a peer without an IP address (a Unix socket)
MAX_HOPS = 20


def client_key(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The throttling key of the client: an IPv4 address or an IPv6 /64 network."""
    client = _parse(peer)
    if client is None:
        return UNKNOWN
    if forwarded_for and _trusted(client, trusted):
        hops = [hop.strip() for hop in forwarded_for.split(",")][-MAX_HOPS:]
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:
                break  # garbage from here on: the last trusted hop is all that is known
            client = address
            if not _trusted(address, trusted):
                break
    return _key(client)


def _parse(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip("[] "))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def _key(address: Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
