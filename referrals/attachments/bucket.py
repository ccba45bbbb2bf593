"""Attachments in a private S3-compatible bucket (CAREPATH_S3_BUCKET: carepath/storage_settings.py;
docs/decisions.md, "Attachments in an S3-compatible bucket"). django-storages' S3 backend with two
changes:

- **no URL, ever**: files leave only through CarePath's views, which check access and audit each
  read (serving.py); a bucket address, even a signed one, would bypass both, so `url()` refuses;
- **a byte range is a ranged GET**: django-storages' file object downloads the whole object before
  its first read (a 200 MB video for each seek of the player); `read_range` asks the bucket for
  just those bytes and streams them."""

from collections.abc import Iterator

from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class NoBucketAddress(ValueError):
    """Raised by `url()`: an attachment has no address outside CarePath's own views (as the
    filesystem storage, which has no MEDIA_URL, raises ValueError)."""


class PrivateS3Storage(S3Storage):
    def url(self, name, parameters=None, expire=None, http_method=None):
        raise NoBucketAddress("Attachments are served only through CarePath's views (attachments/serving.py).")

    def key(self, name: str) -> str:
        """The object's key in the bucket (CAREPATH_S3_PREFIX, if set, before the stored name)."""
        return self._normalize_name(clean_name(name))

    def read_range(self, name: str, first: int, last: int, chunk_size: int) -> Iterator[bytes]:
        """Bytes `first`..`last` (inclusive) of the stored file, fetched as one ranged GET and
        yielded in chunks as they arrive."""
        answer = self.connection.meta.client.get_object(
            Bucket=self.bucket_name, Key=self.key(name), Range=f"bytes={first}-{last}"
        )
        body = answer["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()
