from rest_framework.authentication import TokenAuthentication


class BearerOrTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` (documented) or ``Bearer <key>`` (what many scripts send)."""

    keyword = "Token"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer "):
            return self.authenticate_credentials(header.split(" ", 1)[1].strip())
        return super().authenticate(request)
