"""The reconciler as a person runs it from a shell: its own process, its own signals, pipes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

RECONCILER = [sys.executable, "-m", "reconciler"]


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without any AWS setting of the machine's, plus settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSHARE_"))}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(settings)
    return env


def write_estate(root: Path, count: int, expired: bool = False) -> Path:
    """A checkout with `count` buckets granting read to 222222222222 (and, with `expired`, an
    expired grant each, which validate warns about on stdout)."""
    shares = root / "shares"
    shares.mkdir(parents=True)
    (root / "reconciler.yaml").write_text("version: 1\n", encoding="utf-8")
    for index in range(count):
        text = (
            f"version: 1\nbucket: acme-shell-example-bucket-{index:04d}\n"
            'account: "111111111111"\nowner: team\ngrants:\n'
            f'  - to: "222222222222"\n    access: read\n    prefixes: [datasets/shell/{index:04d}/]\n'
        )
        if expired:
            text += '  - to: "333333333333"\n    access: read\n    expires: 2020-01-01\n'
        (shares / f"b{index:04d}.yaml").write_text(text, encoding="utf-8")
    return root


class SilentEndpoint:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers, as an
    endpoint behind a broken proxy or firewall does."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._accepted: list[socket.socket] = []
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._accepted.append(connection)
            self.connected.set()

    def __enter__(self) -> SilentEndpoint:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.close()
        for connection in self._accepted:
            connection.close()


def start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RECONCILER, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
