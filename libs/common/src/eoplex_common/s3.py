"""S3 access through the `minio` SDK (MinIO in production, SeaweedFS on one machine)."""

from urllib.parse import urlsplit

from minio import Minio

from eoplex_common.settings import InfrastructureSettings


def connect_s3(settings: InfrastructureSettings, *, endpoint_url: str | None = None) -> Minio:
    """A client for the configured S3 endpoint (`OPENEO_S3_ENDPOINT`, keys, region), or for
    `endpoint_url` with the same keys (e.g. the address clients reach, for signing URLs)."""
    endpoint = urlsplit(endpoint_url or settings.s3_endpoint)
    return Minio(
        endpoint.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=endpoint.scheme == "https",
        region=settings.s3_region,
    )


def ensure_bucket(client: Minio, bucket: str) -> None:
    """Create `bucket` unless it exists (idempotent, safe to race)."""
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
