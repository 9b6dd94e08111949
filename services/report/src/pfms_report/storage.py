"""The report files in S3-compatible object storage (boto3, each call in a worker thread).

Keys are `{user_id}/{report_id}.{ext}`: a retried job overwrites its own object, and a user's
files go with one prefix listing on `user.deleted`.
"""

import asyncio
from collections.abc import AsyncIterator, Collection
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pfms_report.settings import Settings

CHUNK = 64 * 1024


class ObjectStore:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            region_name=settings.s3_region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=30),
        )

    async def ensure_bucket(self) -> None:
        """Create the bucket on startup if it is missing (several instances may race: both fine)."""
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
        except ClientError:
            try:
                await asyncio.to_thread(self._client.create_bucket, Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    async def put(self, key: str, body: bytes, content_type: str) -> None:
        """Write the object; a bucket missing (storage was down at startup, or emptied) is created first."""

        def write() -> None:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

        try:
            await asyncio.to_thread(write)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise
            await self.ensure_bucket()
            await asyncio.to_thread(write)

    async def keys(self, prefix: str) -> list[str]:
        def run() -> list[str]:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

        return await asyncio.to_thread(run)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks, read in a thread so the event loop never blocks on the socket."""
        answer = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=key)
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)

    async def delete_prefix(self, prefix: str, spare: Collection[str] = ()) -> int:
        """Delete every object under `prefix` but those whose name (after the prefix, before the
        extension) is in `spare`; returns how many."""

        keys = [key for key in await self.keys(prefix) if key.removeprefix(prefix).split(".")[0] not in spare]

        def run() -> None:
            for start in range(0, len(keys), 1000):  # the API's limit per call
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

        await asyncio.to_thread(run)
        return len(keys)
