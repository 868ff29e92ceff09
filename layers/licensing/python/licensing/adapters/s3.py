"""Release files in the private S3 bucket: upload and short-lived presigned downloads."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .aws import client, translate


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
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=expires_in,
            )
        )
