"""SSRF: a member cannot make a worker (or the web process) call the studio's own network.

Every outbound call to an address someone typed goes through ``apps.core.netguard``. These
tests use real listeners on loopback only: the test settings allow loopback for the provider
fakes, and each test here takes that allowance away (or narrows it) to prove the refusal.
Nothing here ever opens a connection to a non-loopback address: ``_open`` (the one place the
guard connects) is watched and refuses anything that is not loopback.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from apps.core import netguard
from apps.generation.backends.base import BackendContext, ProviderError
from apps.generation.backends.http import AddressNotAllowed
from apps.generation.backends.openai_videos import OpenAIVideosBackend
from apps.generation.models import GenerationJob
from tests.fakes.comfyui import FakeComfyUI
from tests.generation.conftest import drive

API = "/api/v1"
SECRET = "INTERNAL-ADMIN-TOKEN-4242"
PUBLIC_IP = "93.184.215.14"  # a public address: only ever classified here, never connected to

WORKFLOW = {
    "3": {
        "class_type": "KSampler",
        "inputs": {"seed": "{{seed}}", "steps": 4, "cfg": 6.0, "model": ["4", 0], "latent_image": ["5", 0]},
    },
    "4": {"class_type": "UNETLoader", "inputs": {"unet_name": "model.safetensors"}},
    "5": {
        "class_type": "EmptyHunyuanLatentVideo",
        "inputs": {"width": "{{width}}", "height": "{{height}}", "length": "{{frames}}", "batch_size": 1},
    },
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    "10": {"class_type": "CreateVideo", "inputs": {"fps": "{{fps}}", "images": ["5", 0]}},
    "11": {"class_type": "SaveVideo", "inputs": {"video": ["10", 0], "filename_prefix": "montage/{{seed}}"}},
}


# --- a loopback listener ----------------------------------------------------------------------


class Listener:
    """An HTTP server on 127.0.0.1 that records what reaches it. ``routes``: path ->
    (status, headers, body)."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]] | None = None):
        self.routes = routes or {}
        self.seen: list[tuple[str, str]] = []  # (path, Host header)
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                listener.seen.append((self.path, self.headers.get("Host", "")))
                status, headers, body = listener.routes.get(
                    self.path.split("?")[0], (200, {"Content-Type": "text/plain"}, f"internal page {SECRET}".encode())
                )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def listener():
    with Listener() as server:
        yield server


@pytest.fixture
def second():
    with Listener() as server:
        yield server


@pytest.fixture
def nothing_allowed(settings):
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = ""
    return settings


@pytest.fixture
def connects(monkeypatch):
    """Every socket the guard opens, in order; one to a non-loopback address is refused
    (a test must never reach outside this machine)."""
    opened: list[str] = []
    real_open = netguard._open

    def watched(sockaddr, *args, **kwargs):
        opened.append(sockaddr[0])
        if sockaddr[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"the guard tried to connect to {sockaddr[0]}")
        return real_open(sockaddr, *args, **kwargs)

    monkeypatch.setattr(netguard, "_open", watched)
    return opened


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Names resolve to ``answers[name]`` (a list per lookup: the first lookup gets
    answers[name][0], the next one [1], ...); other names resolve as usual."""
    real = netguard._getaddrinfo
    lookups: dict[str, int] = {}

    def resolve(host, port):
        if host not in answers:
            return real(host, port)
        n = lookups.get(host, 0)
        lookups[host] = n + 1
        ip = answers[host][min(n, len(answers[host]) - 1)]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sockaddr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(netguard, "_getaddrinfo", resolve)
    return lookups


def get(url: str, **kwargs):
    return netguard.session().get(url, timeout=5, **kwargs)


# --- the guard against a real listener --------------------------------------------------------


def test_a_loopback_listener_is_refused_unless_the_operator_allows_it(listener, nothing_allowed, connects):
    with pytest.raises(netguard.AddressRefused) as err:
        get(listener.url + "/admin")
    assert "loopback" in err.value.reason and netguard.SETTING in err.value.sentence()
    assert listener.seen == [] and connects == []

    nothing_allowed.MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.1"
    response = get(listener.url + "/admin")
    assert response.status_code == 200 and SECRET in response.text
    assert [path for path, _ in listener.seen] == ["/admin"]


def test_a_network_in_the_allow_list_admits_its_addresses_only(listener, settings, connects):
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "comfy.lan, 10.0.0.0/8"
    with pytest.raises(netguard.AddressRefused):
        get(listener.url)
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.0/8"
    assert get(listener.url).status_code == 200
    # Checked without connecting: a listed network, a listed name, a public address.
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "10.0.0.0/8,comfy.lan,*.gpu.lan"
    netguard.check_url("http://10.1.2.3:8188/", resolve=True)
    netguard.check_url("http://comfy.lan:8188/", resolve=False)
    netguard.check_url("http://box7.gpu.lan/", resolve=False)
    netguard.check_url(f"https://{PUBLIC_IP}/v1", resolve=True)
    with pytest.raises(netguard.AddressRefused):
        netguard.check_url("http://192.168.1.20:8188/", resolve=True)
    assert set(connects) <= {"127.0.0.1", "::1"}  # only the loopback listener was ever connected to


def test_names_that_resolve_to_loopback_are_refused(listener, nothing_allowed, monkeypatch, connects):
    port = listener.port
    with pytest.raises(netguard.AddressRefused) as err:
        get(f"http://localhost:{port}/")
    assert "leads to a loopback address" in str(err.value)
    fake_dns(monkeypatch, {"gpu-box.example.com": ["127.0.0.1"]})
    with pytest.raises(netguard.AddressRefused):
        get(f"http://gpu-box.example.com:{port}/")
    # The resolver's other spellings of 127.0.0.1: decimal, octal, hex, short forms.
    for host in ("2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "017700000001", "127.1"):
        with pytest.raises(netguard.AddressRefused):
            get(f"http://{host}:{port}/")
    assert listener.seen == [] and connects == []


def test_a_spelling_of_an_allowed_address_is_that_address(listener, settings):
    """The allow-list judges the address a name resolves to, not the text of the URL."""
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.1"
    assert get(f"http://2130706433:{listener.port}/").status_code == 200


def test_an_allowed_name_connects_to_the_checked_address_and_keeps_its_host(listener, settings, monkeypatch, connects):
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "comfy.lan"
    fake_dns(monkeypatch, {"comfy.lan": ["127.0.0.1"]})
    assert get(f"http://comfy.lan:{listener.port}/system_stats").status_code == 200
    assert listener.seen == [("/system_stats", f"comfy.lan:{listener.port}")]
    assert connects == ["127.0.0.1"]


# --- redirects ---------------------------------------------------------------------------------


def test_redirects_are_followed_only_to_allowed_addresses(listener, second, settings, connects):
    """``localhost`` is allowed by name; the same machine as 127.0.0.1 (another port), the
    metadata service and an IPv4-mapped loopback are not: each hop is checked before it is
    sent."""
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "localhost"
    targets = {
        "/to-loopback": f"{second.url}/secret",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "/to-mapped": f"http://[::ffff:127.0.0.1]:{second.port}/secret",
        "/to-private": "http://10.0.0.5:8080/",
        "/to-allowed": f"http://localhost:{second.port}/fine",
    }
    listener.routes = {path: (302, {"Location": target}, b"") for path, target in targets.items()}
    second.routes = {"/fine": (200, {"Content-Type": "text/plain"}, b"fine")}
    base = f"http://localhost:{listener.port}"
    for path in ("/to-loopback", "/to-metadata", "/to-mapped", "/to-private"):
        with pytest.raises(netguard.AddressRefused):
            get(base + path)
    assert second.seen == []
    assert set(connects) <= {"127.0.0.1", "::1"}  # the allowed first hop only (never the targets)
    assert get(base + "/to-allowed").text == "fine"
    assert [path for path, _ in second.seen] == ["/fine"]


def test_redirect_chains_are_bounded(listener, settings):
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.1"
    listener.routes = {"/loop": (302, {"Location": "/loop"}, b"")}
    with pytest.raises(requests.TooManyRedirects):
        get(listener.url + "/loop")
    assert len(listener.seen) == netguard.MAX_REDIRECTS + 1


# --- DNS rebinding -------------------------------------------------------------------------------


def test_dns_rebinding_cannot_reach_loopback(listener, nothing_allowed, monkeypatch, connects):
    """The name answers with a public address when it is checked and with 127.0.0.1 a moment
    later: the connection is checked again on the address it actually uses."""
    lookups = fake_dns(monkeypatch, {"rebind.example": [PUBLIC_IP, "127.0.0.1"]})
    with pytest.raises(netguard.AddressRefused) as err:
        get(f"http://rebind.example:{listener.port}/")
    assert "loopback" in err.value.reason
    assert lookups["rebind.example"] == 2  # once before sending, once when connecting
    assert connects == [] and listener.seen == []


def test_a_saved_address_that_rebinds_later_is_refused_when_the_job_calls_it(crew, nothing_allowed, monkeypatch, connects):
    """Saved while the name pointed at a public address; at call time it points at loopback."""
    fake_dns(monkeypatch, {"videos.example": [PUBLIC_IP, PUBLIC_IP, "127.0.0.1"]})
    r = _put(crew, "openai", api_key="sk-test", config={"base_url": "http://videos.example:8080/v1"})
    assert r.status_code == 200, r.json()
    ctx = BackendContext(api_key="sk-test", base_url="http://videos.example:8080/v1", address_from_project=True)
    with pytest.raises(AddressNotAllowed) as err:
        OpenAIVideosBackend().poll("video_123", ctx)
    assert not err.value.retryable and netguard.SETTING in err.value.message
    assert connects == []


# --- IPv6 and other forms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[fe80::1]",
        "[fd00::1]",
        "[fc00::5]",
        "[ff02::1]",
        "[::]",
        "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "[fd00:ec2::254]",  # the metadata service over IPv6
        "169.254.169.254",
        "169.254.10.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.20",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
    ],
)
def test_special_addresses_are_refused_before_connecting(host, nothing_allowed, connects):
    with pytest.raises(netguard.AddressRefused):
        get(f"http://{host}:8188/")
    assert connects == []


def test_public_addresses_pass_the_check():
    for ip in (PUBLIC_IP, "2606:4700::1111", "64:ff9b::5db8:d70e", "::ffff:93.184.215.14"):
        assert netguard.address_problem(ipaddress.ip_address(ip)) == "", ip


def test_only_http_and_https(nothing_allowed):
    for url in ("file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/"):
        with pytest.raises(netguard.AddressRefused):
            netguard.check_url(url)


# --- saving settings ---------------------------------------------------------------------------------


def _put(crew, backend, who="director", **body):
    return crew.client(who).put(f"{API}/projects/{crew.project.pk}/credentials/{backend}/", body, format="json")


@pytest.mark.django_db
def test_saving_a_private_base_url_or_host_is_refused_with_the_setting_named(crew, nothing_allowed):
    r = _put(crew, "openai", api_key="sk-test", config={"base_url": "http://169.254.169.254/latest"})
    body = r.json()
    assert r.status_code == 400 and body["code"] == "validation_error"
    assert "metadata" in body["fields"]["base_url"][0] and netguard.SETTING in body["fields"]["base_url"][0]
    for host in ("localhost:8188", "192.168.1.20:8188", "http://[::1]:8188", "http://2130706433:8188", "10.0.0.7"):
        r = _put(crew, "comfyui", config={"host": host, "workflow": WORKFLOW})
        assert r.status_code == 400 and netguard.SETTING in r.json()["fields"]["host"][0], (host, r.json())
    # The operator allows the LAN box: now it can be saved.
    nothing_allowed.MONTAGE_PROVIDER_ALLOWED_HOSTS = "192.168.1.20"
    assert _put(crew, "comfyui", config={"host": "192.168.1.20:8188", "workflow": WORKFLOW}).status_code == 200
    # A public address is fine without any allowance.
    assert _put(crew, "openai", api_key="sk-test", config={"base_url": f"https://{PUBLIC_IP}/v1"}).status_code == 200


# --- jobs ---------------------------------------------------------------------------------------


@pytest.fixture
def jobs(settings, tmp_path):
    settings.MONTAGE_RATELIMIT_PREFIX = f"montage-test-ssrf:{uuid.uuid4().hex[:8]}"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MONTAGE_BACKEND_CONCURRENCY = {}
    return settings


def _generate_comfy(crew):
    crew.project.budget_amount = Decimal("10")
    crew.project.save(update_fields=["budget_amount"])
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/", {"backend": "comfyui", "prompt": "waves", "duration_frames": 24}, format="json"
    )
    assert r.status_code in (200, 201, 202), r.json()
    job = GenerationJob.objects.get()
    drive(job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_job_whose_comfyui_host_became_private_fails_with_a_readable_reason(crew, jobs, connects):
    with FakeComfyUI() as box:
        assert _put(crew, "comfyui", config={"host": box.url, "workflow": WORKFLOW}).status_code == 200
        jobs.MONTAGE_PROVIDER_ALLOWED_HOSTS = ""  # the operator no longer allows loopback
        job = _generate_comfy(crew)
        assert job.state == "failed"
        assert "loopback" in job.error and netguard.SETTING in job.error, job.error
        assert box.calls == [] and connects == []


@pytest.mark.django_db
def test_error_bodies_from_a_typed_address_never_reach_the_job(crew, jobs, listener):
    """The host a member typed answers with an internal page (allowed by the operator, say a
    whole LAN): the job says the HTTP status, nothing of the body."""
    assert _put(crew, "comfyui", config={"host": listener.url, "workflow": WORKFLOW}).status_code == 200
    # Every path answers 400 with the secret in a JSON error.
    listener.routes = _AllPaths((400, {"Content-Type": "application/json"}, json.dumps({"error": {"message": SECRET}}).encode()))
    job = _generate_comfy(crew)
    assert job.state == "failed" and SECRET not in job.error
    assert "HTTP 400" in job.error, job.error
    assert listener.seen  # it was called (the operator allows loopback in the test settings)


class _AllPaths(dict):
    def __init__(self, reply):
        super().__init__()
        self.reply = reply

    def get(self, key, default=None):
        return self.reply


def test_provider_error_text_is_parsed_never_raw(listener, settings):
    """From the provider's own address: its JSON error message. From an address a member
    typed, or any body that is not a JSON error: only the status line."""
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.1"
    backend = OpenAIVideosBackend()
    listener.routes = _AllPaths(
        (400, {"Content-Type": "application/json"}, json.dumps({"error": {"message": "Invalid size."}, "x": SECRET}).encode())
    )
    with pytest.raises(ProviderError) as err:
        backend.poll("video_1", BackendContext(api_key="sk-test", base_url=listener.url))
    assert "Invalid size." in err.value.message and SECRET not in err.value.message
    with pytest.raises(ProviderError) as err:
        backend.poll("video_1", BackendContext(api_key="sk-test", base_url=listener.url, address_from_project=True))
    assert err.value.message == "OpenAI: HTTP 400 Bad Request"
    for body in (f"<html><body>{SECRET}</body></html>", SECRET, json.dumps({"unrelated": SECRET})):
        listener.routes = _AllPaths((400, {"Content-Type": "text/plain"}, body.encode()))
        with pytest.raises(ProviderError) as err:
            backend.poll("video_1", BackendContext(api_key="sk-test", base_url=listener.url))
        assert SECRET not in err.value.message and "HTTP 400" in err.value.message


def test_a_failed_job_at_a_typed_address_does_not_show_its_reason(listener, settings):
    """A job object from an address a member typed says it failed; what it says about why
    is not shown (it could be anything that service returns)."""
    settings.MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.1"
    failed = {"id": "video_1", "status": "failed", "error": {"code": "internal", "message": f"render crashed {SECRET}"}}
    listener.routes = _AllPaths((200, {"Content-Type": "application/json"}, json.dumps(failed).encode()))
    backend = OpenAIVideosBackend()
    shown = backend.poll("video_1", BackendContext(api_key="sk-test", base_url=listener.url))
    assert shown.state == "failed" and "render crashed" in shown.error
    hidden = backend.poll("video_1", BackendContext(api_key="sk-test", base_url=listener.url, address_from_project=True))
    assert hidden.state == "failed" and SECRET not in hidden.error and "not the provider's own" in hidden.error


def test_a_name_that_does_not_resolve_is_a_network_error(monkeypatch, nothing_allowed, connects):
    def no_such_name(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netguard, "_getaddrinfo", no_such_name)
    with pytest.raises(requests.ConnectionError):
        get("http://gone.example:8188/")
    with pytest.raises(ProviderError) as err:
        OpenAIVideosBackend().poll("video_1", BackendContext(api_key="sk-test", base_url="http://gone.example/v1"))
    assert err.value.retryable and "could not reach" in err.value.message
    assert connects == []


def test_the_operators_provider_addresses_are_allowed(listener, nothing_allowed, connects):
    nothing_allowed.MONTAGE_BACKEND_URLS = {"comfyui": listener.url}
    assert get(listener.url + "/system_stats").status_code == 200
    with pytest.raises(netguard.AddressRefused):  # another loopback address is not
        get(f"http://127.0.0.2:{listener.port}/")
    assert connects == ["127.0.0.1"]


def test_allow_list_entries_may_carry_ports_brackets_and_wildcards():
    allowed = netguard._parse_allow_list("192.168.1.20:8188, comfy.lan:8188, *.gpu.lan, 10.0.0.0/8, [::1], fd00::/8")
    assert allowed.allows_ip(ipaddress.ip_address("192.168.1.20")) and not allowed.allows_ip(ipaddress.ip_address("192.168.1.21"))
    assert allowed.allows_ip(ipaddress.ip_address("10.200.0.1")) and allowed.allows_ip(ipaddress.ip_address("fd00::5"))
    assert allowed.allows_ip(ipaddress.ip_address("::ffff:10.0.0.1"))  # the IPv4-mapped form of a listed address
    assert allowed.allows_name("comfy.lan") and allowed.allows_name("box.gpu.lan") and not allowed.allows_name("gpu.lan.evil.com")
