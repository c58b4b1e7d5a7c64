"""Which client a login is counted against, and how long each failure makes it wait."""

from __future__ import annotations

import ipaddress

from anxin.cloud.access.client_address import client_key
from anxin.cloud.access.login_throttle import Policy, Rule
from anxin.config import ApiConfig

PROXIES = (ipaddress.ip_network("10.0.0.5/32"), ipaddress.ip_network("192.168.0.0/24"))


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_key("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"
    assert client_key("10.0.0.5", "198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_key("10.0.0.5", None, PROXIES) == "10.0.0.5"


def test_forwarded_for_is_read_from_the_right_past_trusted_hops_only() -> None:
    # The client may put anything on the left; only what trusted proxies added counts.
    forwarded = "1.2.3.4, 198.51.100.9, 192.168.0.7"
    assert client_key("10.0.0.5", forwarded, PROXIES) == "198.51.100.9"
    assert client_key("10.0.0.5", "not-an-address, 198.51.100.9", PROXIES) == "198.51.100.9"
    assert client_key("10.0.0.5", "198.51.100.9, garbage", PROXIES) == "10.0.0.5"


def test_ipv6_clients_are_counted_by_their_slash_64() -> None:
    one = client_key("2001:db8:1:2::1", None, ())
    other = client_key("2001:db8:1:2:ffff::9", None, ())
    assert one == other == "2001:db8:1:2::/64"
    assert client_key("::ffff:203.0.113.7", None, ()) == "203.0.113.7"
    assert client_key(None, "203.0.113.7", PROXIES) == "unknown"


def test_waits_double_after_the_free_failures_up_to_the_cap() -> None:
    rule = Rule(free=5, first_ms=60_000, cap_ms=900_000)
    assert [rule.delay_ms(n) for n in range(1, 11)] == [
        0, 0, 0, 0, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000,
    ]  # fmt: skip
    policy = Policy.from_config(ApiConfig())
    assert policy.account.delay_ms(1000) == 5_000  # the account-wide wait stays mild
    assert policy.pair.free == 5 and policy.address.free == 30
