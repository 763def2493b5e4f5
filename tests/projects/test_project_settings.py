"""Project settings through the API: who may change what, refusals that name the field, and
what the activity feed remembers of a change."""

from __future__ import annotations

import pytest

from apps.projects.models import ActivityEvent, Project
from tests.api.helpers import API, assert_error


def _url(project) -> str:
    return f"{API}/projects/{project.pk}/"


@pytest.mark.django_db
class TestBudgetAndDirectorFields:
    def test_a_producer_saves_the_budget_fields_alone(self, crew):
        r = crew.client("producer").patch(
            _url(crew.project), {"budget_amount": "250.00", "budget_currency": "eur", "artist_budget_cap": "40.00"}, format="json"
        )
        assert r.status_code == 200, r.json()
        assert (r.json()["budget_amount"], r.json()["budget_currency"], r.json()["artist_budget_cap"]) == (
            "250.00",
            "EUR",
            "40.00",
        )
        project = Project.objects.get(pk=crew.project.pk)
        assert str(project.budget_amount) == "250.00" and project.budget_currency == "EUR"

    def test_a_producer_changing_the_runtime_is_refused_naming_the_field_and_nothing_changes(self, crew):
        Project.objects.filter(pk=crew.project.pk).update(target_runtime_seconds=120)
        r = crew.client("producer").patch(
            _url(crew.project), {"budget_amount": "999.00", "target_runtime_seconds": 600}, format="json"
        )
        body = assert_error(r, 403, "permission_denied")
        assert "target runtime seconds" in body["detail"]
        assert set(body["fields"]) == {"target_runtime_seconds"}
        project = Project.objects.get(pk=crew.project.pk)
        # The whole request is refused: the budget in it is not half-applied.
        assert project.target_runtime_seconds == 120 and str(project.budget_amount) != "999.00"

    @pytest.mark.parametrize("field,value", [("style_prompt", "grainy 16mm"), ("description", "A keeper"), ("title", "Mine")])
    def test_a_producer_cannot_change_the_directors_fields(self, crew, field, value):
        r = crew.client("producer").patch(_url(crew.project), {field: value}, format="json")
        body = assert_error(r, 403, "permission_denied")
        assert list(body["fields"]) == [field]

    def test_the_director_sets_style_prompt_description_and_runtime(self, crew):
        r = crew.client("director").patch(
            _url(crew.project),
            {
                "style_prompt": "grainy 16mm, teal and amber",
                "description": "A keeper and her light.",
                "target_runtime_seconds": 300,
            },
            format="json",
        )
        assert r.status_code == 200, r.json()
        got = crew.client("artist").get(_url(crew.project)).json()
        assert got["style_prompt"] == "grainy 16mm, teal and amber"
        assert got["description"] == "A keeper and her light."
        assert got["target_runtime_seconds"] == 300

    @pytest.mark.parametrize("who", ["artist", "viewer"])
    def test_artists_and_viewers_change_nothing(self, crew, who):
        assert_error(crew.client(who).patch(_url(crew.project), {"budget_amount": "1.00"}, format="json"), 403)

    @pytest.mark.parametrize(
        "payload",
        [
            {"budget_amount": "-5"},
            {"artist_budget_cap": "-1"},
            {"target_runtime_seconds": 0},
            {"target_runtime_seconds": 24 * 3600 + 1},
        ],
    )
    def test_out_of_range_numbers_are_refused(self, crew, payload):
        before = Project.objects.get(pk=crew.project.pk)
        assert_error(crew.client("director").patch(_url(crew.project), payload, format="json"), 400)
        after = Project.objects.get(pk=crew.project.pk)
        assert (after.budget_amount, after.artist_budget_cap, after.target_runtime_seconds) == (
            before.budget_amount,
            before.artist_budget_cap,
            before.target_runtime_seconds,
        )


@pytest.mark.django_db
class TestCreateWithStyle:
    def test_a_new_film_keeps_its_style_prompt_and_description(self, crew):
        r = crew.client("artist").post(
            f"{API}/projects/",
            {"title": "Night Ferry", "style_prompt": "noir, rain", "description": "Two strangers."},
            format="json",
        )
        assert r.status_code == 201, r.json()
        assert (r.json()["style_prompt"], r.json()["description"], r.json()["role"]) == (
            "noir, rain",
            "Two strangers.",
            "director",
        )


@pytest.mark.django_db
class TestActivity:
    def test_a_budget_change_says_who_set_it_to_what(self, crew):
        crew.producer.first_name = "Pablo"
        crew.producer.save()
        crew.client("producer").patch(_url(crew.project), {"budget_amount": "250.00"}, format="json")
        feed = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/activity/").json()
        entry = next(e for e in feed if e["type"] == "project.updated")
        assert entry["actor"]["display_name"] == "Pablo"
        assert entry["data"]["changes"] == {"budget_amount": "250.00"}
        assert entry["data"]["currency"] == "USD"

    def test_saving_unchanged_settings_adds_no_line(self, crew):
        crew.client("producer").patch(_url(crew.project), {"budget_currency": crew.project.budget_currency}, format="json")
        assert not ActivityEvent.objects.filter(project=crew.project, type="project.updated").exists()

    def test_member_events_name_the_person_by_display_name(self, crew):
        from tests.conftest import client_for, make_user

        newcomer = make_user()
        newcomer.first_name, newcomer.last_name = "Ana", "Lima"
        newcomer.save()
        crew.client("director").post(
            f"{API}/projects/{crew.project.pk}/members/", {"username": newcomer.username, "role": "artist"}, format="json"
        )
        invitation = client_for(newcomer).get(f"{API}/me/invitations/").json()[0]
        client_for(newcomer).post(f"{API}/me/invitations/{invitation['id']}/accept/")
        feed = crew.client("director").get(f"{API}/projects/{crew.project.pk}/activity/").json()
        entry = next(e for e in feed if e["type"] == "member.added")
        assert entry["data"]["user"]["display_name"] == "Ana Lima"
        assert entry["data"]["role"] == "artist"
