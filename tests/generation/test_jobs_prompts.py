"""@tag expansion from the style bible and the project's style prompt."""

from __future__ import annotations

import pytest

from apps.core.errors import ValidationError
from apps.generation.prompts import expand_prompt
from apps.generation.services import generate
from apps.media.models import MediaFile
from apps.projects.models import Reference

from .conftest import access_of, drive

pytestmark = pytest.mark.django_db


@pytest.fixture
def bible(crew):
    mara = Reference.objects.create(project=crew.project, tag="mara", name="Mara", text="the keeper: 60s, grey braid")
    Reference.objects.create(project=crew.project, tag="old-harbour", name="the old harbour", text="stone quay,\n rusted cranes")
    Reference.objects.create(project=crew.project, tag="noir", name="", text="")
    image = MediaFile.objects.create(project=crew.project, storage_key="refs/mara.png", content_type="image/png", kind="image")
    mara.images.add(image)
    return crew


def test_tags_expand_once_then_by_name(bible):
    out = expand_prompt(project=bible.project, prompt="@mara walks to the @old-harbour. @Mara stops, mail me at a@mara.com")
    assert out.prompt == (
        "Mara (the keeper: 60s, grey braid) walks to the the old harbour (stone quay, rusted cranes). "
        "Mara stops, mail me at a@mara.com"
    )
    assert out.tags == ["mara", "old-harbour"]
    assert [tag for tag, _ in out.reference_media] == ["mara"]


def test_style_is_applied_to_visual_requests_only(bible):
    bible.project.style_prompt = "Shot on 35mm, @noir grade"
    bible.project.save(update_fields=["style_prompt"])
    out = expand_prompt(project=bible.project, prompt="@mara waits")
    assert out.prompt == "Mara (the keeper: 60s, grey braid) waits. Shot on 35mm, noir grade"
    assert out.style_applied
    spoken = expand_prompt(project=bible.project, prompt="@mara says hello", audio=True)
    assert spoken.prompt == "Mara says hello" and not spoken.style_applied


def test_unknown_tags_are_named(bible):
    with pytest.raises(ValidationError) as refused:
        expand_prompt(project=bible.project, prompt="@mara meets @ghost and @ghoul", references=["@nobody"])
    assert "@ghost" in refused.value.detail and "@ghoul" in refused.value.detail and "@nobody" in refused.value.detail
    assert set(refused.value.fields) == {"prompt", "references"}


def test_references_reach_backends_that_accept_them(bible, keyed, fake):
    from apps.media import storage

    image = MediaFile.objects.get(storage_key="refs/mara.png")
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".png") as fh:
        fh.write(b"\x89PNG\r\n\x1a\nfake")
        fh.flush()
        image.storage_key = storage.store_path("refs/mara.png", fh.name)
    image.save(update_fields=["storage_key"])
    job, takes = generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="@mara on the pier",
                          duration_frames=96)
    prov = takes[0].provenance
    assert prov["prompt"] == "Mara (the keeper: 60s, grey braid) on the pier"
    assert prov["original_prompt"] == "@mara on the pier"
    assert prov["references"] == ["@mara"] and prov["reference_media"] == [str(image.pk)]
    drive(job.pk)
    sent = fake.calls[0].json()
    assert sent["prompt"] == prov["prompt"] and sent["references"] == ["mara"]


def test_the_shots_references_are_used_by_default(bible, keyed, fake):
    keyed.shot.references.set(Reference.objects.filter(tag="old-harbour"))
    _, takes = generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="dawn", duration_frames=96)
    assert takes[0].provenance["references"] == ["@old-harbour"]
    _, takes = generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="dawn", duration_frames=96,
                        references=[])
    assert takes[0].provenance["references"] == []
