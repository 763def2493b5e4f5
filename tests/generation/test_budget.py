"""The budget: holds before anything is sent, 402s with a sentence, per-artist caps, the
budget endpoint, and twenty requests racing for a budget that fits five."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from apps.core.errors import BudgetExceeded
from apps.generation import ledger
from apps.generation.models import GenerationJob, LedgerEntry
from apps.generation.services import generate
from apps.production.models import Take
from tests.conftest import client_for

from .conftest import API, access_of, drive


def _set_budget(crew, amount, cap=None):
    crew.project.budget_amount = Decimal(amount)
    crew.project.artist_budget_cap = None if cap is None else Decimal(cap)
    crew.project.save(update_fields=["budget_amount", "artist_budget_cap"])


def _nothing_written():
    return GenerationJob.objects.count() == 0 and LedgerEntry.objects.count() == 0 and Take.objects.count() == 0


@pytest.mark.django_db
class TestBudgetRules:
    def test_over_budget_is_402_with_a_sentence_and_nothing_is_left(self, keyed, fake):
        _set_budget(keyed, "1.00")
        generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=192)  # $0.80
        r = keyed.client("owner").post(
            f"{API}/shots/{keyed.shot.pk}/generate/",
            {"backend": "fake-generic", "prompt": "x", "duration_frames": 96, "variations": 3}, format="json",
        )
        assert r.status_code == 402, r.json()
        body = r.json()
        assert body["code"] == "budget_exceeded"
        assert body["detail"] == "This needs $1.20 but only $0.20 of the $1.00 budget is left."
        assert GenerationJob.objects.count() == 1 and Take.objects.count() == 1 and LedgerEntry.objects.count() == 1
        assert fake.calls == []

    def test_a_budget_of_zero_refuses_paid_generation_but_not_free(self, crew, fake, scripted):
        from apps.generation.credentials import credential_set

        credential_set(access=access_of(crew, "director"), backend="fake-generic", api_key="sk-zero-budget-key")
        _set_budget(crew, "0")
        with pytest.raises(BudgetExceeded) as refused:
            generate(access=access_of(crew), shot=crew.shot, backend="fake-generic", prompt="x", duration_frames=96)
        assert "no budget for paid generation" in refused.value.detail
        assert _nothing_written() and fake.calls == []
        job, _ = generate(access=access_of(crew), shot=crew.shot, backend="fake-scripted", model="fs-free", prompt="x", duration_frames=48)
        assert job.estimated_cost == 0 and ledger.job_ledger_state(job) == "held"
        drive(job.pk)
        job.refresh_from_db()
        assert job.state == "succeeded" and ledger.totals(crew.project) == (Decimal("0"), Decimal("0"))

    def test_per_artist_cap(self, keyed, fake):
        _set_budget(keyed, "100.00", cap="1.00")
        generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=192)  # $0.80
        with pytest.raises(BudgetExceeded) as refused:
            generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=96)  # $0.40
        assert refused.value.detail == "This needs $0.40 but you have only $0.20 left of your $1.00 limit in this project."
        assert refused.value.code == "budget_exceeded"
        # the director is not capped
        generate(access=access_of(keyed, "director"), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=96)
        assert GenerationJob.objects.count() == 2

    def test_released_money_can_be_used_again(self, keyed, fake):
        _set_budget(keyed, "0.40")
        fake.scenario["quota"] = True
        job, _ = generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=96)
        drive(job.pk)
        fake.scenario.clear()
        generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=96)

    def test_money_formatting(self):
        assert ledger.money(Decimal("1.2"), "USD") == "$1.20"
        assert ledger.money(Decimal("1234.5"), "EUR") == "€1,234.50"
        assert ledger.money(Decimal("0.0025"), "USD") == "$0.0025"
        assert ledger.money(Decimal("3"), "CHF") == "3.00 CHF"


@pytest.mark.django_db
def test_budget_endpoint_shows_reserved_spent_remaining_by_artist(keyed, fake):
    _set_budget(keyed, "10.00", cap="5.00")
    done, _ = generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=96)
    drive(done.pk)  # $0.40 spent by the owner
    generate(access=access_of(keyed, "director"), shot=keyed.shot, backend="fake-generic", prompt="x", duration_frames=192)  # $0.80 held
    body = keyed.client("viewer").get(f"{API}/projects/{keyed.project.pk}/budget/").json()
    assert {"amount", "currency", "reserved", "spent", "remaining", "by_artist", "artist_cap"} <= set(body)
    assert Decimal(str(body["amount"])) == Decimal("10")
    assert Decimal(str(body["reserved"])) == Decimal("0.8")
    assert Decimal(str(body["spent"])) == Decimal("0.4")
    assert Decimal(str(body["remaining"])) == Decimal("8.8")
    rows = {row["user"]["username"]: row for row in body["by_artist"]}
    owner, director = rows[keyed.owner.username], rows[keyed.director.username]
    assert Decimal(str(owner["spent"])) == Decimal("0.4") and Decimal(str(owner["reserved"])) == 0
    assert Decimal(str(owner["cap"])) == Decimal("5")
    assert Decimal(str(director["reserved"])) == Decimal("0.8") and director["cap"] is None
    # People are named as the UI names them: the display name, else the username.
    keyed.owner.first_name = "Ana Lima"
    keyed.owner.save(update_fields=["first_name"])
    body = keyed.client("viewer").get(f"{API}/projects/{keyed.project.pk}/budget/").json()
    names = {row["user"]["username"]: row["user"]["display_name"] for row in body["by_artist"]}
    assert names[keyed.owner.username] == "Ana Lima"
    assert names[keyed.director.username] == keyed.director.username


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_against_a_budget_that_fits_five(keyed, fake, settings):
    settings.MONTAGE_BACKEND_CONCURRENCY = {"fake-generic": 20}
    _set_budget(keyed, "2.00")  # five 4-second clips at $0.40
    url = f"{API}/shots/{keyed.shot.pk}/generate/"
    barrier = threading.Barrier(20)
    results: list = [None] * 20

    def request(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = client_for(keyed.owner).post(
                url, {"backend": "fake-generic", "prompt": f"take {i}", "duration_frames": 96}, format="json"
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [202] * 5 + [402] * 15, statuses
    assert all(r.json()["code"] == "budget_exceeded" for r in results if r.status_code == 402)
    assert GenerationJob.objects.count() == 5
    assert LedgerEntry.objects.filter(kind="reserve").count() == 5
    assert Take.objects.count() == 5
    for job in GenerationJob.objects.all():
        drive(job.pk)
    assert fake.count("POST", "/v1/jobs") == 5 and fake.submissions() == 5
    assert set(GenerationJob.objects.values_list("state", flat=True)) == {"succeeded"}
    held, spent = ledger.totals(keyed.project)
    assert (held, spent) == (Decimal("0"), Decimal("2.0000"))
