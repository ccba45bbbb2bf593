"""Where attachments are kept (`STORAGES["default"]` in carepath/settings.py; docs/decisions.md,
"Attachments in an S3-compatible bucket"): the filesystem under MEDIA_ROOT by default, a private
S3-compatible bucket when CAREPATH_S3_BUCKET is set. A plain dict built from the environment,
imported by the settings, so it must not import Django's apps or django-storages itself.

No credentials here: boto3 finds them itself (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile,
or the instance's or container's role)."""

from django.core.exceptions import ImproperlyConfigured

from carepath.env import env_str

FILESYSTEM = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
BUCKET_BACKEND = "referrals.attachments.bucket.PrivateS3Storage"
# Server-side encryption CAREPATH_S3_ENCRYPTION may name: S3's own keys, KMS, or none (a MinIO or
# Ceph without a key service refuses the header; encrypt its disks instead).
ENCRYPTIONS = {"AES256", "aws:kms", "none"}


def attachment_storage() -> dict:
    """The `STORAGES["default"]` entry the environment asks for."""
    bucket = env_str("CAREPATH_S3_BUCKET", "").strip()
    if not bucket:
        return FILESYSTEM
    return {"BACKEND": BUCKET_BACKEND, "OPTIONS": bucket_options(bucket)}


def bucket_options(bucket: str) -> dict:
    options = {
        "bucket_name": bucket,
        "endpoint_url": env_str("CAREPATH_S3_ENDPOINT_URL", "").strip() or None,  # MinIO, Ceph, …
        "region_name": env_str("CAREPATH_S3_REGION", "").strip() or None,
        "location": env_str("CAREPATH_S3_PREFIX", "").strip().strip("/"),  # a folder in a shared bucket
        # No ACL sent: a new object is private to the bucket's owner, and buckets with ACLs disabled
        # (AWS's default) refuse any canned ACL but the owner's own. Never public-read.
        "default_acl": None,
        "file_overwrite": False,  # a name already taken gets a suffix; never replaces a child's file
        "querystring_auth": True,  # if a URL were ever made it would be signed; none is (bucket.py)
        "custom_domain": None,
        "object_parameters": encryption_parameters(),
    }
    return options


def encryption_parameters() -> dict:
    """Every object written with server-side encryption: S3's keys by default (CAREPATH_S3_ENCRYPTION
    `AES256`), a KMS key (`aws:kms`, CAREPATH_S3_KMS_KEY_ID: the key's id or ARN, else the account's
    default key), or `none` where the store encrypts its disks itself."""
    encryption = env_str("CAREPATH_S3_ENCRYPTION", "AES256").strip() or "AES256"
    if encryption not in ENCRYPTIONS:
        raise ImproperlyConfigured(f"CAREPATH_S3_ENCRYPTION={encryption!r}: use one of {sorted(ENCRYPTIONS)}")
    if encryption == "none":
        return {}
    parameters = {"ServerSideEncryption": encryption}
    key_id = env_str("CAREPATH_S3_KMS_KEY_ID", "").strip()
    if encryption == "aws:kms" and key_id:
        parameters["SSEKMSKeyId"] = key_id
    return parameters
