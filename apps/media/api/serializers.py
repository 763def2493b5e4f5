"""Input shapes of the media API (outputs are plain dicts from apps.media.selectors)."""

from __future__ import annotations

from rest_framework import serializers


class UploadIn(serializers.Serializer):
    project = serializers.UUIDField(
        help_text="The project the file is for; you need a role there that may add media (director, producer or artist).",
        error_messages={"required": "Say which project the file is for.", "invalid": "project must be a project id."},
    )
    filename = serializers.CharField(max_length=1000, trim_whitespace=True)
    size = serializers.IntegerField(min_value=1, error_messages={"min_value": "The file is empty; choose a file with something in it."})
    content_type = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class PartIn(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=10_000)
    etag = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class UploadCompleteIn(serializers.Serializer):
    parts = PartIn(many=True, required=False)

    def validate_parts(self, parts):
        numbers = [p["number"] for p in parts]
        if len(numbers) != len(set(numbers)):
            raise serializers.ValidationError("Each part number may appear once.")
        return sorted(parts, key=lambda p: p["number"])
