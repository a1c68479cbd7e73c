"""Request metadata kept with a consent event, minimised: a truncated address and a browser family."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

#: IPv4 addresses keep their /24 network, IPv6 their /48: enough to spot abuse, not to single out a person.
IPV4_PREFIX = 24
IPV6_PREFIX = 48

_FAMILIES = (
    # Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
    ("bot", re.compile(r"bot|crawler|spider|curl|wget|python|httpx|Go-http-client", re.IGNORECASE)),
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"OPR/(\d+)")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|Chromium|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
)


@dataclass(frozen=True)
class RequestMeta:
    """What Charte keeps of the request that carried a decision."""

    ip_prefix: str | None = None
    user_agent: str | None = None


def truncate_ip(address: str | None) -> str | None:
    """The network of an address (``192.0.2.0/24``, ``2001:db8:1::/48``); None when it is not an address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def user_agent_family(user_agent: str | None) -> str | None:
    """The browser family and major version (``Firefox 128``), ``bot``, or ``other``; None without a header."""
    if not user_agent:
        return None
    for family, pattern in _FAMILIES:
        match = pattern.search(user_agent)
        if match:
            return family if family == "bot" or not match.groups() else f"{family} {match.group(1)}"
    return "other"


def minimise_request(address: str | None, user_agent: str | None) -> RequestMeta:
    """The minimised metadata of a request from ``address`` with ``user_agent``."""
    return RequestMeta(truncate_ip(address), user_agent_family(user_agent))
