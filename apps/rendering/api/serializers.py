from rest_framework import serializers


class ExportIn(serializers.Serializer):
    # A plain string (checked by the service, which answers 400 with a sentence).
    kind = serializers.CharField(max_length=16, help_text="final | segment")
    segment = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)
    include_unapproved = serializers.BooleanField(required=False, default=False)
    credits_roll = serializers.BooleanField(required=False, default=False)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        if not data.get("segment"):
            data["segment"] = None
        return data
