from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.throttling import UploadCreateThrottle
from apps.media import selectors, services

from . import serializers as s


class UploadCreateView(APIView):
    throttle_classes = [UploadCreateThrottle]  # per user: MONTAGE_THROTTLE_RATES

    @extend_schema(request=s.UploadIn, responses={201: dict})
    def post(self, request):
        data = s.UploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        upload = services.upload_create(actor=request.user, project_id=fields.pop("project"), **fields)
        return Response(selectors.upload_payload(upload, request=request, instructions=True), status=status.HTTP_201_CREATED)


class UploadDetailView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, upload_id):
        upload = selectors.upload_get(actor=request.user, upload_id=upload_id)
        return Response(selectors.upload_payload(upload, request=request, instructions=True))


class _RawBody(BaseParser):
    """Declares that any content type is accepted; the view reads the body itself."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):  # pragma: no cover - never called
        return {}


class UploadDataView(APIView):
    """The bytes of a local upload. The body is streamed from the request in 1 MB chunks to a
    temporary file (``request.data`` is never touched, so nothing is parsed or buffered)."""

    parser_classes = (_RawBody,)

    @extend_schema(request={"application/octet-stream": OpenApiTypes.BINARY}, responses={200: dict})
    def put(self, request, upload_id):
        raw = request._request
        try:
            length = int(raw.META.get("CONTENT_LENGTH") or 0) or None
        except ValueError:
            length = None
        upload = services.upload_receive(actor=request.user, upload_id=upload_id, stream=raw, content_length=length)
        return Response(
            {"id": str(upload.pk), "status": upload.status, "received_bytes": upload.received_bytes, "size": upload.size}
        )


class UploadCompleteView(APIView):
    @extend_schema(request=s.UploadCompleteIn, responses={200: dict})
    def post(self, request, upload_id):
        data = s.UploadCompleteIn(data=request.data or {})
        data.is_valid(raise_exception=True)
        upload = services.upload_complete(actor=request.user, upload_id=upload_id, parts=data.validated_data.get("parts"))
        return Response(selectors.upload_payload(upload, request=request))


class MediaDetailView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, media_id):
        media = selectors.media_get_for_actor(actor=request.user, media_id=media_id)
        return Response(selectors.media_payload(media, request=request, detail=True))
