"""The SSRF-safe outbound client, against real HTTP servers on loopback and a resolver
that answers with the addresses an attacker would like us to reach."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from shop_assets import outbound
from shop_assets.outbound import (
    AddressNotAllowed,
    InvalidTargetURL,
    Limits,
    OutboundClient,
    OutboundConnectionError,
    OutboundTimeout,
    ResponseTooLarge,
    TooManyRedirects,
    UnexpectedContentType,
)
from tests.loopback import Receiver, Reply, closed_port

# 127.0.0.1 stands in for a public address in these tests; 127.0.0.2 for a private one.
PUBLIC_STAND_IN = [ipaddress.ip_network("127.0.0.1/32")]


class FakeDNS:
    """A resolver with fixed answers per name (a list of answers is served in turn)."""

    def __init__(self, answers: dict[str, list[str] | list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answer = self.answers[host]
        if answer and isinstance(answer[0], list):
            return answer[min(self.calls.count(host), len(answer)) - 1]  # type: ignore[return-value]
        return answer  # type: ignore[return-value]


@pytest.fixture
def receiver():
    with Receiver([Reply(200, b"hello")]) as r:
        yield r


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("2130706433", "127.0.0.1 is a loopback address"),  # decimal
        ("0177.0.0.1", "127.0.0.1 is a loopback address"),  # octal
        ("0x7f.1", "127.0.0.1 is a loopback address"),  # hex, short form
        ("0x7f000001", "127.0.0.1 is a loopback address"),
        ("017700000001", "127.0.0.1 is a loopback address"),
        ("127.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "127.0.0.1 is a loopback address (inside ::ffff:7f00:1)"),
        ("[::ffff:10.0.0.1]", "10.0.0.1 is a private or non-public address (inside ::ffff:a00:1)"),
        ("[64:ff9b::a9fe:a9fe]", "169.254.169.254 is a cloud metadata address (inside 64:ff9b::a9fe:a9fe)"),
        ("[2002:c0a8:0101::1]", "192.168.1.1 is a private or non-public address (inside 2002:c0a8:101::1)"),
        ("10.1.2.3", "10.1.2.3 is a private or non-public address"),
        ("172.16.0.9", "172.16.0.9 is a private or non-public address"),
        ("192.168.0.1", "192.168.0.1 is a private or non-public address"),
        ("100.64.0.1", "100.64.0.1 is a private or non-public address"),  # carrier-grade NAT
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254 is a cloud metadata address"),
        ("169.254.1.1", "169.254.1.1 is a link-local address"),
        ("[fe80::1]", "fe80::1 is a link-local address"),
        ("[fd00:ec2::254]", "fd00:ec2::254 is a cloud metadata address"),
        ("[fc00::5]", "fc00::5 is a private or non-public address"),
        ("100.100.100.200", "100.100.100.200 is a cloud metadata address"),
        ("168.63.129.16", "168.63.129.16 is a cloud metadata address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("[ff02::1]", "ff02::1 is a multicast address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),
        ("0", "0.0.0.0 is the unspecified address"),
        ("255.255.255.255", "255.255.255.255 is a reserved address"),
        ("240.0.0.1", "240.0.0.1 is a reserved address"),
    ],
)
def test_literal_addresses_in_any_spelling_are_refused(host, why):
    client = OutboundClient(resolver=FakeDNS({}))

    with pytest.raises(AddressNotAllowed) as refused:
        client.check_url(f"http://{host}:8080/hook")

    assert str(refused.value) == f"Refused: {why}."


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (["169.254.169.254"], "169.254.169.254 is a cloud metadata address"),
        (["10.0.0.7"], "10.0.0.7 is a private or non-public address"),
        (["::1"], "::1 is a loopback address"),
        (["::ffff:192.168.1.20"], "192.168.1.20 is a private or non-public address (inside ::ffff:c0a8:114)"),
        # one bad address among good ones is enough: the OS might pick it
        (["93.184.215.14", "10.0.0.7"], "10.0.0.7 is a private or non-public address"),
    ],
)
def test_names_that_resolve_to_refused_addresses_are_refused(answer, why):
    dns = FakeDNS({"hooks.shop.example": answer})
    client = OutboundClient(resolver=dns)

    with pytest.raises(AddressNotAllowed) as refused:
        client.check_url("https://hooks.shop.example/in")

    assert str(refused.value) == f"Refused: hooks.shop.example resolves to {why}."
    assert dns.calls == ["hooks.shop.example"]


def test_public_names_pass_and_the_first_address_is_pinned():
    dns = FakeDNS({"hooks.shop.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})

    target = OutboundClient(resolver=dns).check_url("https://hooks.shop.example/in?x=1")

    assert (target.scheme, target.host, target.port, target.address) == (
        "https",
        "hooks.shop.example",
        443,
        "93.184.215.14",
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://files.example/a.jpg", "Only http and https URLs are allowed, not 'ftp'."),
        ("file:///etc/passwd", "Only http and https URLs are allowed, not 'file'."),
        ("http:///nohost", "The URL has no host."),
        ("http://08.1.1.1/", "'08.1.1.1' is neither a host name nor a valid IP address."),
        ("http://shop.example:99999/", "Not a valid URL: Port out of range 0-65535"),
    ],
)
def test_malformed_urls_are_refused_with_the_reason(url, why):
    with pytest.raises(InvalidTargetURL) as refused:
        OutboundClient(resolver=FakeDNS({})).check_url(url)
    assert str(refused.value) == why


def test_a_refused_address_is_never_contacted(receiver):
    client = OutboundClient()  # the default: private addresses refused

    for host in ("127.0.0.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]"):
        with pytest.raises(AddressNotAllowed):
            client.request("GET", f"http://{host}:{receiver.port}/")

    assert receiver.received == []


def test_allow_private_reaches_loopback_but_never_metadata(receiver):
    client = OutboundClient(allow_private=True, resolver=FakeDNS({"dev.local": ["127.0.0.1"]}))

    response = client.request("GET", f"http://dev.local:{receiver.port}/ping")

    assert (response.status, response.body, response.address) == (200, b"hello", "127.0.0.1")
    assert receiver.received[0].headers["host"] == f"dev.local:{receiver.port}"
    for host in ("169.254.169.254", "[fd00:ec2::254]", "224.0.0.1", "0.0.0.0"):
        with pytest.raises(AddressNotAllowed):
            client.check_url(f"http://{host}/")


def test_the_checked_address_is_used_without_a_second_lookup(monkeypatch):
    """DNS rebinding: the name answers a good address for the check, a bad one after.
    The connection goes to the checked address; the system resolver is never asked."""
    system_lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):
        system_lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    with Receiver([Reply(200, b"public")]) as public:
        with Receiver([Reply(200, b"private")], host="127.0.0.2", port=public.port) as private:
            dns = FakeDNS({"rebind.example": [["127.0.0.1"], ["127.0.0.2"]]})
            client = OutboundClient(resolver=dns, allow_networks=PUBLIC_STAND_IN)
            url = f"http://rebind.example:{public.port}/data"

            first = client.request("GET", url)
            with pytest.raises(AddressNotAllowed) as second:
                client.request("GET", url)

    assert (first.status, first.body, first.address) == (200, b"public", "127.0.0.1")
    assert str(second.value) == "Refused: rebind.example resolves to 127.0.0.2 is a loopback address."
    assert dns.calls == ["rebind.example", "rebind.example"]
    assert "rebind.example" not in system_lookups
    assert len(public.received) == 1 and private.received == []


def test_redirects_are_returned_not_followed_by_default():
    with Receiver([Reply(200, b"secret")], host="127.0.0.2") as private:
        redirect = Reply(302, b"", headers={"Location": f"{private.url}/latest/meta-data/"})
        with Receiver([redirect]) as public:
            client = OutboundClient(allow_networks=PUBLIC_STAND_IN)

            response = client.request("POST", f"{public.url}/hook", data=b"{}")

    assert (response.status, response.headers["Location"]) == (302, f"{private.url}/latest/meta-data/")
    assert response.redirects == []
    assert private.received == []


def test_a_redirect_to_a_private_address_is_refused_when_following():
    with Receiver([Reply(200, b"secret")], host="127.0.0.2") as private:
        dns = FakeDNS({"cdn.example": ["127.0.0.1"], "internal.example": ["127.0.0.2"]})
        redirect = Reply(302, b"", headers={"Location": f"http://internal.example:{private.port}/admin"})
        with Receiver([redirect]) as public:
            client = OutboundClient(resolver=dns, allow_networks=PUBLIC_STAND_IN)

            with pytest.raises(AddressNotAllowed) as refused:
                client.request(
                    "GET", f"http://cdn.example:{public.port}/a.jpg", limits=Limits(max_redirects=3)
                )

    assert str(refused.value) == "Refused: internal.example resolves to 127.0.0.2 is a loopback address."
    assert len(public.received) == 1
    assert private.received == []


def test_allowed_redirects_are_followed_up_to_the_limit():
    def replies(got):
        hops = {"/a": "/b", "/b": "/c"}
        if got.path in hops:
            return Reply(301, b"", headers={"Location": hops[got.path]})
        return Reply(200, b"final", content_type="image/png")

    with Receiver(replies) as server:
        client = OutboundClient(allow_networks=PUBLIC_STAND_IN)

        response = client.request("GET", f"{server.url}/a", limits=Limits(max_redirects=2))
        with pytest.raises(TooManyRedirects):
            client.request("GET", f"{server.url}/a", limits=Limits(max_redirects=1))

    assert (response.status, response.body, response.url) == (200, b"final", f"{server.url}/c")
    assert response.redirects == [f"{server.url}/b", f"{server.url}/c"]


def test_oversized_bodies_are_refused_announced_or_streamed():
    big = b"x" * 300_000
    with (
        Receiver([Reply(200, big)]) as announced,
        Receiver([Reply(200, big[:3000], drip=0.0001)]) as streamed,
    ):
        client = OutboundClient(allow_private=True)

        with pytest.raises(ResponseTooLarge) as by_header:
            client.request("GET", announced.url, limits=Limits(max_bytes=100_000))
        with pytest.raises(ResponseTooLarge) as by_count:
            client.request("GET", streamed.url, limits=Limits(max_bytes=1000))
        excerpt = client.request("GET", announced.url, limits=Limits(max_bytes=1024), truncate=True)

    assert str(by_header.value) == "The response is 300000 bytes; the limit is 100000."
    assert str(by_count.value) == "The response is over the 1000 byte limit."
    assert (excerpt.body, excerpt.truncated) == (big[:1024], True)


def test_a_slow_answer_times_out():
    with Receiver([Reply(200, b"late", delay=2.0)]) as slow:
        client = OutboundClient(allow_private=True)
        started = time.monotonic()

        with pytest.raises(OutboundTimeout):
            client.request("GET", slow.url, limits=Limits(read_timeout=0.3))

    assert time.monotonic() - started < 1.5


def test_a_dripping_body_meets_the_total_time_limit():
    with Receiver([Reply(200, b"y" * 200, drip=0.05)]) as drip:
        client = OutboundClient(allow_private=True)
        started = time.monotonic()

        with pytest.raises(OutboundTimeout) as timed_out:
            client.request("GET", drip.url, limits=Limits(read_timeout=1.0, total_timeout=0.5))

    assert str(timed_out.value) == "The response took longer than 0.5 s."
    assert time.monotonic() - started < 2.0


def test_unexpected_content_type_is_refused_before_the_body_is_read():
    with Receiver([Reply(200, b"<html>not an image</html>", content_type="text/html")]) as server:
        client = OutboundClient(allow_private=True)

        with pytest.raises(UnexpectedContentType) as refused:
            client.request("GET", server.url, limits=Limits(content_types=("image/",)))

    assert str(refused.value) == "Expected image/, got text/html."


def test_stream_yields_chunks_under_the_limits():
    body = bytes(range(256)) * 1000
    with Receiver([Reply(200, body, content_type="image/jpeg")]) as server:
        client = OutboundClient(allow_private=True)
        with client.stream("GET", server.url, limits=Limits(content_types=("image/",))) as response:
            received = b"".join(response.iter_bytes(chunk_size=4096))

    assert (response.status, response.content_type, received) == (200, "image/jpeg", body)


def test_connection_refused_and_unresolvable_names_are_connection_errors():
    port = closed_port()
    client = OutboundClient(allow_private=True, resolver=FakeDNS({}))

    with pytest.raises(OutboundConnectionError):
        client.request("GET", f"http://127.0.0.1:{port}/")

    def failing(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(OutboundConnectionError) as unresolved:
        OutboundClient(resolver=failing).check_url("https://nowhere.invalid/")
    assert (
        str(unresolved.value)
        == "nowhere.invalid was not found: no server has that name. Check the address for typos."
    )

    def silent(host, port):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    with pytest.raises(OutboundConnectionError) as later:
        OutboundClient(resolver=silent).check_url("https://shop.example/")
    assert str(later.value) == (
        "shop.example could not be looked up just now (no answer from the name server); try again in a minute."
    )


def test_proxies_from_the_environment_are_ignored(monkeypatch, receiver):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")

    response = OutboundClient(allow_private=True).request("GET", receiver.url)

    assert (response.status, len(receiver.received)) == (200, 1)


def test_default_client_follows_the_setting(settings):
    settings.ALLOW_PRIVATE_URLS = False
    strict = outbound.default_client()
    settings.ALLOW_PRIVATE_URLS = True
    relaxed = outbound.default_client()

    assert (strict.allow_private, relaxed.allow_private) == (False, True)
    assert outbound.default_client() is relaxed


def self_signed(tmp_path, name: str) -> tuple[str, str]:
    """A certificate for ``name`` and its key, as PEM files (cryptography comes with moto)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def test_https_connects_to_the_pinned_address_and_checks_the_certificate_against_the_name(tmp_path):
    import ssl

    cert, key = self_signed(tmp_path, "shop.example")
    with Receiver([Reply(200, b"secure")]) as server:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        server.server.socket = tls.wrap_socket(server.server.socket, server_side=True)
        dns = FakeDNS({"shop.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
        client = OutboundClient(resolver=dns, allow_networks=PUBLIC_STAND_IN)
        client.session.verify = cert  # trust the test certificate

        response = client.request("GET", f"https://shop.example:{server.port}/hooks")
        with pytest.raises(OutboundConnectionError) as mismatch:
            client.request("GET", f"https://other.example:{server.port}/hooks")

    assert (response.status, response.body, response.address) == (200, b"secure", "127.0.0.1")
    assert server.received[0].headers["host"] == f"shop.example:{server.port}"
    assert "other.example" in str(mismatch.value) and "certificate" in str(mismatch.value).lower()
