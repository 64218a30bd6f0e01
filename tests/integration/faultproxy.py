"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the moto server.

moto does not enforce IAM and never throttles, so the AccessDenied and SlowDown paths of
the AWS edge can only be reached over HTTP if something answers for S3. The proxy
forwards every request to moto unchanged, except requests that name a bucket with a
fault: those get the S3 XML error S3 itself would send, without reaching moto. It can also
rewrite the policy documents GetBucketPolicy returns, since S3, unlike moto, does not hand
back a stored policy byte for byte.

botocore addresses a bucket path-style against an IP endpoint (`PUT /bucket?policy`), and
virtual-host style (`Host: bucket.s3...`) elsewhere; both are recognised.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


@dataclass(frozen=True)
class Fault:
    status: int
    code: str
    message: str
    methods: frozenset[str] | None
    """Only these HTTP methods fail; None means every method."""


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    host: str
    bucket: str | None
    faulted: bool


def access_denied(methods: set[str] | None = None) -> Fault:
    return Fault(403, "AccessDenied", "Access Denied", frozenset(methods) if methods else None)


def slow_down(methods: set[str] | None = None) -> Fault:
    return Fault(503, "SlowDown", "Please reduce your request rate.", frozenset(methods) if methods else None)


def bucket_of(path: str, host: str) -> str | None:
    """The bucket a request names, path-style or virtual-host style."""
    name = host.split(":", 1)[0]
    if not name.replace(".", "").isdigit() and name.count(".") >= 2 and name != "localhost":
        return name.split(".", 1)[0]
    first = urlsplit(path).path.lstrip("/").split("/", 1)[0]
    return first or None


class FaultProxy:
    """Forwards to `upstream`; answers requests naming a faulted bucket with an S3 error."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._faults: dict[str, Fault] = {}
        self._remaining: dict[str, int] = {}
        self._rewrites: dict[str, Callable[[bytes], bytes]] = {}
        self._lock = threading.Lock()
        self.requests: list[SeenRequest] = []
        self.latency = 0.0
        """Seconds added to every forwarded request, as a round trip to AWS would."""
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        """Per HTTP method (and "*" for all), the most requests that were being served at once."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, bucket: str, fault: Fault, times: int | None = None) -> None:
        """Answer requests naming bucket ("" for none, e.g. ListBuckets) with fault, `times` times."""
        with self._lock:
            self._faults[bucket] = fault
            self._remaining.pop(bucket, None)
            if times is not None:
                self._remaining[bucket] = times

    def rewrite_policy(self, bucket: str, rewrite: Callable[[bytes], bytes]) -> None:
        """Pass GetBucketPolicy answers for bucket through rewrite, as S3 reformats what it stores."""
        with self._lock:
            self._rewrites[bucket] = rewrite

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._remaining.clear()
            self._rewrites.clear()

    def seen(self, bucket: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.bucket == bucket]

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        host = handler.headers.get("Host", "")
        bucket = bucket_of(handler.path, host)
        key = bucket or ""
        with self._lock:
            fault = self._faults.get(key)
            if fault is not None and fault.methods is not None and handler.command not in fault.methods:
                fault = None
            if fault is not None and key in self._remaining:
                self._remaining[key] -= 1
                if self._remaining[key] <= 0:
                    del self._faults[key], self._remaining[key]
            self.requests.append(SeenRequest(handler.command, handler.path, host, bucket, fault is not None))
        if fault is not None:
            _send_fault(handler, fault)
            return
        with self._lock:
            method = handler.command
            for name in (method, "*"):
                self._in_flight[name] = self._in_flight.get(name, 0) + 1
                self.max_in_flight[name] = max(self.max_in_flight.get(name, 0), self._in_flight[name])
        try:
            if self.latency:
                time.sleep(self.latency)
            self._forward(handler, body, key)
        finally:
            with self._lock:
                self._in_flight[method] -= 1
                self._in_flight["*"] -= 1

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes, key: str) -> None:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or handler.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            with self._lock:
                rewrite = self._rewrites.get(key)
            query = urlsplit(handler.path).query.split("&")
            if (
                rewrite is not None
                and handler.command == "GET"
                and "policy" in query
                and response.status == 200
            ):
                payload = rewrite(payload)
            handler.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    handler.send_header(name, value)
            if handler.command == "HEAD":
                handler.send_header("Content-Length", response.getheader("Content-Length") or "0")
            else:
                handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        finally:
            connection.close()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _send_fault(handler: BaseHTTPRequestHandler, fault: Fault) -> None:
    payload = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message>"
        "<RequestId>FAULTPROXY</RequestId><HostId>faultproxy</HostId></Error>"
    ).encode()
    handler.send_response(fault.status)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("x-amz-request-id", "FAULTPROXY")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)
