"""The authentication backend: Django's, behind the sign-in lockout (apps/accounts/lockout.py).

Every sign-in goes through it (API token, browser session, the Django admin), so all of
them count failures and all of them are refused while the account or address is locked.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from . import lockout


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if lockout.locked_for(request, username) > 0:
            # Django's authenticate() stops here and reports a failed sign-in; the password
            # is not even checked. (The API views check first and answer 429.)
            raise PermissionDenied("Too many failed sign-ins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            lockout.record_failure(request, username)
        else:
            lockout.record_success(request, username)
        return user
