"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the moto server.

moto does not enforce IAM and never throttles, so the AccessDenied and SlowDown paths of
the AWS edge can only be reached over HTTP if something answers for S3. The proxy
forwards every request to moto unchanged, except:

- requests that name a bucket with a fault (`fail`): those get the S3 XML error S3 itself
  would send (or a reset or stall), without reaching moto for an error answer;
- requests drawn by a chaos rule (`inject`): a seeded fraction of the requests of chosen
  operations get `503 SlowDown`, `500 InternalError`, a connection reset in the middle of
  the answer (after moto has done the work, as when S3 applied a write whose answer was
  lost), or a stall past the client's read timeout (also after moto has done the work).

It can also rewrite the policy documents GetBucketPolicy returns, since S3, unlike moto,
does not hand back a stored policy byte for byte.

botocore addresses a bucket path-style against an IP endpoint (`PUT /bucket?policy`), and
virtual-host style (`Host: bucket.s3...`) elsewhere; both are recognised.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

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

SLOW_DOWN = "slow_down"
INTERNAL_ERROR = "internal_error"
RESET = "reset"
STALL = "stall"
ERROR = "error"
"""Fault kinds. ERROR is an S3 error answer of any status (AccessDenied, ...)."""
KINDS = (SLOW_DOWN, INTERNAL_ERROR, RESET, STALL)
"""The kinds a chaos rule can draw."""

_S3_ERRORS = {
    SLOW_DOWN: (503, "SlowDown", "Please reduce your request rate."),
    INTERNAL_ERROR: (500, "InternalError", "We encountered an internal error. Please try again."),
}


@dataclass(frozen=True)
class Fault:
    status: int
    code: str
    message: str
    methods: frozenset[str] | None
    """Only these HTTP methods fail; None means every method."""
    kind: str = ERROR
    operations: frozenset[str] | None = None
    """Only these operations (see `operation_of`) fail; None means every operation."""

    def applies(self, method: str, operation: str) -> bool:
        return (self.methods is None or method in self.methods) and (
            self.operations is None or operation in self.operations
        )


@dataclass(frozen=True)
class ChaosRule:
    kind: str
    rate: float
    operations: frozenset[str] | None
    methods: frozenset[str] | None

    def applies(self, method: str, operation: str) -> bool:
        return (self.methods is None or method in self.methods) and (
            self.operations is None or operation in self.operations
        )


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    host: str
    bucket: str | None
    faulted: bool
    operation: str = ""
    fault: str | None = None
    """The kind of fault this request got (None: forwarded untouched)."""
    role: str | None = None
    """For AssumeRole: the RoleArn asked for."""
    session_name: str | None = None


def _methods(methods: Collection[str] | None) -> frozenset[str] | None:
    return frozenset(methods) if methods else None


def access_denied(methods: set[str] | None = None) -> Fault:
    return Fault(403, "AccessDenied", "Access Denied", _methods(methods))


def slow_down(methods: set[str] | None = None, operations: Collection[str] | None = None) -> Fault:
    status, code, message = _S3_ERRORS[SLOW_DOWN]
    return Fault(status, code, message, _methods(methods), SLOW_DOWN, _methods(operations))


def internal_error(methods: set[str] | None = None, operations: Collection[str] | None = None) -> Fault:
    status, code, message = _S3_ERRORS[INTERNAL_ERROR]
    return Fault(status, code, message, _methods(methods), INTERNAL_ERROR, _methods(operations))


def reset(methods: set[str] | None = None, operations: Collection[str] | None = None) -> Fault:
    """Forward, then send part of the answer and reset the connection."""
    return Fault(0, "", "", _methods(methods), RESET, _methods(operations))


def stall(methods: set[str] | None = None, operations: Collection[str] | None = None) -> Fault:
    """Forward, then hold the answer for `FaultProxy.stall_seconds` and close."""
    return Fault(0, "", "", _methods(methods), STALL, _methods(operations))


def bucket_of(path: str, host: str) -> str | None:
    """The bucket a request names, path-style or virtual-host style."""
    name = host.split(":", 1)[0]
    if not name.replace(".", "").isdigit() and name.count(".") >= 2 and name != "localhost":
        return name.split(".", 1)[0]
    first = urlsplit(path).path.lstrip("/").split("/", 1)[0]
    return first or None


def operation_of(method: str, path: str, bucket: str | None, body: bytes) -> str:
    """The API operation of a request: GetBucketPolicy, PutBucketPolicy, DeleteBucketPolicy,
    GetBucketPolicyStatus, ListBuckets, GetCallerIdentity (any STS POST by its Action), or
    `METHOD ?query` for anything else."""
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    if bucket is None:
        if method == "POST":
            action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
            return action
        if method == "GET":
            return "ListBuckets"
    elif "policy" in query:
        named = {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"}
        if method in named:
            return named[method]
    elif "policyStatus" in query and method == "GET":
        return "GetBucketPolicyStatus"
    return f"{method} ?{'&'.join(sorted(query))}"


class FaultProxy:
    """Forwards to `upstream`; answers faulted requests with an S3 error, a reset or a stall."""

    def __init__(self, upstream: str, seed: int = 0) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._faults: dict[str, Fault] = {}
        self._remaining: dict[str, int] = {}
        self._rewrites: dict[str, Callable[[bytes], bytes]] = {}
        self._refused_roles: set[str] = set()
        self._public: set[str] = set()
        self._rules: list[ChaosRule] = []
        self._occurrences: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.seed = seed
        """Chaos draws are reproducible for a seed, whatever order threads send requests in."""
        self.requests: list[SeenRequest] = []
        self.faulted: Counter[str] = Counter()
        """Per fault kind, how many requests got it."""
        self.latency = 0.0
        """Seconds added to every forwarded request, as a round trip to AWS would."""
        self.stall_seconds = 3.0
        """How long a stalled answer is held before the connection closes: set it past the
        client's read timeout."""
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

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                # A client that gave up (read timeout) resets its side: expected here.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)  # type: ignore[arg-type]

        self._server = Server(("127.0.0.1", 0), Handler)
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

    def inject(
        self,
        kind: str,
        rate: float,
        operations: Collection[str] | None = None,
        methods: Collection[str] | None = None,
    ) -> None:
        """Give a `rate` fraction of the requests of these operations (and HTTP methods; None:
        all) fault `kind` (one of KINDS). Rules share one draw per request, so their rates add
        up: four rules of 0.1 fault 40% of requests, 10% each way."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {KINDS}")
        with self._lock:
            if sum(r.rate for r in self._rules) + rate > 1:
                raise ValueError("chaos rates add up to more than 1")
            self._rules.append(ChaosRule(kind, rate, _methods(operations), _methods(methods)))

    def refuse_role(self, role: str) -> None:
        """Answer AssumeRole for this role ARN with AccessDenied, as STS does for a role that
        does not exist or does not trust the caller (moto assumes any role)."""
        with self._lock:
            self._refused_roles.add(role)

    def report_public(self, bucket: str) -> None:
        """Answer GetBucketPolicyStatus for bucket with IsPublic true, as S3 does for a policy
        whose grantee it does not see as fixed (moto calls far fewer policies public)."""
        with self._lock:
            self._public.add(bucket)

    def assumed(self) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.operation == "AssumeRole"]

    def rewrite_policy(self, bucket: str, rewrite: Callable[[bytes], bytes]) -> None:
        """Pass GetBucketPolicy answers for bucket through rewrite, as S3 reformats what it stores."""
        with self._lock:
            self._rewrites[bucket] = rewrite

    def clear(self) -> None:
        """Stop every fault and rewrite (what was seen and counted stays)."""
        with self._lock:
            self._faults.clear()
            self._remaining.clear()
            self._rewrites.clear()
            self._rules.clear()
            self._refused_roles.clear()
            self._public.clear()

    def seen(self, bucket: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.bucket == bucket]

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _choose(self, method: str, key: str, operation: str, path: str) -> Fault | None:
        """The fault for this request, if any; called with the lock held."""
        fault = self._faults.get(key)
        if fault is not None and not fault.applies(method, operation):
            fault = None
        if fault is not None and key in self._remaining:
            self._remaining[key] -= 1
            if self._remaining[key] <= 0:
                del self._faults[key], self._remaining[key]
        if fault is not None or not self._rules:
            return fault
        # One draw per request, keyed by what the request is and how many times it was sent,
        # so the same requests fail on every run although worker threads interleave.
        occurrence = (operation, key, path)
        self._occurrences[occurrence] += 1
        draw = random.Random(f"{self.seed}/{operation}/{key}/{path}/{self._occurrences[occurrence]}").random()
        low = 0.0
        for rule in self._rules:
            if rule.applies(method, operation) and low <= draw < low + rule.rate:
                return _rule_fault(rule.kind)
            low += rule.rate
        return None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            body = _read_body(handler)
        except _TruncatedBody:
            # The client died mid-request (a killed apply): S3 never acts on a request whose
            # body did not all arrive, so neither may the proxy pass a cut-off one to moto
            # (which would store a truncated policy, or none).
            handler.close_connection = True
            return
        host = handler.headers.get("Host", "")
        bucket = bucket_of(handler.path, host)
        key = bucket or ""
        operation = operation_of(handler.command, handler.path, bucket, body)
        asked = parse_qs(body.decode("utf-8", "replace")) if operation == "AssumeRole" else {}
        role = asked.get("RoleArn", [None])[0]
        with self._lock:
            fault = self._choose(handler.command, key, operation, handler.path)
            if role is not None and role in self._refused_roles:
                fault = access_denied()
            kind = fault.kind if fault is not None else None
            if kind is not None:
                self.faulted[kind] += 1
            self.requests.append(
                SeenRequest(
                    handler.command,
                    handler.path,
                    host,
                    bucket,
                    fault is not None,
                    operation,
                    kind,
                    role,
                    asked.get("RoleSessionName", [None])[0],
                )
            )
        if fault is not None and kind not in (RESET, STALL):
            _send_fault(handler, fault, sts=bucket is None and handler.command == "POST")
            return
        if operation == "GetBucketPolicyStatus" and bucket in self._public:
            _send_public_status(handler)
            return
        with self._lock:
            method = handler.command
            for name in (method, "*"):
                self._in_flight[name] = self._in_flight.get(name, 0) + 1
                self.max_in_flight[name] = max(self.max_in_flight.get(name, 0), self._in_flight[name])
        try:
            if self.latency:
                time.sleep(self.latency)
            self._forward(handler, body, key, kind)
        finally:
            with self._lock:
                self._in_flight[method] -= 1
                self._in_flight["*"] -= 1

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes, key: str, kind: str | None) -> None:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or handler.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        finally:
            connection.close()
        if kind == STALL:
            # moto did the work; the answer never comes before the client gives up.
            self._stopping.wait(self.stall_seconds)
            _reset(handler)
            return
        with self._lock:
            rewrite = self._rewrites.get(key)
        query = urlsplit(handler.path).query.split("&")
        if rewrite is not None and handler.command == "GET" and "policy" in query and response.status == 200:
            payload = rewrite(payload)
        lines = [f"HTTP/1.1 {response.status} {response.reason}"]
        lines += [f"{n}: {v}" for n, v in response.getheaders() if n.lower() not in _HOP_BY_HOP]
        if handler.command == "HEAD":
            lines.append(f"Content-Length: {response.getheader('Content-Length') or '0'}")
            payload = b""
        else:
            lines.append(f"Content-Length: {len(payload)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if kind == RESET:
            # Part of the answer, then RST: in the body when there is one, else in the headers.
            partial = head + payload[: len(payload) // 2] if payload else head[: len(head) // 2]
            handler.wfile.write(partial)
            handler.wfile.flush()
            _reset(handler)
            return
        handler.wfile.write(head + payload)


def _rule_fault(kind: str) -> Fault:
    if kind == RESET:
        return reset()
    if kind == STALL:
        return stall()
    status, code, message = _S3_ERRORS[kind]
    return Fault(status, code, message, None, kind)


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Close with SO_LINGER 0, so the client sees a TCP RST rather than an orderly end."""
    handler.close_connection = True
    connection: socket.socket = handler.connection
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    except OSError:
        pass


class _TruncatedBody(Exception):
    """The connection closed before the body the request announced had all arrived."""


def _read_exactly(handler: BaseHTTPRequestHandler, size: int) -> bytes:
    data = handler.rfile.read(size)
    if len(data) != size:
        raise _TruncatedBody
    return data


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            line = handler.rfile.readline()
            if not line:
                raise _TruncatedBody
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            chunks.append(_read_exactly(handler, size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return _read_exactly(handler, length) if length else b""


def _send_public_status(handler: BaseHTTPRequestHandler) -> None:
    payload = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<PolicyStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsPublic>true</IsPublic></PolicyStatus>'
    )
    handler.send_response(200)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


def _send_fault(handler: BaseHTTPRequestHandler, fault: Fault, sts: bool = False) -> None:
    if sts:
        # STS is a query-protocol service: its errors are wrapped in ErrorResponse.
        payload = (
            f"<ErrorResponse><Error><Type>Receiver</Type><Code>{fault.code}</Code>"
            f"<Message>{fault.message}</Message></Error><RequestId>FAULTPROXY</RequestId></ErrorResponse>"
        ).encode()
    else:
        payload = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message>"
            "<RequestId>FAULTPROXY</RequestId><HostId>faultproxy</HostId></Error>"
        ).encode()
    handler.send_response(fault.status)
    handler.send_header("Content-Type", "application/xml" if not sts else "text/xml")
    handler.send_header("x-amz-request-id", "FAULTPROXY")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)
