"""Outbound HTTP to addresses that people typed: the one guarded client (no SSRF).

A project member can give a provider a ``base_url``, a ComfyUI box a ``host``, and providers
hand back output links; a worker then calls those addresses. Without a guard a member could
make the worker call the studio's own network (a database admin page, the cloud metadata
service at 169.254.169.254, ...). Every such call goes through :func:`session` here:

- the name is resolved and **every** address it resolves to must be public: loopback,
  private (RFC 1918), shared/CGNAT (100.64.0.0/10), link-local (169.254.0.0/16 with the
  metadata service, fe80::/10), multicast, unspecified (0.0.0.0, ::), reserved and
  documentation ranges, IPv6 unique-local (fc00::/7) and site-local are refused, also when
  written as IPv4-mapped/compatible IPv6 (``::ffff:127.0.0.1``, ``::127.0.0.1``), NAT64
  (``64:ff9b::10.0.0.1``), 6to4 or Teredo, and in the decimal/octal/hex IPv4 spellings the
  resolver accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``);
- the check is made **when the socket connects**, and the socket connects to the very
  address that was checked (TLS still names and verifies the host), so a name that
  answers "public" first and "127.0.0.1" a second later (DNS rebinding) gets nowhere;
- every redirect hop is checked the same way (before its request is sent, and again when
  it connects); proxies from the environment are not used.

The operator allows private addresses on purpose with ``MONTAGE_PROVIDER_ALLOWED_HOSTS``:
comma-separated host names (``comfy.lan``, ``*.gpu.lan``), addresses (``192.168.1.20``)
and networks (``10.0.0.0/8``). A listed name may resolve to anything; a listed address or
network is allowed whatever name leads to it. The hosts of the operator's own provider
addresses (``MONTAGE_BACKEND_URLS``) are allowed as well.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

SETTING = "MONTAGE_PROVIDER_ALLOWED_HOSTS"
MAX_REDIRECTS = 5
USER_AGENT = "Montage/1.0"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class AddressRefused(Exception):
    """The address is not one the studio calls. ``reason`` is a sentence part for people
    ("a private address"); it never carries a resolved address of a name."""

    def __init__(self, host: str, reason: str):
        self.host = host
        self.reason = reason
        super().__init__(f"{host} is {reason}")

    def sentence(self, what: str = "This address") -> str:
        return (
            f"{what} ({self.host}) is {self.reason}, which Montage does not call. If it is your own server, "
            f"the operator can allow it with the {SETTING} setting."
        )


# --- what an address is ---------------------------------------------------------------------


def address_problem(ip: IPAddress) -> str:
    """Why ``ip`` may not be called ("" when it is a public address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(ip.compressed.split("%", 1)[0])  # drop a zone (fe80::1%eth0)
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)
        if ip in _V4_COMPATIBLE:
            if ip.is_loopback:
                return "a loopback address"
            if ip.is_unspecified:
                return "an unspecified address"
            return "an IPv4-compatible IPv6 address"
        if ip in _NAT64:  # DNS64 on an IPv6-only network: judged by the IPv4 address inside
            inner = address_problem(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return f"{inner} (through NAT64)" if inner else ""
        if ip in _NAT64_LOCAL:
            return "a local NAT64 address"
        if ip.sixtofour is not None:
            inner = address_problem(ip.sixtofour)
            if inner:
                return f"{inner} (through 6to4)"
        if ip.teredo is not None:
            return "a Teredo tunnel address"
        if ip.is_site_local:
            return "a site-local address"
    if ip in _METADATA:
        return "the cloud metadata service"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return ""


# --- the operator's allow-list --------------------------------------------------------------


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def allows_name(self, host: str) -> bool:
        host = _norm(host)
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def allows_ip(self, ip: IPAddress) -> bool:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c.version == n.version and c in n for c in candidates for n in self.networks)


def _norm(host: str) -> str:
    return (host or "").strip().strip("[]").rstrip(".").lower()


@lru_cache(maxsize=8)
def _parse_allow_list(raw: str) -> AllowList:
    names: set[str] = set()
    suffixes: list[str] = []
    networks: list[Any] = []
    for entry in raw.replace(";", ",").replace(" ", ",").split(","):
        entry = _norm(entry)
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if entry.count(":") == 1:  # "192.168.1.20:8188": the port does not matter here
            entry = entry.split(":", 1)[0]
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
        if entry.startswith("*."):
            suffixes.append(entry[1:])
        elif entry.startswith("."):
            suffixes.append(entry)
        else:
            names.add(entry)
    return AllowList(frozenset(names), tuple(suffixes), tuple(networks))


def allow_list() -> AllowList:
    """The operator's allowances: MONTAGE_PROVIDER_ALLOWED_HOSTS, plus the hosts of the
    provider addresses the operator set in MONTAGE_BACKEND_URLS (their own choice too)."""
    raw = getattr(settings, SETTING, "") or ""
    if isinstance(raw, (list, tuple, set)):
        raw = ",".join(str(x) for x in raw)
    operator_urls = getattr(settings, "MONTAGE_BACKEND_URLS", None) or {}
    hosts = []
    if isinstance(operator_urls, dict):
        for url in operator_urls.values():
            try:
                hosts.append(urlsplit(str(url)).hostname or "")
            except ValueError:
                continue
    return _parse_allow_list(",".join([str(raw), *hosts]))


# --- resolving and vetting ------------------------------------------------------------------


def _getaddrinfo(host: str, port: int) -> list[tuple]:
    """The resolver (one place, so tests can stand in for DNS)."""
    return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)


def vet(host: str, port: int) -> list[tuple]:
    """Resolve ``host`` and check every address; the getaddrinfo entries to connect to.

    Raises AddressRefused (a refused address) or socket.gaierror (no such name)."""
    name = _norm(host)
    if not name:
        raise AddressRefused(host or "(empty)", "not an address")
    allowed = allow_list()
    name_allowed = allowed.allows_name(name)
    infos = _getaddrinfo(name, port)
    if not infos:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if name_allowed or allowed.allows_ip(ip):
            continue
        problem = address_problem(ip)
        if problem:
            literal = _is_ip_literal(name)
            raise AddressRefused(host, problem if literal else f"a name that leads to {problem}")
    return infos


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def check_url(url: str, *, resolve: bool = True) -> None:
    """Refuse a URL the guarded client would refuse (AddressRefused). ``resolve=False``
    checks only what the text says (scheme, host, an address literal): used when a name may
    not resolve from here (the check is made again when the call connects)."""
    try:
        parts = urlsplit(str(url))
        port = parts.port
    except ValueError:
        raise AddressRefused(str(url)[:100], "not a valid address") from None
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(str(url)[:100], "not an http or https address")
    host = parts.hostname or ""
    if not host:
        raise AddressRefused(str(url)[:100], "an address without a host")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if resolve:
        vet(host, port)
        return
    allowed = allow_list()
    if allowed.allows_name(host):
        return
    if _is_ip_literal(_norm(host)):
        ip = ipaddress.ip_address(_norm(host))
        if not allowed.allows_ip(ip) and address_problem(ip):
            raise AddressRefused(host, address_problem(ip))


# --- the connection: connect to the address that was checked ---------------------------------


def _open(sockaddr: tuple, timeout: Any, source_address: Any, socket_options: Any) -> socket.socket:
    """Connect one socket to an address already vetted (one place, so tests can watch it)."""
    return urllib3_connection.create_connection(
        (sockaddr[0], sockaddr[1]), timeout, source_address=source_address, socket_options=socket_options
    )


class _GuardedConnectionMixin:
    def _new_conn(self) -> socket.socket:  # urllib3's hook for opening the socket
        try:
            infos = vet(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        last: Exception | None = None
        for info in infos:
            try:
                return _open(info[4], self.timeout, self.source_address, self.socket_options)
            except TimeoutError as exc:
                last = ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})")
                last.__cause__ = exc
            except OSError as exc:
                last = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
                last.__cause__ = exc
        assert last is not None
        raise last


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter whose connections vet the address they connect to."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any):
        raise AddressRefused(urlsplit(proxy).hostname or "a proxy", "a proxy, which the guarded client does not use")


class GuardedSession(requests.Session):
    """A requests Session for user-supplied addresses: every request (and redirect hop) is
    checked before it is sent, and its connection is checked again when it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # no proxies or .netrc from the environment
        self.max_redirects = MAX_REDIRECTS
        self.headers["User-Agent"] = USER_AGENT
        adapter = GuardedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request, **kwargs: Any):
        try:
            check_url(request.url)
        except (OSError, UnicodeError) as exc:  # no such name: a network error like any other
            raise requests.ConnectionError(f"could not resolve the host of {request.url[:100]}") from exc
        kwargs["proxies"] = {}
        return super().send(request, **kwargs)


def session() -> GuardedSession:
    return GuardedSession()


def address_error(value: str, *, field: str = "address") -> str:
    """A sentence for people when ``value`` (a URL, or a bare ``host[:port]``) is an address
    the guarded client would refuse; "" when it may be saved. A name that does not resolve
    from here is accepted (the worker checks it again when it connects)."""
    text = str(value or "").strip()
    if not text:
        return ""
    url = text if "://" in text else f"http://{text}"
    try:
        check_url(url, resolve=True)
    except AddressRefused as exc:
        return exc.sentence(f"The {field}")
    except (OSError, UnicodeError, ValueError):
        try:
            check_url(url, resolve=False)
        except AddressRefused as exc:
            return exc.sentence(f"The {field}")
    return ""
