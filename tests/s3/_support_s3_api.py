"""A small document API that keeps its documents in an S3 bucket, run as its own process.

    python _support_s3_api.py --endpoint URL --bucket NAME [--port 0]

prints ``LISTENING 127.0.0.1:PORT`` once it accepts connections and serves until SIGTERM.
Every request uses the server's own boto3 client. Routes (``NAME`` is a document name):

    PUT    /docs/NAME           upload (text/plain, metadata owner=NAME, uploaded-at=now,
                                request-id=a random uuid) -> 201 | 409 exists
                                | 403 quota: at most QUOTA live documents
    DELETE /docs/NAME           move to trash/NAME (overwriting an older trashed copy) -> 200 | 404
    POST   /trash/NAME/restore  move trash/NAME back to docs/NAME -> 200 | 404 | 409 exists

The seeded bug: restore does not check the quota, so a restore can leave QUOTA + 1 documents.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

QUOTA = 1


class DocsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoint: str, bucket: str) -> None:
        self.bucket = bucket
        self.s3 = boto3.client(
            "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"})
        )
        super().__init__(address, DocsHandler)

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def live(self) -> list[str]:
        answer = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="docs/")
        return [entry["Key"] for entry in answer.get("Contents", [])]

    def move(self, source: str, target: str) -> None:
        self.s3.copy_object(
            Bucket=self.bucket,
            Key=target,
            CopySource={"Bucket": self.bucket, "Key": source},
            MetadataDirective="COPY",
        )
        self.s3.delete_object(Bucket=self.bucket, Key=source)


class DocsHandler(BaseHTTPRequestHandler):
    server: DocsServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = re.fullmatch(r"/docs/(\w+)", self.path)
        if not match:
            return self.reply(404, "no such route")
        key = f"docs/{match[1]}"
        if self.server.exists(key):
            return self.reply(409, "exists")
        if len(self.server.live()) >= QUOTA:
            return self.reply(403, "quota")
        self.server.s3.put_object(
            Bucket=self.server.bucket,
            Key=key,
            Body=body,
            ContentType="text/plain",
            Metadata={
                "owner": match[1],
                "uploaded-at": datetime.now(UTC).isoformat(),
                "request-id": str(uuid.uuid4()),
            },
        )
        return self.reply(201, "created")

    def do_DELETE(self) -> None:
        match = re.fullmatch(r"/docs/(\w+)", self.path)
        if not match:
            return self.reply(404, "no such route")
        if not self.server.exists(f"docs/{match[1]}"):
            return self.reply(404, "not found")
        self.server.move(f"docs/{match[1]}", f"trash/{match[1]}")
        return self.reply(200, "trashed")

    def do_POST(self) -> None:
        match = re.fullmatch(r"/trash/(\w+)/restore", self.path)
        if not match:
            return self.reply(404, "no such route")
        if not self.server.exists(f"trash/{match[1]}"):
            return self.reply(404, "not in trash")
        if self.server.exists(f"docs/{match[1]}"):
            return self.reply(409, "exists")
        self.server.move(f"trash/{match[1]}", f"docs/{match[1]}")  # bug: no quota check
        return self.reply(200, "restored")

    def reply(self, status: int, text: str) -> None:
        data = f'{{"status": "{text}"}}'.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    server = DocsServer(("127.0.0.1", options.port), options.endpoint, options.bucket)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"LISTENING 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
