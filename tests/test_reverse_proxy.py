"""The reverse proxy of docker/compose.yaml: its nginx configuration (docker/proxy/kaigo.conf.template),
rendered as the nginx image renders it, run by Debian's nginx in front of the app served by uvicorn with
the protocol `kaigo serve` uses. TLS with a test certificate; the app's limits, short: headers cut,
a trickled body cut by the app's deadline and passed back, a body over the limit refused by the proxy.
Skipped, saying so, without nginx (`apt-get install nginx`; .ci/run installs it)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.connections import ConnectionLimits, GuardedH11Protocol
from api.guards import Guards
from api.settings import Settings

pytestmark = pytest.mark.db

DOCKER = Path(__file__).resolve().parent.parent / "docker"
TEMPLATE = DOCKER / "proxy" / "kaigo.conf.template"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
LIMITS = {
    "KAIGO_HEADER_TIMEOUT_SECONDS": "1",
    "KAIGO_BODY_TIMEOUT_SECONDS": "2",
    "KAIGO_MAX_BODY_BYTES": "4096",
}
GIVE_UP = 20.0  # seconds a test waits for a side to act (it never would without the deadlines)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx)")


def render(values: Mapping[str, str]) -> str:
    """The template as the nginx image's envsubst step writes it: ``$NAME`` and ``${NAME}`` replaced for
    the variables of the environment only (nginx's own ``$host`` … stay)."""

    def substitute(match: re.Match[str]) -> str:
        return values.get(match[1] or match[2], match[0])

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", substitute, TEMPLATE.read_text())


def _certificate(directory: Path) -> Path:
    """A self-signed certificate for localhost and 127.0.0.1 (tls.crt, tls.key); returns tls.crt."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "tls.key").write_bytes(pem)
    (directory / "tls.key").chmod(0o600)
    return directory / "tls.crt"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _nginx_conf(directory: Path, site: str, port: int) -> Path:
    """A main configuration around the rendered site: everything under ``directory``, the site's
    listening port and certificate paths moved there."""
    for replaced in ("listen 8443 ssl;", "/etc/nginx/tls/"):
        assert replaced in site, f"the template no longer holds {replaced!r}"
    site = site.replace("listen 8443 ssl;", f"listen 127.0.0.1:{port} ssl;").replace(
        "/etc/nginx/tls/", f"{directory}/"
    )
    (directory / "kaigo.conf").write_text(site)
    temp = directory / "temp"
    temp.mkdir(mode=0o777, exist_ok=True)
    temp.chmod(0o777)  # the workers (nobody, when run as root) write request bodies there
    paths = " ".join(f"{kind}_temp_path {temp}/{kind};" for kind in ("proxy", "fastcgi", "uwsgi", "scgi"))
    conf = directory / "nginx.conf"
    conf.write_text(
        f"daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log info;\n"
        "events { worker_connections 128; }\n"
        f"http {{\n access_log {directory}/access.log;\n client_body_temp_path {temp}/body;\n {paths}\n"
        f" include {directory}/kaigo.conf;\n}}\n"
    )
    return conf


@pytest.fixture
def proxy_dir(private_tmp_path: Path) -> Path:
    private_tmp_path.chmod(0o755)  # nginx's workers reach the temp directory inside
    return private_tmp_path


@pytest.fixture
async def app_port(app_with: Callable[..., Any]) -> AsyncIterator[int]:
    """The app, with the same limits the proxy is given, on a port of its own."""

    class Deadlines(GuardedH11Protocol):
        limits = ConnectionLimits(
            header_seconds=float(LIMITS["KAIGO_HEADER_TIMEOUT_SECONDS"]),
            body_seconds=float(LIMITS["KAIGO_BODY_TIMEOUT_SECONDS"]),
        )

    app = app_with(guards=Guards(max_body_bytes=int(LIMITS["KAIGO_MAX_BODY_BYTES"])))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, http=Deadlines, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        await serving
        listener.close()


@pytest.fixture
def proxy(proxy_dir: Path, app_port: int) -> Iterator[tuple[int, ssl.SSLContext]]:
    """nginx with the rendered template in front of the app: (its port, a client context trusting the
    test certificate)."""
    assert NGINX is not None
    ca = _certificate(proxy_dir)
    port = _free_port()
    conf = _nginx_conf(proxy_dir, render({**LIMITS, "KAIGO_APP_ADDRESS": f"127.0.0.1:{app_port}"}), port)
    running = subprocess.Popen(
        [NGINX, "-p", str(proxy_dir), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if running.poll() is not None:
                    raise AssertionError(running.stderr.read().decode()) from None  # type: ignore[union-attr]
                time.sleep(0.05)
        context = ssl.create_default_context(cafile=str(ca))
        yield port, context
    finally:
        running.terminate()
        running.wait(30)


async def _trickle(
    port: int, context: ssl.SSLContext, lines: list[bytes], every: float = 0.3
) -> tuple[bytes, bool]:
    """Send ``lines`` over TLS, ``every`` seconds apart; returns what came back before the other side
    closed, and whether every line had been sent by then."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="localhost"
    )
    sent_all = asyncio.Event()

    async def send() -> None:
        try:
            for line in lines:
                writer.write(line)
                await writer.drain()
                await asyncio.sleep(every)
        except (ConnectionError, ssl.SSLError):
            return
        sent_all.set()

    sending = asyncio.create_task(send())
    try:
        answer = await asyncio.wait_for(reader.read(-1), GIVE_UP)
    except (ConnectionError, ssl.SSLError):
        answer = b""
    finally:
        sending.cancel()
        writer.close()
    return answer, sent_all.is_set()


@needs_nginx
async def test_tls_is_terminated_and_requests_reach_the_app(
    proxy: tuple[int, ssl.SSLContext], token_for: Callable[..., str]
) -> None:
    port, context = proxy
    async with httpx.AsyncClient(base_url=f"https://localhost:{port}", verify=context) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        answer = await client.post(
            "/graphql",
            json={"query": "{ persons(first: 2) { edges { node { id } } } }"},
            headers={"Authorization": f"Bearer {token_for('kaigo_officer')}"},
        )
        assert answer.status_code == 200 and len(answer.json()["data"]["persons"]["edges"]) == 2
        assert answer.headers["x-content-type-options"] == "nosniff"  # the app's own answer
        assert answer.headers["server"] == "nginx"  # no version
        extension = answer.extensions["network_stream"].get_extra_info("ssl_object")
        assert extension.version() in {"TLSv1.2", "TLSv1.3"}
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the test certificate
        async with httpx.AsyncClient(verify=ssl.create_default_context()) as stranger:
            await stranger.get(f"https://localhost:{port}/healthz")


@needs_nginx
async def test_a_body_over_the_limit_is_refused_by_the_proxy(proxy: tuple[int, ssl.SSLContext]) -> None:
    port, context = proxy
    limit = int(LIMITS["KAIGO_MAX_BODY_BYTES"])
    body = b'{"query": "' + b" " * limit + b'{ viewer { roles } }"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    async with httpx.AsyncClient(base_url=f"https://localhost:{port}", verify=context) as client:
        for content in (body, chunks()):  # with a content-length, and chunked
            refused = await client.post(
                "/graphql", content=content, headers={"content-type": "application/json"}
            )
            assert refused.status_code == 413, refused.text
            assert refused.json() == {
                "data": None,
                "errors": [
                    {
                        "message": f"The request body is larger than {limit} bytes.",
                        "extensions": {"code": "REQUEST_TOO_LARGE"},
                    }
                ],
            }
            assert "x-content-type-options" not in refused.headers  # the proxy answered, not the app


@needs_nginx
async def test_headers_sent_one_line_at_a_time_are_cut_off(proxy: tuple[int, ssl.SSLContext]) -> None:
    port, context = proxy
    lines = [b"POST /graphql HTTP/1.1\r\n", *(f"x-slow-{i}: {i}\r\n".encode() for i in range(40))]
    answer, sent_all = await _trickle(port, context, lines)
    assert not sent_all and b" 200 " not in answer[:20], answer[:200]  # closed while still sending


@needs_nginx
async def test_a_body_sent_one_byte_at_a_time_is_cut_off(
    proxy: tuple[int, ssl.SSLContext], token_for: Callable[..., str]
) -> None:
    """Each byte comes well within the proxy's time between reads; the app's deadline for the whole
    body cuts it, and its 408 comes back through the proxy."""
    port, context = proxy
    head = (
        "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 200\r\n"
        f"authorization: Bearer {token_for('kaigo_officer')}\r\n\r\n"
    ).encode()
    answer, sent_all = await _trickle(port, context, [head, *(b" " for _ in range(60))])
    assert not sent_all
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b'"code": "REQUEST_TIMEOUT"' in answer and b"body was not received within 2 seconds" in answer


def test_compose_gives_the_proxy_the_apps_limits() -> None:
    """The proxy and the app read the same KAIGO_* limits (one place in compose.yaml), at the app's
    defaults; the template uses each of them; the proxy alone publishes a port."""
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    proxy_env, app_env = services["proxy"]["environment"], services["app"]["environment"]
    defaults = Settings()
    expected = {
        "KAIGO_HEADER_TIMEOUT_SECONDS": str(defaults.header_timeout_seconds),
        "KAIGO_BODY_TIMEOUT_SECONDS": str(defaults.body_timeout_seconds),
        "KAIGO_MAX_BODY_BYTES": str(defaults.max_body_bytes),
    }
    for name, value in expected.items():
        assert str(proxy_env[name]) == str(app_env[name]) == value, name
        assert f"${{{name}}}" in TEMPLATE.read_text(), name
    assert proxy_env["KAIGO_APP_ADDRESS"] == "app:8000"
    assert "ports" not in services["app"] and services["proxy"]["ports"] == ["8443:8443"]
    volumes = services["proxy"]["volumes"]
    assert "./proxy/kaigo.conf.template:/etc/nginx/templates/kaigo.conf.template:ro" in volumes
    assert "./tls:/etc/nginx/tls:ro" in volumes and all("tls" not in v for v in services["app"]["volumes"])


@needs_nginx
def test_the_rendered_configuration_of_compose_is_valid(proxy_dir: Path) -> None:
    """`nginx -t` on the template as compose renders it (the upstream named by address: `app` is only
    resolvable on the compose network)."""
    assert NGINX is not None
    _certificate(proxy_dir)
    values = {**{k: str(v) for k, v in _compose_limits().items()}, "KAIGO_APP_ADDRESS": "127.0.0.1:8000"}
    site = render(values)
    assert "${KAIGO_" not in site and "client_max_body_size 1048576;" in site
    conf = _nginx_conf(proxy_dir, site, _free_port())
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(proxy_dir), "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0 and "test is successful" in checked.stderr, checked.stderr


def _compose_limits() -> dict[str, Any]:
    proxy_env = yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]["proxy"]["environment"]
    return {k: v for k, v in proxy_env.items() if k.startswith("KAIGO_") and k != "KAIGO_APP_ADDRESS"}
