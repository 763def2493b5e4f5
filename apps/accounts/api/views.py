from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import lockout
from apps.accounts.services import display_name, token_for, user_register
from apps.core.errors import DomainError
from apps.core.throttling import SignupThrottle


class CredentialsIn(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class RegisterIn(CredentialsIn):
    email = serializers.EmailField(required=False, allow_blank=True)
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=150)


class MeOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()


def me_data(user) -> dict:
    return {"id": user.pk, "username": user.username, "display_name": display_name(user), "email": user.email}


def _enforce_csrf(request) -> None:
    from rest_framework.authentication import CSRFCheck

    from apps.core.errors import PermissionDenied

    check = CSRFCheck(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise PermissionDenied(f"Security check failed ({reason}); reload the page and sign in again.", code="csrf_failed")


class InvalidCredentials(DomainError):
    status_code = 400
    code = "invalid_credentials"
    default_detail = "Wrong username or password."


def _sign_in(request, *, username: str, password: str):
    """The user for these credentials; 429 while the account or the address is locked out
    (apps/accounts/lockout.py), 400 for wrong ones (which count towards a lockout)."""
    lockout.check(request, username)
    user = authenticate(request, username=username, password=password)
    if user is None:
        lockout.check(request, username)  # this failure may have been the one that locks
        raise InvalidCredentials()
    return user


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsIn, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        data = CredentialsIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = _sign_in(request, **data.validated_data)
        return Response({"token": token_for(user=user).key, "user": me_data(user)})


class RegisterView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [SignupThrottle]

    @extend_schema(request=RegisterIn, responses={201: MeOut})
    def post(self, request):
        data = RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        return Response(me_data(user), status=status.HTTP_201_CREATED)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SessionView(APIView):
    """Browser sign-in: POST {username, password} starts a session (CSRF enforced), DELETE ends it."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: MeOut})
    def get(self, request):
        if not request.user.is_authenticated:
            return Response({"code": "not_authenticated", "detail": "Not signed in."}, status=status.HTTP_401_UNAUTHORIZED)
        return Response(me_data(request.user))

    # DRF exempts anonymous requests from CSRF; a browser sign-in must not be (login CSRF).
    @extend_schema(request=CredentialsIn, responses={200: MeOut})
    def post(self, request):
        _enforce_csrf(request)
        data = CredentialsIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = _sign_in(request, **data.validated_data)
        login(request, user)
        return Response(me_data(user))

    @extend_schema(responses={204: None})
    def delete(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeOut})
    def get(self, request):
        return Response(me_data(request.user))
