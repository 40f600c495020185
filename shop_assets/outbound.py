"""The one way the service makes HTTP requests to addresses a merchant gave us.

Webhook deliveries and image downloads go to URLs that come from outside, so every
request made here is guarded against server-side request forgery:

- Only ``http`` and ``https``. The host is resolved once; if *any* address it resolves to
  is private, loopback, link-local, shared (100.64/10), multicast, reserved, unspecified or
  a cloud metadata address, the request is refused. IPv4-mapped, NAT64, 6to4 and Teredo
  IPv6 addresses are judged by the IPv4 address inside them; decimal, octal and hex
  spellings of IPv4 (``2130706433``, ``0177.0.0.1``, ``0x7f.1``) by the address they mean.
- The connection goes to the address that was checked (it is pinned in the connection
  pool), so a second DNS answer cannot swap in another address (DNS rebinding). The Host
  header, TLS SNI and certificate checks still use the name.
- Redirects are returned, not followed, unless the caller allows some; each hop is then
  checked like the first request.
- Proxies and ``.netrc`` from the environment are ignored.
- Time (connect, each read, the whole body), size (the body, counted after decoding) and
  content type are capped while the body streams in.

``SHOPASSETS_ALLOW_PRIVATE_URLS=true`` lets development and tests reach private and
loopback addresses; multicast, reserved, unspecified and metadata addresses stay refused.

Use :func:`default_client` and :meth:`OutboundClient.request` (whole body, capped) or
:meth:`OutboundClient.stream` (chunks, for writing a large download to a file).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.poolmanager import key_fn_by_scheme
from urllib3.util import connection as urllib3_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

# Instance metadata and host services of the big clouds: never reachable, whatever the setting.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::123",
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server (a public address)
        "192.0.0.192",  # Oracle Cloud
    )
)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Host parts that inet_aton reads as an IPv4 address: 1 to 4 dot-separated numbers, each
# decimal, octal (leading 0) or hex (0x), e.g. 2130706433, 0177.0.0.1, 0x7f.1.
_NUMERIC_HOST = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)(\.(0[xX][0-9a-fA-F]*|[0-9]+)){0,3}")


class OutboundError(Exception):
    """A request to an outside URL was refused or did not complete. ``code`` names why."""

    code = "outbound_error"


class InvalidTargetURL(OutboundError):
    code = "invalid_url"


class AddressNotAllowed(OutboundError):
    code = "address_not_allowed"


class OutboundTimeout(OutboundError):
    code = "timeout"


class OutboundConnectionError(OutboundError):
    code = "connection_error"


class ResponseTooLarge(OutboundError):
    code = "too_large"


class UnexpectedContentType(OutboundError):
    code = "content_type"


class TooManyRedirects(OutboundError):
    code = "too_many_redirects"


@dataclass(frozen=True)
class Limits:
    """Caps for one request. Seconds and bytes."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # for each read from the socket
    total_timeout: float = 60.0  # from the first byte sent to the last byte of the body
    max_bytes: int = 10 * 1024 * 1024
    content_types: tuple[str, ...] = ()  # prefixes such as "image/"; empty: anything
    max_redirects: int = 0  # 0: a redirect is returned to the caller, not followed


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks, and the address its connection will use."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


@dataclass
class OutboundResponse:
    url: str  # the URL that answered (after any redirects followed)
    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool  # the body was cut at max_bytes (only with truncate=True)
    elapsed: float  # seconds, request sent to body read
    address: str  # the IP address that answered
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


def address_problem(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``ip`` may not be contacted, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            problem = address_problem(embedded, allow_private=allow_private)
            return f"{problem} (inside {ip})" if problem else None
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%")[0])
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_loopback:  # before "reserved": ::1 lies in the reserved ::/8
        return None if allow_private else f"{ip} is a loopback address"
    if ip.is_reserved:
        return f"{ip} is a reserved address"
    if ip.is_global or allow_private:
        return None
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    return f"{ip} is a private or non-public address"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to ``ip`` would really reach, for the forms that carry one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host part names by itself (no DNS), in any spelling the OS accepts."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise InvalidTargetURL(f"{host!r} is neither a host name nor a valid IP address.") from None
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for ``host`` (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- pinned connections -------------------------------------------------------------


# The mixin only ever sits in front of urllib3's HTTPConnection: type it as one.
if TYPE_CHECKING:
    _ConnectionBase = HTTPConnection
else:
    _ConnectionBase = object


class _PinnedConnectionMixin(_ConnectionBase):
    """Connects to the checked address instead of resolving the host name again."""

    def __init__(self, *args: Any, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address

    def _new_conn(self) -> socket.socket:
        try:
            sock = urllib3_connection.create_connection(
                (self.pinned_address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} ({self.pinned_address}) timed out."
            ) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to connect to {self.pinned_address}: {exc}") from exc
        return sock


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


def _pinned_pool_key(request_context: dict[str, Any]) -> tuple[Any, str]:
    """urllib3's own pool key plus the address: keep-alive connections are reused only
    for the address that was checked for this request."""
    context = dict(request_context)
    address = context.pop("pinned_address")
    return key_fn_by_scheme[context["scheme"].lower()](context), address


class _PinnedPoolManager(PoolManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_classes_by_scheme = {"http": _PinnedHTTPConnectionPool, "https": _PinnedHTTPSConnectionPool}
        # urllib3 takes any function giving a hashable pool key; its annotation names its own
        self.key_fn_by_scheme = {"http": _pinned_pool_key, "https": _pinned_pool_key}  # type: ignore[dict-item]


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, client: OutboundClient, **kwargs: Any) -> None:
        self.client = client
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _PinnedPoolManager(
            num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        # Every connection, first request or redirect hop, is checked here.
        pool_kwargs["pinned_address"] = self.client.check_url(request.url or "").address
        return host_params, pool_kwargs


# --- the client ---------------------------------------------------------------------


def _unresolved(host: str, exc: Exception) -> str:
    """Why ``host`` has no address, in words a merchant can act on: the resolver's own text
    ("[Errno -2] Name or service not known") is shown under the webhook form and in the
    deliveries' log."""
    code = exc.errno if isinstance(exc, socket.gaierror) else None
    if code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        return f"{host} was not found: no server has that name. Check the address for typos."
    if code == socket.EAI_AGAIN:
        return (
            f"{host} could not be looked up just now (no answer from the name server); try again in a minute."
        )
    if isinstance(exc, UnicodeError):
        return f"{host} is not a valid server name."
    return f"{host} could not be looked up ({getattr(exc, 'strerror', None) or exc})."


class OutboundClient:
    """An HTTP client that only reaches public addresses (see the module docstring).

    ``resolver`` maps (host, port) to addresses (tests pass one that returns private
    addresses); ``allow_networks`` lets chosen networks through although they are not public.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        allow_networks: Sequence[IPNetwork] = (),
        user_agent: str = "ShopAssets/1",
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.allow_networks = tuple(allow_networks)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc from the environment
        self.session.headers["User-Agent"] = user_agent
        adapter = _GuardedAdapter(self, pool_connections=16, pool_maxsize=16, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def check_url(self, url: str) -> Target:
        """Check a URL and resolve its host once. Raises InvalidTargetURL or AddressNotAllowed."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidTargetURL(f"Not a valid URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise InvalidTargetURL(f"Only http and https URLs are allowed, not {scheme or 'no scheme'!r}.")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise InvalidTargetURL("The URL has no host.")
        port = port or (443 if scheme == "https" else 80)
        literal = literal_address(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                found = self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise OutboundConnectionError(_unresolved(host, exc)) from None
            addresses = [ipaddress.ip_address(str(a).split("%")[0]) for a in found]
            if not addresses:
                raise OutboundConnectionError(f"{host} does not resolve to any address.")
        for ip in addresses:
            problem = self._problem(ip)
            if problem:
                via = "" if literal is not None else f"{host} resolves to "
                raise AddressNotAllowed(f"Refused: {via}{problem}.")
        return Target(url=url, scheme=scheme, host=host, port=port, address=str(addresses[0]))

    def _problem(self, ip: IPAddress) -> str | None:
        if any(ip.version == net.version and ip in net for net in self.allow_networks):
            # a network the operator chose; metadata, multicast and the like stay refused
            return address_problem(ip, allow_private=True)
        return address_problem(ip, allow_private=self.allow_private)

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        limits: Limits = Limits(),
    ) -> Iterator[StreamedResponse]:
        """Send a request and hand back the response with its body still to be read.

        Raises UnexpectedContentType before yielding when ``limits.content_types`` is set
        and the answer is something else. Read the body with ``iter_bytes()``.
        """
        started = time.monotonic()
        redirects: list[str] = []
        headers = dict(headers or {})
        while True:
            response = self._send(method, url, headers=headers, data=data, limits=limits)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location or limits.max_redirects == 0:
                break
            response.close()
            if len(redirects) >= limits.max_redirects:
                raise TooManyRedirects(
                    f"More than {limits.max_redirects} redirect(s); the last went to {location}."
                )
            next_url = urljoin(url, location)
            if urlsplit(next_url).hostname != urlsplit(url).hostname:
                headers.pop("Authorization", None)
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, data = "GET", None
            redirects.append(next_url)
            url = next_url
        try:
            streamed = StreamedResponse(response, limits=limits, started=started, redirects=redirects)
            if limits.content_types and not streamed.content_type.startswith(limits.content_types):
                raise UnexpectedContentType(
                    f"Expected {' or '.join(limits.content_types)}, got {streamed.content_type or 'no content type'}."
                )
            yield streamed
        finally:
            response.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        limits: Limits = Limits(),
        truncate: bool = False,
    ) -> OutboundResponse:
        """Send a request and read the whole body (at most ``limits.max_bytes``).

        Past the size limit the body is cut when ``truncate`` (the excerpt of a webhook
        response), otherwise ResponseTooLarge is raised.
        """
        with self.stream(method, url, headers=headers, data=data, limits=limits) as streamed:
            chunks: list[bytes] = []
            size = 0
            for chunk in streamed.iter_bytes(strict=not truncate):
                chunks.append(chunk)
                size += len(chunk)
                if size > limits.max_bytes:
                    break
            body = b"".join(chunks)
            return OutboundResponse(
                url=streamed.url,
                status=streamed.status,
                headers=streamed.headers,
                body=body[: limits.max_bytes],
                truncated=len(body) > limits.max_bytes,
                elapsed=time.monotonic() - streamed.started,
                address=streamed.address,
                redirects=streamed.redirects,
            )

    def _send(
        self, method: str, url: str, *, headers: Mapping[str, str], data: bytes | None, limits: Limits
    ) -> requests.Response:
        try:
            return self.session.request(
                method,
                url,
                headers=headers,
                data=data,
                timeout=(limits.connect_timeout, limits.read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise OutboundTimeout(
                f"No answer in time from {urlsplit(url).hostname}: {_reason(exc)}"
            ) from None
        except requests.exceptions.InvalidURL as exc:
            raise InvalidTargetURL(str(exc)) from None
        except requests.RequestException as exc:
            raise OutboundConnectionError(
                f"Could not reach {urlsplit(url).hostname}: {_reason(exc)}"
            ) from None


class StreamedResponse:
    """A response whose body is read chunk by chunk under the request's limits."""

    def __init__(
        self, response: requests.Response, *, limits: Limits, started: float, redirects: list[str]
    ) -> None:
        self._response = response
        self.limits = limits
        self.started = started
        self.redirects = redirects
        self.url = response.url or ""
        self.status = response.status_code
        self.headers = response.headers
        self.address = getattr(response.raw.connection, "pinned_address", "")

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def iter_bytes(self, chunk_size: int = 64 * 1024, *, strict: bool = True) -> Iterator[bytes]:
        """The body, decoded, as it arrives; each chunk comes as soon as it is read.

        ``strict``: raise ResponseTooLarge past ``max_bytes`` (announced or counted).
        Always raises OutboundTimeout past ``total_timeout`` or a stalled read.
        """
        length = self.headers.get("Content-Length", "")
        if strict and length.isdigit() and int(length) > self.limits.max_bytes:
            raise ResponseTooLarge(
                f"The response is {int(length)} bytes; the limit is {self.limits.max_bytes}."
            )
        size = 0
        while True:
            if time.monotonic() - self.started > self.limits.total_timeout:
                raise OutboundTimeout(f"The response took longer than {self.limits.total_timeout:g} s.")
            try:
                # read1 returns what has arrived instead of waiting for a full chunk, so a
                # server that drips bytes still meets the total time limit
                chunk = self._response.raw.read1(chunk_size, decode_content=True)
            except ReadTimeoutError as exc:
                raise OutboundTimeout(f"The response stalled: {exc}") from None
            except urllib3.exceptions.HTTPError as exc:
                raise OutboundConnectionError(f"The response broke off: {exc}") from None
            if not chunk:
                return
            size += len(chunk)
            if strict and size > self.limits.max_bytes:
                raise ResponseTooLarge(f"The response is over the {self.limits.max_bytes} byte limit.")
            yield chunk


def _reason(exc: BaseException) -> str:
    """The innermost readable cause of a requests/urllib3 error."""
    inner: BaseException = exc
    while inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    reason = getattr(inner, "reason", None)
    return str(reason or inner)


_clients: dict[bool, OutboundClient] = {}


def default_client() -> OutboundClient:
    """The process's client, following ``SHOPASSETS_ALLOW_PRIVATE_URLS``."""
    allow = bool(settings.ALLOW_PRIVATE_URLS)
    if allow not in _clients:
        _clients[allow] = OutboundClient(allow_private=allow)
    return _clients[allow]
