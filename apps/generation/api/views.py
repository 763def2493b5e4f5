from typing import ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.throttling import GenerateThrottle
from apps.generation import connection, credentials, selectors, services
from apps.production.api.serializers import take_out
from apps.production.selectors import shot_get
from apps.projects.access import project_access

from . import serializers as s


class BackendListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("project", str, description="project id: report `configured` for it")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        project_id = request.query_params.get("project")
        access = project_access(user=request.user, project_id=project_id) if project_id else None
        return Response(selectors.backend_list(access=access))


class GenerateView(APIView):
    throttle_classes = [GenerateThrottle]  # per user: MONTAGE_THROTTLE_RATES

    @extend_schema(request=s.GenerateIn, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, shot_id):
        access, shot = shot_get(user=request.user, shot_id=shot_id)
        data = s.GenerateIn(data=request.data)
        data.is_valid(raise_exception=True)
        job, takes = services.generate(access=access, shot=shot, **data.to_service())
        job.refresh_from_db()
        job.project = access.project
        takes = selectors.job_takes(job)
        return Response(
            {"job": s.job_out(job), "takes": [take_out(t, request) for t in takes]}, status=status.HTTP_202_ACCEPTED
        )


class EstimateView(APIView):
    @extend_schema(request=s.GenerateIn, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, shot_id):
        access, shot = shot_get(user=request.user, shot_id=shot_id)
        data = s.GenerateIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.generation_estimate(access=access, shot=shot, **data.to_service()))


class JobDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, job_id):
        _, job = selectors.job_get(user=request.user, job_id=job_id)
        return Response(s.job_out(job, takes=selectors.job_takes(job), request=request))


class JobCancelView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, job_id):
        access, job = selectors.job_get(user=request.user, job_id=job_id)
        job = services.job_cancel(access=access, job=job)
        _, job = selectors.job_get(user=request.user, job_id=job.pk)
        return Response(s.job_out(job, takes=selectors.job_takes(job), request=request))


class ProjectJobListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, description="queued|running|succeeded|failed|cancelled (comma-separated)"),
            OpenApiParameter("shot", str),
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
        jobs = selectors.job_list(
            access=access, state=request.query_params.get("state"), shot=request.query_params.get("shot"), limit=limit
        )
        return Response([s.job_out(job) for job in jobs])


class CredentialListView(APIView):
    @extend_schema(operation_id="projects_credentials_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        credentials.require_manager(access)
        from apps.generation.models import Credential
        from apps.generation.registry import all_backends

        stored = {c.backend: c for c in Credential.objects.filter(project=access.project).select_related("updated_by")}
        return Response([
            credentials.credential_data(project=access.project, backend=b.name, credential=stored.get(b.name))
            | {"needs_credentials": b.needs_credentials, "title": b.title or b.name}
            for b in sorted(all_backends(), key=lambda b: b.name)
        ])


class CredentialView(APIView):
    def _check(self, backend):
        from apps.core.errors import NotFound
        from apps.generation.registry import get_backend

        if get_backend(backend) is None:
            raise NotFound(f"There is no generation backend called {backend!r}.")

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id, backend):
        access = project_access(user=request.user, project_id=project_id)
        credentials.require_manager(access)
        self._check(backend)
        return Response(credentials.credential_data(project=access.project, backend=backend))

    @extend_schema(request=s.CredentialIn, responses={200: OpenApiTypes.OBJECT})
    def put(self, request, project_id, backend):
        access = project_access(user=request.user, project_id=project_id)
        data = s.CredentialIn(data=request.data)
        data.is_valid(raise_exception=True)
        cred = credentials.credential_set(access=access, backend=backend, **data.validated_data)
        return Response(credentials.credential_data(project=access.project, backend=backend, credential=cred))

    @extend_schema(responses={204: None})
    def delete(self, request, project_id, backend):
        access = project_access(user=request.user, project_id=project_id)
        credentials.credential_delete(access=access, backend=backend)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CredentialTestView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, project_id, backend):
        access = project_access(user=request.user, project_id=project_id)
        return Response(connection.credential_test(access=access, backend=backend))


class WebhookView(APIView):
    """Provider callbacks: no login (the backend checks the signature), no CSRF."""

    authentication_classes: ClassVar[list] = []
    permission_classes: ClassVar[list] = [AllowAny]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, backend):
        body = request.body
        headers = {k: v for k, v in request.headers.items()}
        result = services.webhook_receive(
            backend=backend, headers=headers, body=body, query={k: v for k, v in request.query_params.items()}
        )
        return Response(result)
