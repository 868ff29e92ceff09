"""Release files in the private S3 bucket: upload and short-lived presigned downloads."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from .aws import client, translate

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-+()")


def content_disposition(filename: str) -> str:
    """`attachment` saved as `filename`, as RFC 6266 writes it whatever the name holds: a quoted
    ASCII fallback (a quote, a semicolon, a line break or a non-ASCII letter there as `_`) and the
    exact name UTF-8 percent-encoded (`filename*`), which browsers and curl prefer."""
    fallback = "".join(char if char in _PLAIN else "_" for char in filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class S3Files:
    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._client = s3

    @property
    def s3(self) -> Any:
        return self._client or client("s3")

    def put(self, key: str, data: bytes, *, content_type: str = "application/zip") -> None:
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ServerSideEncryption="AES256",
            )
        except ClientError as error:
            raise translate(error, "upload release file") from error

    def download_url(self, key: str, filename: str, *, expires_in: int = 300) -> str:
        """A presigned GET that lives `expires_in` seconds and saves as `filename`."""
        return str(
            self.s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": content_disposition(filename),
                },
                ExpiresIn=expires_in,
            )
        )
