"""A loopback TCP proxy that adds a fixed delay each way and counts HTTP requests.

    proxy = DelayProxy(upstream_port, one_way=0.0125).start()   # 25 ms round trip
    ... AWS_ENDPOINT_URL=proxy.url ...
    proxy.counts()   # {"GET ?policy": 1000, "PUT ?policy": 12, ...}

Each chunk read from either side is delivered to the other side `one_way` seconds after it
was read, in order; chunks are pipelined, not serialised, so a response that arrives in
two chunks costs one delay, not two. It runs an asyncio loop on a daemon thread, so the
process that starts it only waits on children while it works.

Requests are counted by sniffing HTTP/1.1 request lines in the client-to-server stream
(botocore sends the request line and headers in one write, so a line is never split in
practice), keyed by method plus the query's first key: "GET ?policy" is GetBucketPolicy,
"PUT ?policy" PutBucketPolicy, "DELETE ?policy" DeleteBucketPolicy, "GET ?policyStatus"
GetBucketPolicyStatus, "GET /" ListBuckets, "POST /" an STS call.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

_REQUEST_LINE = re.compile(rb"(?:^|\r\n)(GET|PUT|POST|DELETE|HEAD|PATCH) (\S+) HTTP/1\.[01]\r\n")
WRITE_KINDS = ("PUT ?policy", "DELETE ?policy")


def request_kind(method: str, target: str) -> str:
    query = urlsplit(target).query
    keys = [k for k, _ in parse_qsl(query, keep_blank_values=True)]
    return f"{method} ?{keys[0]}" if keys else f"{method} /"


class DelayProxy:
    def __init__(self, upstream_port: int, one_way: float) -> None:
        self.upstream_port = upstream_port
        self.one_way = one_way
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._port = 0
        self._thread = threading.Thread(target=self._run, name="delayproxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def writes(self, counts: dict[str, int] | None = None) -> int:
        counts = self.counts() if counts is None else counts
        return sum(counts.get(kind, 0) for kind in WRITE_KINDS)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
        )
        self._port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    def _sniff(self, data: bytes) -> None:
        found = _REQUEST_LINE.findall(data)
        if found:
            with self._lock:
                for method, target in found:
                    self._counts[request_kind(method.decode(), target.decode("latin-1"))] += 1

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pump(client_reader, up_writer, sniff=True),
            self._pump(up_reader, client_writer, sniff=False),
        )

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, sniff: bool) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                dst.write(data)
                await dst.drain()

        sender = asyncio.create_task(deliver())
        try:
            while data := await src.read(65536):
                if sniff:
                    self._sniff(data)
                queue.put_nowait((loop.time() + self.one_way, data))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            queue.put_nowait(None)
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await sender
            with contextlib.suppress(OSError):
                dst.close()
