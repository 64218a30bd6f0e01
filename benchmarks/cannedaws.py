"""An S3 and STS stand-in that answers every read from canned bodies, for measuring a client's CPU.

    python benchmarks/cannedaws.py POLICIES.json --port-file PORT.txt [--list N] [--account A]

POLICIES.json maps bucket name -> its policy text (or null: no policy). The server binds
127.0.0.1 on a free port, writes the port to PORT.txt once it listens, and answers:

- `GET /BUCKET?policy`: the bucket's policy, or NoSuchBucketPolicy (404) when it has none
  (a bucket missing from the file has none either);
- `GET /BUCKET?encryption`: SSE-S3 (AES256), as AWS sets on every new bucket;
- `GET /BUCKET?ownershipControls`: BucketOwnerEnforced, as AWS sets on every new bucket;
- `GET /`: ListBuckets of the first N buckets of the file (--list; all by default);
- `POST /` with Action=GetCallerIdentity: the --account's identity;
- anything else: 501 NotImplemented.

At exit (SIGTERM) it prints one JSON line on stderr: the requests it answered, by kind, so
a benchmark can check two clients made the same calls.

Why: moto spends far more CPU per call than the client does, on the same 2 cores, which
hides the client's own cost. Here every answer is a lookup of precomputed bytes, and the
server runs in its own process, so the client's CPU (user + sys, from os.wait4) is its own.
Path-style only: botocore addresses buckets by path when the endpoint is an IP address.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

XML = "application/xml"
ENCRYPTION = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ServerSideEncryptionConfiguration>'
    b"<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
    b"</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule>"
    b"</ServerSideEncryptionConfiguration>"
)
OWNERSHIP = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<OwnershipControls><Rule>'
    b"<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"
)


def error_body(code: str, message: str, resource: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<BucketName>{resource}</BucketName><RequestId>CANNED</RequestId><HostId>CANNED</HostId></Error>"
    ).encode()


def list_buckets_body(names: list[str], account: str) -> bytes:
    buckets = "".join(
        f"<Bucket><Name>{name}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>"
        for name in names
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{account}</ID><DisplayName>bench</DisplayName></Owner>"
        f"<Buckets>{buckets}</Buckets></ListAllMyBucketsResult>"
    ).encode()


def caller_identity_body(account: str) -> bytes:
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/bench</Arn>"
        f"<UserId>AIDABENCH</UserId><Account>{account}</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>canned</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    ).encode()


class Canned:
    """Every answer, computed once before the first request."""

    def __init__(self, policies: dict[str, str | None], listed: int, account: str) -> None:
        self.policies = {name: None if text is None else text.encode() for name, text in policies.items()}
        self.listing = list_buckets_body(list(policies)[:listed], account)
        self.identity = caller_identity_body(account)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()


def make_handler(canned: Canned) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its pooled connections

        def log_message(self, format: str, *args: object) -> None:
            pass

        def answer(self, status: int, body: bytes, content_type: str = XML) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amz-request-id", "CANNED")
            self.end_headers()
            self.wfile.write(body)

        def count(self, what: str) -> None:
            with canned.lock:
                canned.counts[what] += 1

        def unexpected(self, what: str) -> None:
            self.count(f"unexpected {what}")
            self.answer(501, error_body("NotImplemented", "the canned stand-in has no answer", what))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            bucket = unquote(parts.path.strip("/"))
            query = parts.query.split("&")[0].split("=")[0]
            if not bucket:
                self.count("ListBuckets")
                self.answer(200, canned.listing)
            elif "/" in bucket:
                self.unexpected(f"GET object {parts.path}")
            elif query == "policy":
                self.count("GetBucketPolicy")
                policy = canned.policies.get(bucket)
                if policy is None:
                    body = error_body("NoSuchBucketPolicy", "The bucket policy does not exist", bucket)
                    self.answer(404, body)
                else:
                    self.answer(200, policy, "application/json")
            elif query == "encryption":
                self.count("GetBucketEncryption")
                self.answer(200, ENCRYPTION)
            elif query == "ownershipControls":
                self.count("GetBucketOwnershipControls")
                self.answer(200, OWNERSHIP)
            else:
                self.unexpected(f"GET ?{query}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            action = form.get("Action", ["?"])[0]
            if action == "GetCallerIdentity":
                self.count("GetCallerIdentity")
                self.answer(200, canned.identity, "text/xml")
            else:
                self.unexpected(f"POST {action}")

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.unexpected(f"PUT {self.path}")

        def do_DELETE(self) -> None:
            self.unexpected(f"DELETE {self.path}")

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("policies", type=Path, help="JSON: bucket name -> policy text or null")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--list", type=int, default=None, help="ListBuckets lists the first N buckets")
    parser.add_argument("--account", default="123456789012")
    args = parser.parse_args()
    policies = json.loads(args.policies.read_text())
    canned = Canned(policies, len(policies) if args.list is None else args.list, args.account)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(canned))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    args.port_file.write_text(str(server.server_address[1]))
    try:
        server.serve_forever()
    finally:
        server.server_close()
        print(json.dumps(dict(sorted(canned.counts.items()))), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
