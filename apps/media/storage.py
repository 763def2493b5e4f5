"""Thin layer over ``default_storage`` for what the media app needs beyond the Storage API:
raw S3 calls (presigned PUTs, multipart uploads, ranged reads) and local file paths.

Storage names (``MediaFile.storage_key`` etc.) are always names *in the storage*; on S3 the
object key is that name under the storage's ``location`` (see ``s3_key``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

CHUNK_SIZE = 1024 * 1024
# S3's limits for multipart uploads.
S3_MIN_PART_SIZE = 5 * 1024 * 1024
S3_MAX_PARTS = 10_000


def use_s3() -> bool:
    return bool(getattr(settings, "USE_S3", False))


def s3_client():
    """The boto3 client of the configured S3 storage (endpoint, credentials, signature)."""
    return default_storage.connection.meta.client


_presign_clients: dict[tuple, Any] = {}


def presign_client():
    """The client that signs URLs handed to browsers. When the storage endpoint is only
    reachable inside the deployment (``http://minio:9000`` in docker-compose), set
    ``AWS_S3_PUBLIC_ENDPOINT_URL`` to the address browsers use (``http://localhost:9000``):
    SigV4 signs the host, so such URLs must be signed for that endpoint. Signing is offline."""
    public = getattr(settings, "AWS_S3_PUBLIC_ENDPOINT_URL", None)
    if not public:
        return s3_client()
    s3 = default_storage  # (the lazy proxy forwards attribute access to the S3Storage)
    key = (public, s3.access_key, s3.secret_key, s3.region_name, s3.signature_version, s3.addressing_style)
    client = _presign_clients.get(key)
    if client is None:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key, aws_session_token=s3.security_token
        )
        client = session.client("s3", endpoint_url=public, region_name=s3.region_name, config=s3.client_config)
        _presign_clients[key] = client
    return client


def s3_presign_get(name: str, *, expires: int | None = None) -> str:
    expires = expires or int(getattr(settings, "AWS_QUERYSTRING_EXPIRE", 3600))
    params = {"Bucket": s3_bucket(), "Key": s3_key(name)}
    return presign_client().generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


def s3_bucket() -> str:
    return default_storage.bucket_name


def s3_key(name: str) -> str:
    from storages.utils import clean_name

    return default_storage._normalize_name(clean_name(name))


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(filename: str, *, default: str = "file") -> str:
    """A short, ASCII, path-free version of ``filename`` that keeps its extension."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = _SAFE.sub("-", stem).strip("-._")[:80] or default
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower()[:10]
    return f"{stem}.{ext}" if ext else stem


def upload_key(upload_id: Any, filename: str) -> str:
    return f"uploads/{upload_id}/{safe_filename(filename)}"


def media_key(media_id: Any, name: str) -> str:
    return f"media/{media_id}/{name}"


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def size(name: str) -> int | None:
    """Size in bytes, or None when there is no such object."""
    if not name:
        return None
    try:
        if use_s3():
            from botocore.exceptions import ClientError

            try:
                head = s3_client().head_object(Bucket=s3_bucket(), Key=s3_key(name))
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    return None
                raise
            return int(head["ContentLength"])
        if not default_storage.exists(name):
            return None
        return int(default_storage.size(name))
    except FileNotFoundError:
        return None


def read_head(name: str, length: int) -> bytes:
    """The first ``length`` bytes of a stored file (a ranged GET on S3)."""
    if use_s3():
        if length <= 0:
            return b""
        obj = s3_client().get_object(Bucket=s3_bucket(), Key=s3_key(name), Range=f"bytes=0-{length - 1}")
        return obj["Body"].read(length)
    with default_storage.open(name, "rb") as fh:
        return fh.read(length)


def local_path(name: str) -> str | None:
    """A path on this machine when the storage is a local filesystem, else None."""
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return None


@contextlib.contextmanager
def local_copy(name: str, *, directory: str) -> Iterator[str]:
    """A local path to the stored file: the file itself on a local filesystem storage, or a
    download into ``directory`` (S3 and other remote storages)."""
    path = local_path(name)
    if path is not None:
        if not os.path.exists(path):
            raise FileNotFoundError(name)
        yield path
        return
    dest = os.path.join(directory, "source" + os.path.splitext(name)[1][:11])
    if use_s3():
        s3_client().download_file(s3_bucket(), s3_key(name), dest)
    else:
        with default_storage.open(name, "rb") as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK_SIZE)
    yield dest


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class _LocalFile(File):
    """A file on local disk that FileSystemStorage can move (rename) instead of copying."""

    def __init__(self, path: str) -> None:
        super().__init__(open(path, "rb"), name=os.path.basename(path))  # noqa: SIM115 - closed by store_path
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


def store_path(name: str, path: str, *, move: bool = False) -> str:
    """Put the local file ``path`` into storage under ``name``, replacing what was there.
    With ``move`` a filesystem storage renames the file instead of copying it. Returns the
    stored name."""
    delete_quietly(name)
    if move and local_path(name) is not None:
        wrapper = _LocalFile(path)
        try:
            return default_storage.save(name, wrapper)
        finally:
            wrapper.close()
    with open(path, "rb") as fh:
        return default_storage.save(name, File(fh, name=os.path.basename(name)))


def delete_quietly(name: str) -> None:
    if not name:
        return
    with contextlib.suppress(FileNotFoundError, OSError):
        default_storage.delete(name)


def incoming_dir() -> str:
    """Where streamed local uploads are spooled: inside MEDIA_ROOT (same filesystem, so the
    final move is a rename) when the storage is local, else the system temp directory."""
    root = local_path("")
    directory = os.path.join(root, ".incoming") if root else tempfile.gettempdir()
    os.makedirs(directory, exist_ok=True)
    return directory


# --------------------------------------------------------------------------------------------
# S3 uploads
# --------------------------------------------------------------------------------------------


def s3_part_size(total: int) -> int:
    part = max(int(settings.MONTAGE_UPLOAD_PART_SIZE), S3_MIN_PART_SIZE)
    while -(-total // part) > S3_MAX_PARTS:
        part *= 2
    return part


def s3_presign_put(name: str, *, content_type: str, expires: int) -> str:
    params = {"Bucket": s3_bucket(), "Key": s3_key(name), "ContentType": content_type}
    return presign_client().generate_presigned_url("put_object", Params=params, ExpiresIn=expires, HttpMethod="PUT")


def s3_presign_part(name: str, *, upload_id: str, number: int, expires: int) -> str:
    params = {"Bucket": s3_bucket(), "Key": s3_key(name), "UploadId": upload_id, "PartNumber": number}
    return presign_client().generate_presigned_url("upload_part", Params=params, ExpiresIn=expires, HttpMethod="PUT")


def s3_multipart_create(name: str, *, content_type: str) -> str:
    response = s3_client().create_multipart_upload(Bucket=s3_bucket(), Key=s3_key(name), ContentType=content_type)
    return response["UploadId"]


def s3_multipart_parts(name: str, *, upload_id: str) -> list[dict[str, Any]]:
    """Parts S3 has received: ``[{number, etag, size}]`` in order."""
    client = s3_client()
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        response = client.list_parts(Bucket=s3_bucket(), Key=s3_key(name), UploadId=upload_id, PartNumberMarker=marker)
        for part in response.get("Parts", []):
            parts.append({"number": part["PartNumber"], "etag": part["ETag"], "size": part["Size"]})
        if not response.get("IsTruncated"):
            break
        marker = response.get("NextPartNumberMarker") or (parts[-1]["number"] if parts else 0)
    return sorted(parts, key=lambda p: p["number"])


def s3_multipart_complete(name: str, *, upload_id: str, parts: list[dict[str, Any]]) -> None:
    s3_client().complete_multipart_upload(
        Bucket=s3_bucket(),
        Key=s3_key(name),
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p["number"], "ETag": p["etag"]} for p in parts]},
    )


def s3_multipart_abort(name: str, *, upload_id: str) -> None:
    from botocore.exceptions import ClientError

    with contextlib.suppress(ClientError):
        s3_client().abort_multipart_upload(Bucket=s3_bucket(), Key=s3_key(name), UploadId=upload_id)
