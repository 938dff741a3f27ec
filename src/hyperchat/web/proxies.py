"""Trusted reverse proxies: the client's address and scheme from forwarded headers, believed
only when the connection comes from a proxy listed in TRUSTED_PROXIES (never by default).

Behind a proxy every request arrives from the proxy's address: the per-address limits would
be one quota for the whole site, and the audit log would record the proxy. Any client can
write `X-Forwarded-For`, so the header is read only from a listed proxy, and walked from the
right (the entry the nearest proxy appended) past every listed proxy: the first address that
is not a listed proxy is the client's. An entry that is not an address (`unknown`, an
obfuscated `_name`, garbage) ends the walk at the last proxy that wrote one.

This runs as ASGI middleware, before Quart builds the request: `request.remote_addr` and
`request.scheme` are then the client's everywhere (limits, audit log, Secure cookies, URLs).
"""

import ipaddress
from collections.abc import Iterable

from hyperchat.config import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value) -> tuple[Network, ...]:
    """TRUSTED_PROXIES from any layer: a list, or a comma/space separated string of
    addresses and networks (`10.0.0.1`, `10.0.0.0/8`, `::1`). A typo stops the app."""
    if value is None or value == "":
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ConfigError(f"TRUSTED_PROXIES: {item!r} is not an address or network "
                              "(use e.g. 10.0.0.1, 10.0.0.0/8 or ::1).") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a forwarded entry, without quotes, brackets or a port; else None."""
    text = text.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:4711"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "192.0.2.60:8080"
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded(header: str) -> tuple[list[str], list[str]]:
    """RFC 7239 `Forwarded`: the `for=` and `proto=` values, one per element, in order."""
    hops, protos = [], []
    for element in header.split(","):
        pairs = {}
        for pair in element.split(";"):
            name, _, value = pair.partition("=")
            pairs[name.strip().lower()] = value.strip().strip('"')
        if "for" in pairs:
            hops.append(pairs["for"])
        if "proto" in pairs:
            protos.append(pairs["proto"])
    return hops, protos


def _header(scope, name: bytes) -> str | None:
    values = [value.decode("latin-1") for key, value in scope.get("headers", ())
              if key.lower() == name]
    return ",".join(values) if values else None


class TrustedProxies:
    """ASGI middleware: rewrite the scope's client and scheme from a listed proxy's
    forwarded headers (`Forwarded`, else `X-Forwarded-For` and `X-Forwarded-Proto`)."""

    def __init__(self, app, networks: Iterable[Network]):
        self.app = app
        self.networks = tuple(networks)

    def trusted(self, address) -> bool:
        return address is not None and any(address in network for network in self.networks)

    async def __call__(self, scope, receive, send):
        if self.networks and scope.get("type") in ("http", "websocket"):
            scope = self.resolve(scope)
        await self.app(scope, receive, send)

    def resolve(self, scope: dict) -> dict:
        peer = scope.get("client")
        if not peer or not self.trusted(_address(str(peer[0]))):
            return scope
        forwarded = _header(scope, b"forwarded")
        if forwarded is not None:
            hops, protos = _forwarded(forwarded)
        else:
            hops = (_header(scope, b"x-forwarded-for") or "").split(",")
            protos = (_header(scope, b"x-forwarded-proto") or "").split(",")
        client = peer[0]
        for hop in reversed([h for h in hops if h.strip()]):
            address = _address(hop)
            if address is None:
                break
            client = str(address)
            if not self.trusted(address):
                break
        changed = {"client": (client, 0)}
        # The scheme the nearest proxy was reached with.
        proto = next((p.strip().lower() for p in reversed(protos) if p.strip()), None)
        if proto in ("http", "https"):
            changed["scheme"] = proto if scope["type"] == "http" else \
                {"http": "ws", "https": "wss"}[proto]
        return {**scope, **changed}


def init_app(app) -> None:
    networks = parse_networks(app.config.get("TRUSTED_PROXIES"))
    app.config["TRUSTED_PROXIES"] = networks
    if networks:
        app.asgi_app = TrustedProxies(app.asgi_app, networks)
