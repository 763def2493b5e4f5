"""Schema fuzzing: schemathesis sends generated requests (valid and invalid by the OpenAPI
schema) to every operation of a live test server, as the director of a seeded project, and
no response may be a server error.

Bounded and deterministic: a fixed number of cases per operation (``FUZZ_EXAMPLES``),
derandomized, no example database. Path parameters are the seeded project's real ids, so
requests get past 404s to the bodies (where the bounds are).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hsettings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from apps.projects.models import Invite, Role
from tests.api.helpers import make_take
from tests.conftest import Crew

FUZZ_EXAMPLES = int(os.environ.get("MONTAGE_FUZZ_EXAMPLES", "5"))

# Operations not fuzzed, and why. Everything else is.
SKIPPED = {
    # Start real work: a render (ffmpeg over the whole cut) or provider calls.
    ("POST", "/api/v1/projects/{project_id}/exports/"): "starts a render of the film",
    ("POST", "/api/v1/shots/{shot_id}/generate/"): "submits generation jobs to providers",
    ("POST", "/api/v1/projects/{project_id}/credentials/{backend}/test/"): "calls the provider's API",
    ("POST", "/api/v1/webhooks/{backend}/"): "provider callbacks; covered by tests/generation",
}


def _load_schema():
    from drf_spectacular.generators import SchemaGenerator
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict(
        {
            "seed": 20261203,
            # The coverage phase (boundary values of every field: what finds missing bounds)
            # also tries methods an operation lacks; two of them are enough to see JSON 405s.
            "phases": {"coverage": {"unexpected-methods": ["delete", "trace"]}},
        }
    )
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=config)


schema = _load_schema()


class Seed:
    """A project with every kind of object, and the ids to put in paths."""

    def __init__(self) -> None:
        self.crew = Crew()
        crew = self.crew
        self.token = Token.objects.create(user=crew.director).key
        take = make_take(crew.shot, author=crew.owner)
        invite = Invite.objects.create(project=crew.project, role=Role.ARTIST, created_by=crew.director)
        member = crew.project.memberships.get(user=crew.artist)
        self.ids = {
            "project_id": str(crew.project.pk),
            "segment_id": str(crew.seg.pk),
            "shot_id": str(crew.shot.pk),
            "take_id": str(take.pk),
            "media_id": str(take.media_id),
            "member_id": str(member.pk),
            "invite_id": str(invite.pk),
            "token": invite.token,
            "backend": "runway",
        }


@pytest.fixture
def seeded(transactional_db, live_server, settings):
    from apps.generation.registry import all_backends

    # Nothing may leave the machine: every provider points at a closed loopback port.
    settings.MONTAGE_BACKEND_URLS = {b.name: "http://127.0.0.1:9" for b in all_backends()}
    return Seed()


@schema.parametrize()
@hsettings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case, seeded, live_server):
    key = (case.operation.method.upper(), case.operation.path)
    if key in SKIPPED:
        pytest.skip(SKIPPED[key])
    if case.path_parameters:
        # Real ids where the seed has one (else the generated value: mostly a 404).
        case.path_parameters = {name: seeded.ids.get(name, value) for name, value in case.path_parameters.items()}
    # Token auth as the director; schemathesis may also send its own (invalid) auth headers.
    headers = {"Authorization": f"Token {seeded.token}"}
    if case.headers and "Authorization" in case.headers:
        case.headers = {k: v for k, v in case.headers.items() if k != "Authorization"}
    response = case.call_and_validate(base_url=live_server.url, headers=headers, checks=[not_a_server_error], timeout=30)
    # Under /api/ every answer is JSON (unknown ids, wrong methods, refusals included).
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        assert content_type.startswith("application/json"), (response.status_code, content_type, response.text[:200])
