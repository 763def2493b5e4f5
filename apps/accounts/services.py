from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from apps.core.errors import Conflict, PermissionDenied, ValidationError

User = get_user_model()


def user_register(*, username: str, password: str, email: str = "", display_name: str = ""):
    if not settings.MONTAGE_OPEN_SIGNUP:
        raise PermissionDenied("Sign-up is closed on this studio; ask a director for an invite.", code="signup_closed")
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ValidationError("Choose a username of 1 to 150 characters.", fields={"username": ["Invalid username."]})
    try:
        User.username_validator(username)
    except DjangoValidationError:
        raise ValidationError("A username may contain letters, digits and @/./+/-/_ only.", fields={"username": ["Invalid username."]})
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise ValidationError("That email address is not valid.", fields={"email": ["Invalid email."]})
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("That username is taken.", code="username_taken", fields={"username": ["Taken."]})
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password or "", user=candidate)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), fields={"password": list(exc.messages)})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email, first_name=display_name[:150])
    except IntegrityError:
        raise Conflict("That username is taken.", code="username_taken", fields={"username": ["Taken."]})
    return user


def token_for(*, user) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


def display_name(user) -> str:
    return user.get_full_name() or user.first_name or user.username
