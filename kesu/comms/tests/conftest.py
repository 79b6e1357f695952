"""Fixtures for the notification tests: a real SMTP server (aiosmtpd) and a real HTTP server on
loopback, Huey in immediate mode, and a complaint with both a mobile and an email contact."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kesu.comms.channels.sms import LogSmsBackend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "crash: kills a real worker process (runs in `make test`, ~30 s)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """aiosmtpd handler: answers DATA with the queued ``replies`` first (e.g. "451 …"), then
    250, and keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.replies: list[str] = []
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.replies:
                reply = self.replies.pop(0)
                if not reply.startswith("250"):
                    self.refused += 1
                    return reply
            self.raw.append(envelope.content)
            self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpRecorder]:
    """A real SMTP server on a free loopback port; Django's SMTP backend points at it."""
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "客诉中心 <kesu@example.com>"
    try:
        yield recorder
    finally:
        controller.stop()


class HttpRecorder:
    """A local HTTP server that records POSTs and answers with ``respond(request)``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.respond: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] = lambda request: (
            200,
            {"errcode": 0, "errmsg": "ok"},
        )
        self.url = ""

    def json(self, i: int = -1) -> Any:
        return json.loads(self.requests[i]["body"].decode("utf-8"))


@pytest.fixture
def http_server() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = {"path": self.path, "headers": dict(self.headers), "body": body}
            recorder.requests.append(request)
            status, payload = recorder.respond(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def huey_immediate() -> Iterator[Any]:
    """Tasks run inline (in memory) instead of being queued in var/huey.sqlite3."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    try:
        yield HUEY
    finally:
        HUEY.immediate = before


@pytest.fixture(autouse=True)
def sms_log(settings) -> Iterator[list[dict[str, Any]]]:
    settings.KESU_SMS_BACKEND = "log"
    LogSmsBackend.sent.clear()
    yield LogSmsBackend.sent
    LogSmsBackend.sent.clear()


@pytest.fixture
def complaint(register):
    """A complaint whose customer can be reached by SMS and by email."""
    return register(contact_phone="13812345678", other_contact="邮箱：zhang.wei@example.com")
