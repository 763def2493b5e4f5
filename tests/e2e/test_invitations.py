"""Invitations by username, in real browsers against a live server.

The director types an artist's username under Settings → Members: the page says an
invitation went out (the same words for a name nobody has) and lists it as pending, with
nobody added yet. The artist finds it on their list of films, accepts, and lands in the
film; the director's page shows them as a member and the pending invitation is gone.

Screenshots: ``test-artifacts/e2e/invitations-NN-*.png``.
"""

from __future__ import annotations

import re
import uuid

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from apps.projects.models import Membership  # noqa: E402
from apps.projects.services import project_create  # noqa: E402
from tests.conftest import make_user  # noqa: E402

from .harness import django_side  # noqa: E402
from .ui import LIVE, PASSWORD, UI, sign_in, tid  # noqa: E402

pytestmark = pytest.mark.e2e


def test_director_invites_by_username_and_the_artist_accepts(studio):
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        artist = make_user(f"mara-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        project = project_create(actor=director, title="The Night Ferry", fps=24, width=320, height=180)

    page = studio.page("director")
    sign_in(page, director.username)
    page.goto(f"/projects/{project.pk}/settings")
    tid(page, "member-invite-username").fill(artist.username)
    tid(page, "member-invite-submit").click()
    expect(tid(page, "member-invite-sent")).to_have_text(
        f"If someone is called {artist.username}, they are invited as artist; they join when they accept.", timeout=UI
    )
    expect(tid(page, "pending-invitation")).to_have_count(1, timeout=UI)
    expect(tid(page, "member-row")).to_have_count(1)  # nobody added yet
    # A name nobody has gets the same words and the same kind of row.
    tid(page, "member-invite-username").fill("nobody-by-this-name")
    tid(page, "member-invite-submit").click()
    expect(tid(page, "member-invite-sent")).to_contain_text(
        "If someone is called nobody-by-this-name, they are invited", timeout=UI
    )
    expect(tid(page, "pending-invitation")).to_have_count(2, timeout=UI)
    studio.snap(page, "invitations-01-director-pending")

    other = studio.page("artist")
    sign_in(other, artist.username)
    other.goto("/")
    invitation = tid(other, "my-invitation")
    expect(invitation).to_have_count(1, timeout=UI)
    expect(invitation).to_contain_text("The Night Ferry")
    studio.snap(other, "invitations-02-artist-invited")
    tid(other, "my-invitation-accept").click()
    expect(other).to_have_url(re.compile(rf"/projects/{project.pk}"), timeout=UI)
    with django_side():
        assert Membership.objects.get(project=project, user=artist).role == "artist"

    # The director sees the new member live; only the unknown name is still pending.
    expect(page.locator(f'[data-testid="member-row"][data-username="{artist.username}"]')).to_have_count(1, timeout=LIVE)
    expect(tid(page, "pending-invitation")).to_have_count(1, timeout=LIVE)
    expect(tid(page, "pending-invitation")).to_have_attribute("data-username", "nobody-by-this-name")
    studio.snap(page, "invitations-03-director-joined")
