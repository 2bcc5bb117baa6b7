"""The proxy the environment names for an endpoint, as requests resolved it (without its ~/.netrc lookup)."""

from __future__ import annotations

import ipaddress
import urllib.request
from urllib.parse import unquote, urlsplit

import urllib3


def environ_proxy(url: str) -> str | None:
    """The proxy the environment names for a URL (`<scheme>_proxy`, `all_proxy`), unless `no_proxy` exempts it:
    what requests resolved, without its ~/.netrc lookup."""
    proxies = urllib.request.getproxies_environment()
    proxies.pop("no", None)
    parts = urlsplit(url)
    host = parts.hostname
    if not proxies or host is None or bypasses_proxy(host, parts.port):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def bypasses_proxy(host: str, port: int | None) -> bool:
    """Whether `no_proxy` exempts a host: a name (or a domain it ends in), an address, a CIDR network, or `*`."""
    no_proxy = urllib.request.getproxies_environment().get("no", "")
    entries = [entry for entry in no_proxy.replace(" ", "").split(",") if entry]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in entries:
        if entry == "*":
            return True
        if address is not None and "/" in entry:  # a network, in CIDR notation
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        if address is not None and entry == host:
            return True
        if address is None:
            entry = entry.lstrip(".")
            with_port = f"{host}:{port}" if port else host
            if entry in (host, with_port) or host.endswith("." + entry) or with_port.endswith("." + entry):
                return True
    return False


def proxy_headers(proxy: str) -> dict[str, str]:
    """Proxy-Authorization from a proxy URL's user info, as requests sent it."""
    parts = urlsplit(proxy)
    if not parts.username:
        return {}
    return urllib3.util.make_headers(proxy_basic_auth=f"{unquote(parts.username)}:{unquote(parts.password or '')}")
