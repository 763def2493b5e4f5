from rest_framework import serializers

from apps.core.limits import MAX_FRAMES, MAX_SEED, MAX_VARIATIONS
from apps.generation.backends.base import KINDS


class GenerateIn(serializers.Serializer):
    backend = serializers.CharField(max_length=64)
    model = serializers.CharField(max_length=128, required=False, allow_null=True, allow_blank=True)
    # A plain string (checked by the service) so that the schema has no second "kind" enum.
    kind = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=32, help_text=" | ".join(KINDS))
    prompt = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False, max_length=10_000)
    negative_prompt = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=10_000)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_SEED)
    duration_frames = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_FRAMES)
    input_image = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)
    # When input_image is a video take: which of its frames is the input picture.
    input_frame = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=16, help_text="first | last")
    references = serializers.ListField(child=serializers.CharField(max_length=80), required=False, allow_null=True, max_length=50)
    parent_take = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)
    variations = serializers.IntegerField(required=False, default=1, min_value=1, max_value=MAX_VARIATIONS)
    params = serializers.DictField(required=False, allow_null=True)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        for key in ("model", "input_image", "parent_take", "kind", "input_frame"):
            if data.get(key) == "":
                data[key] = None
        return data


class CredentialIn(serializers.Serializer):
    api_key = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=True, max_length=4096)
    config = serializers.DictField(required=False, allow_null=True)


def job_out(job, *, takes=None, request=None) -> dict:
    from apps.generation.services import job_data
    from apps.production.api.serializers import take_out

    data = job_data(job)
    if takes is not None:
        data["takes"] = [take_out(t, request) for t in takes]
    return data
