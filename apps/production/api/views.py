from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.production import selectors, services
from apps.projects.access import project_access

from . import serializers as s


class SegmentListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        return Response([s.segment_out(seg) for seg in selectors.segment_list(access=access)])

    @extend_schema(request=s.SegmentIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        data = s.SegmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segment_create(access=access, **data.validated_data)
        return Response(s.segment_out(segment), status=status.HTTP_201_CREATED)


class SegmentDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, segment_id):
        access, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        seg = selectors.segment_list(access=access).get(pk=segment.pk)
        return Response(s.segment_out(seg))

    @extend_schema(request=s.SegmentUpdateIn, responses={200: OpenApiTypes.OBJECT})
    def patch(self, request, segment_id):
        access, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        data = s.SegmentUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        segment = services.segment_update(access=access, segment=segment, **data.validated_data)
        return Response(s.segment_out(selectors.segment_list(access=access).get(pk=segment.pk)))

    @extend_schema(responses={204: None})
    def delete(self, request, segment_id):
        access, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        services.segment_delete(access=access, segment=segment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentClaimView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, segment_id):
        access, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        segment = services.segment_claim(access=access, segment=segment)
        return Response(s.segment_out(selectors.segment_list(access=access).get(pk=segment.pk)))


class SegmentReleaseView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, segment_id):
        access, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        segment = services.segment_release(access=access, segment=segment)
        return Response(s.segment_out(selectors.segment_list(access=access).get(pk=segment.pk)))


class SegmentAssignView(APIView):
    @extend_schema(request=s.AssignIn, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, segment_id):
        access, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        data = s.AssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segment_assign(access=access, segment=segment, **data.validated_data)
        return Response(s.segment_out(selectors.segment_list(access=access).get(pk=segment.pk)))


class ShotListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, segment_id):
        _, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        return Response([s.shot_out(shot) for shot in selectors.shot_list(segment=segment)])

    @extend_schema(request=s.ShotIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, segment_id):
        access, segment = selectors.segment_get(user=request.user, segment_id=segment_id)
        data = s.ShotIn(data=request.data)
        data.is_valid(raise_exception=True)
        shot = services.shot_create(access=access, segment=segment, **data.validated_data)
        return Response(s.shot_out(selectors.shot_list(segment=segment).get(pk=shot.pk)), status=status.HTTP_201_CREATED)


class ShotDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, shot_id):
        _, shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        return Response(s.shot_out(selectors.shot_list(segment=shot.segment).get(pk=shot.pk)))

    @extend_schema(request=s.ShotUpdateIn, responses={200: OpenApiTypes.OBJECT})
    def patch(self, request, shot_id):
        access, shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        data = s.ShotUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        revision = fields.pop("revision", None)
        services.shot_update(access=access, shot=shot, revision=revision, **fields)
        return Response(s.shot_out(selectors.shot_list(segment=shot.segment).get(pk=shot.pk)))

    @extend_schema(responses={204: None})
    def delete(self, request, shot_id):
        access, shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        services.shot_delete(access=access, shot=shot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TakeListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, shot_id):
        _, shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        return Response([s.take_out(t, request) for t in selectors.take_list(shot=shot)])

    @extend_schema(request=s.TakeFromUploadIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, shot_id):
        access, shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        data = s.TakeFromUploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        take = services.take_create_from_upload(access=access, shot=shot, upload_id=str(data.validated_data["upload"]))
        _, take = selectors.take_get(user=request.user, take_id=take.pk)
        return Response(s.take_out(take, request), status=status.HTTP_201_CREATED)


class TakeDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, take_id):
        _, take = selectors.take_get(user=request.user, take_id=take_id)
        return Response(s.take_out(take, request))

    @extend_schema(responses={204: None})
    def delete(self, request, take_id):
        access, take = selectors.take_get(user=request.user, take_id=take_id)
        services.take_delete(access=access, take=take)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _TakeAction(APIView):
    def _respond(self, request, take):
        _, take = selectors.take_get(user=request.user, take_id=take.pk)
        return Response(s.take_out(take, request))


class TakeSubmitView(_TakeAction):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, take_id):
        access, take = selectors.take_get(user=request.user, take_id=take_id)
        return self._respond(request, services.take_submit(access=access, take=take))


class TakeApproveView(_TakeAction):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, take_id):
        access, take = selectors.take_get(user=request.user, take_id=take_id)
        return self._respond(request, services.take_approve(access=access, take=take))


class TakeRequestChangesView(_TakeAction):
    @extend_schema(request=s.RequestChangesIn, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, take_id):
        access, take = selectors.take_get(user=request.user, take_id=take_id)
        data = s.RequestChangesIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(request, services.take_request_changes(access=access, take=take, **data.validated_data))


class CommentListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, take_id):
        _, take = selectors.take_get(user=request.user, take_id=take_id)
        return Response([s.comment_out(c) for c in selectors.comment_list(take=take)])

    @extend_schema(request=s.CommentIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, take_id):
        access, take = selectors.take_get(user=request.user, take_id=take_id)
        data = s.CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if fields.get("parent"):
            fields["parent"] = str(fields["parent"])
        comment = services.comment_create(access=access, take=take, **fields)
        return Response(s.comment_out(comment), status=status.HTTP_201_CREATED)


class ReviewQueueView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        out = []
        for take in selectors.review_queue(access=access):
            item = s.take_out(take, request)
            item["segment"] = {"id": str(take.shot.segment_id), "title": take.shot.segment.title, "position": take.shot.segment.position}
            item["shot_title"] = take.shot.title
            out.append(item)
        return Response(out)

