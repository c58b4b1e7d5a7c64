"""Where a webhook may be sent: an https URL whose host is public, or inside a network
the administrator allow-listed (``notifications.webhook_allowed_networks``).

The URL is checked when a user sets it and again, with a fresh lookup, when each
notification is sent; the connection then goes only to the addresses that passed
(see ``channels.VettingResolver``), so a name re-pointed at the platform's own network
after it was checked is refused rather than reached.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses the name resolves to (as text); raises HostNotResolved.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

MAX_URL_LENGTH = 500
RESOLVE_TIMEOUT_S = 5.0
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LABEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


class WebhookRefused(ValueError):
    """The URL may not be used; the message says why, for the user who gave it."""


class UrlNotAllowed(WebhookRefused):
    pass


class AddressNotAllowed(WebhookRefused):
    pass


class HostNotResolved(WebhookRefused):
    pass


@dataclass(frozen=True)
class WebhookUrl:
    url: URL
    host: str  # lower case, IDNA-encoded; an IPv6 address without brackets
    port: int
    literal: IPAddress | None  # the host, when it is an address


@dataclass(frozen=True)
class CheckedWebhook:
    target: WebhookUrl
    addresses: tuple[IPAddress, ...]


def parse_webhook_url(text: str) -> WebhookUrl:
    """The URL if its form is acceptable; the host is not looked up here."""
    if len(text) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"must have at most {MAX_URL_LENGTH} characters")
    if any(ord(char) <= 32 or ord(char) == 127 for char in text):
        raise UrlNotAllowed("must not contain spaces or control characters")
    if "\\" in text:
        raise UrlNotAllowed("must not contain a backslash")
    if "#" in text:
        raise UrlNotAllowed("must not have a fragment ('#…')")
    try:
        url = URL(text)
        port, host = url.port, (url.raw_host or "").lower()
    except (ValueError, UnicodeError) as exc:
        raise UrlNotAllowed(f"is not a URL: {exc}") from None
    if url.scheme != "https":
        raise UrlNotAllowed("must start with https://")
    authority = text[len("https://") :].split("/", 1)[0].split("?", 1)[0]
    if "@" in authority or url.raw_user is not None or url.raw_password is not None:
        raise UrlNotAllowed("must not carry a user name or password")
    if port is None or not 1 <= port <= 65535:
        raise UrlNotAllowed("must have a port from 1 to 65535")
    if not host:
        raise UrlNotAllowed("must name a host")
    literal = _literal_address(host)
    if literal is None:
        _check_host_name(host)
    return WebhookUrl(url=url, host=host, port=port, literal=literal)


def _literal_address(host: str) -> IPAddress | None:
    if ":" in host:  # yarl only lets an IPv6 address in brackets through with colons
        if "%" in host:
            raise UrlNotAllowed("host must not be a scoped IPv6 address")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UrlNotAllowed(f"host '{host}' is not an IPv6 address") from None
    try:
        return ipaddress.IPv4Address(host)  # only a.b.c.d in decimal, no leading zeros
    except ValueError:
        return None


def _check_host_name(host: str) -> None:
    labels = host.split(".")
    top = labels[-1]
    if top.isdigit() or top.startswith("0x"):
        # 2130706433, 0x7f.1, 0177.0.0.1, 127.1: forms a resolver would read as an address
        raise UrlNotAllowed(
            f"host '{host}' looks like an address: an IP address must be written out in "
            "full (a.b.c.d, or [v6] in brackets)"
        )
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not _TOP_LABEL.match(top)
    ):
        raise UrlNotAllowed(
            f"host '{host}' is not a host name (labels of letters, digits and '-', "
            "with a dot and a top-level domain) or an IP address"
        )
    if top == "localhost":
        raise UrlNotAllowed(f"host '{host}' is under localhost")


# --- which addresses are not public ------------------------------------------------------

_V4_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "an unspecified address"),
    ("127.0.0.0/8", "a loopback address"),
    ("10.0.0.0/8", "a private address"),
    ("172.16.0.0/12", "a private address"),
    ("192.168.0.0/16", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("169.254.0.0/16", "a link-local address"),
    ("192.0.0.0/24", "a reserved address"),  # IETF protocol assignments
    ("192.0.2.0/24", "a documentation address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("192.88.99.0/24", "a reserved address"),  # former 6to4 relays
    ("198.18.0.0/15", "a reserved address"),  # benchmarking
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
)
_V6_RANGES: tuple[tuple[str, str], ...] = (
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
    ("::/96", "an IPv4-compatible IPv6 address"),
    ("64:ff9b:1::/48", "a reserved address"),  # local-use NAT64
    ("100::/64", "a reserved address"),  # discard
    ("2001::/32", "a Teredo address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("2001::/23", "a reserved address"),  # IETF protocol assignments
    ("fc00::/7", "a unique-local address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
_RANGES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(network), label) for network, label in _V4_RANGES + _V6_RANGES
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def address_problem(address: IPAddress, allowed: Iterable[IPNetwork]) -> str | None:
    """Why ``address`` may not receive webhooks ("a private address"), or None if it may."""
    if _allowed(address, tuple(allowed)):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a scoped IPv6 address"
        embedded: ipaddress.IPv4Address | None = None
        kind = ""
        if address in _NAT64:
            embedded, kind = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
        elif address.sixtofour is not None:
            embedded, kind = address.sixtofour, "6to4"
        if embedded is not None:
            inner = address_problem(embedded, allowed)
            return f"a {kind} address embedding {inner}" if inner else None
    for network, label in _RANGES:
        if address.version == network.version and address in network:
            return label
    if not address.is_global or address.is_reserved or address.is_multicast:
        return "an address that is not public"
    return None


def _allowed(address: IPAddress, allowed: tuple[IPNetwork, ...]) -> bool:
    # As written: an IPv4-mapped form of an allowed address is still refused (as every
    # mapped address is): such forms in a URL or a DNS answer are a trick, not a setup.
    return any(address.version == net.version and address in net for net in allowed)


# --- looking the host up -----------------------------------------------------------------


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The addresses the operating system's resolver gives for ``host``."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotResolved(f"host '{host}' does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_address(address: IPAddress, allowed: Iterable[IPNetwork]) -> None:
    """AddressNotAllowed if a URL written with this address may not receive webhooks."""
    problem = address_problem(address, allowed)
    if problem:
        raise AddressNotAllowed(f"host is {problem} {address}")


async def resolve_vetted(
    host: str,
    port: int,
    allowed: Iterable[IPNetwork],
    resolver: Resolver,
    timeout_s: float = RESOLVE_TIMEOUT_S,
) -> tuple[IPAddress, ...]:
    """Every address ``host`` resolves to, if all of them may receive webhooks."""
    try:
        async with asyncio.timeout(timeout_s):
            texts = await resolver(host, port)
    except TimeoutError:
        raise HostNotResolved(f"host '{host}' could not be looked up in time") from None
    except OSError:
        raise HostNotResolved(f"host '{host}' does not resolve") from None
    addresses = []
    for text in texts:
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            raise HostNotResolved(f"host '{host}' resolves to '{text}'") from None
    if not addresses:
        raise HostNotResolved(f"host '{host}' does not resolve")
    allowed = tuple(allowed)
    for address in addresses:
        problem = address_problem(address, allowed)
        if problem:
            # Which address is not said: it would map the internal network for any user.
            raise AddressNotAllowed(f"host '{host}' resolves to {problem}")
    return tuple(addresses)


async def vetted_addresses(
    target: WebhookUrl,
    allowed: Iterable[IPNetwork],
    resolver: Resolver,
    timeout_s: float = RESOLVE_TIMEOUT_S,
) -> tuple[IPAddress, ...]:
    """The addresses a webhook to ``target`` may go to; WebhookRefused if there are none."""
    if target.literal is not None:
        check_address(target.literal, allowed)
        return (target.literal,)
    return await resolve_vetted(target.host, target.port, allowed, resolver, timeout_s)


async def check_webhook_url(
    text: str,
    allowed: Iterable[IPNetwork],
    resolver: Resolver = system_resolver,
    timeout_s: float = RESOLVE_TIMEOUT_S,
) -> CheckedWebhook:
    """The URL and its addresses if a webhook may go there; WebhookRefused saying why."""
    target = parse_webhook_url(text)
    return CheckedWebhook(target, await vetted_addresses(target, allowed, resolver, timeout_s))
