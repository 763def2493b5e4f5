from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.limits import MAX_REVISION
from apps.projects.access import project_access
from apps.timeline.selectors import timeline_audio_sources, timeline_comments, timeline_get
from apps.timeline.services import timeline_apply


class TimelinePatchIn(serializers.Serializer):
    revision = serializers.IntegerField(min_value=0, max_value=MAX_REVISION)
    # Each op is checked by the service (frames within apps.core.limits.MAX_FRAMES).
    ops = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=500)


class TimelineView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        return Response(timeline_get(project=access.project, request=request))

    @extend_schema(request=TimelinePatchIn, responses={200: OpenApiTypes.OBJECT})
    def patch(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        data = TimelinePatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        timeline_apply(access=access, **data.validated_data)
        return Response(timeline_get(project=access.project, request=request))


class TimelineCommentsView(APIView):
    """Time-coded comments on the picks, as pins on the timeline (read-only)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        return Response(timeline_comments(project=access.project))


class TimelineAudioSourcesView(APIView):
    """Sound-only takes (speech, music, sound effects, uploaded sound) for the audio tracks (read-only)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        return Response(timeline_audio_sources(project=access.project))
