from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.projects.access import project_access
from apps.rendering import selectors, services

from . import serializers as s


class ProjectExportsView(APIView):
    @extend_schema(
        operation_id="projects_exports_list",
        parameters=[
            OpenApiParameter("state", str, description="queued|running|succeeded|failed|cancelled (comma-separated)"),
            OpenApiParameter("limit", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        try:
            limit = int(request.query_params.get("limit", 50))
        except ValueError:
            limit = 50
        exports = selectors.export_list(access=access, limit=limit, state=request.query_params.get("state"))
        return Response([selectors.export_payload(e, request=request) for e in exports])

    @extend_schema(operation_id="projects_exports_create", request=s.ExportIn, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        data = s.ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        # The address asked from: the base of the media URLs in the .otio/EDL (unless
        # MONTAGE_PUBLIC_URL is set), so that they work from where people use the studio.
        export = services.export_create(access=access, public_url=request.build_absolute_uri("/"), **data.to_service())
        _, export = selectors.export_get(user=request.user, export_id=export.pk)
        return Response(selectors.export_payload(export, request=request), status=status.HTTP_202_ACCEPTED)


class ExportDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, export_id):
        _, export = selectors.export_get(user=request.user, export_id=export_id)
        return Response(selectors.export_payload(export, request=request))


class ExportCancelView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, export_id):
        access, export = selectors.export_get(user=request.user, export_id=export_id)
        services.export_cancel(access=access, export=export)
        _, export = selectors.export_get(user=request.user, export_id=export_id)
        return Response(selectors.export_payload(export, request=request))
