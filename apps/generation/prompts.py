"""Prompt expansion: ``@tag`` references from the style bible, and the project's style.

"@mara walks to the @old-harbour" with the bible entries

    @mara         name "Mara", text "the keeper: 60s, grey braid, oilskin coat"
    @old-harbour  name "the old harbour", text "stone quay, rusted cranes"

becomes "Mara (the keeper: 60s, grey braid, oilskin coat) walks to the old harbour (stone
quay, rusted cranes)". A tag's description is written out the first time it appears; later
mentions use the name alone. The project's ``style_prompt`` (which may itself use tags) is
added to every visual request. Audio requests (speech, sound, music) get neither the style
nor descriptions in brackets: their text is spoken or described literally (tags are replaced
by names).

Reference images of every tag used (in the prompt, the style, or the ``references`` list) are
collected for backends that accept reference images (``Backend.accepts_references``).
An unknown tag is a 400 naming it: nothing is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apps.core.errors import ValidationError

# "@tag" not preceded by a word character (so e-mail addresses are left alone). Tags are
# lower-case slugs (see apps.projects.services._clean_tag); trailing - and _ are punctuation.
TAG_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_-]{0,63})")


@dataclass
class ExpandedPrompt:
    prompt: str  # as sent to the backend
    original: str  # as the artist wrote it
    tags: list[str] = field(default_factory=list)  # every tag used, in order of first use
    reference_media: list[tuple[str, object]] = field(default_factory=list)  # (tag, MediaFile)
    style_applied: bool = False


def _tags_in(text: str) -> list[str]:
    out: list[str] = []
    for match in TAG_RE.finditer(text or ""):
        tag = match.group(1).rstrip("-_").lower()
        if tag and tag not in out:
            out.append(tag)
    return out


def _describe(ref) -> tuple[str, str]:
    name = (ref.name or "").strip() or ref.tag.replace("-", " ").replace("_", " ")
    text = " ".join((ref.text or "").split())
    return name, text


def _join_style(prompt: str, style: str) -> str:
    prompt, style = prompt.strip(), style.strip()
    if not style:
        return prompt
    if not prompt:
        return style
    sep = " " if prompt[-1] in ".!?;:" else ". "
    return f"{prompt}{sep}{style}"


def expand_prompt(
    *,
    project,
    prompt: str,
    references: list[str] | None = None,
    audio: bool = False,
    with_images: bool = True,
) -> ExpandedPrompt:
    """Expand ``@tags`` and apply the style (see the module docstring)."""
    from apps.projects.models import Reference

    original = prompt or ""
    style = "" if audio else (project.style_prompt or "")
    wanted = _tags_in(original) + [t for t in _tags_in(style) if t not in _tags_in(original)]
    listed: list[str] = []
    for raw in references or []:
        tag = str(raw).strip().lstrip("@").lower()
        if tag and tag not in listed:
            listed.append(tag)
    all_tags = wanted + [t for t in listed if t not in wanted]
    found = {r.tag: r for r in Reference.objects.filter(project=project, tag__in=all_tags)} if all_tags else {}

    unknown_in_prompt = [t for t in _tags_in(original) if t not in found]
    unknown_in_style = [t for t in _tags_in(style) if t not in found]
    unknown_listed = [t for t in listed if t not in found]
    if unknown_in_prompt or unknown_in_style or unknown_listed:
        fields: dict[str, list[str]] = {}
        names = []
        if unknown_in_prompt:
            fields["prompt"] = [f"Unknown reference @{t}." for t in unknown_in_prompt]
            names += unknown_in_prompt
        if unknown_listed:
            fields["references"] = [f"Unknown reference @{t}." for t in unknown_listed]
            names += [t for t in unknown_listed if t not in names]
        if unknown_in_style:
            fields["style_prompt"] = [f"Unknown reference @{t} in the project's style." for t in unknown_in_style]
            names += [t for t in unknown_in_style if t not in names]
        listing = ", ".join("@" + t for t in names)
        noun = "reference" if len(names) == 1 else "references"
        raise ValidationError(
            f"The style bible has no {listing}: add the {noun} to the style bible or remove {'it' if len(names) == 1 else 'them'} from the prompt.",
            fields=fields,
        )

    described: set[str] = set()

    def substitute(match: re.Match) -> str:
        raw = match.group(1)
        tag = raw.rstrip("-_").lower()
        trailing = raw[len(raw.rstrip("-_")):]
        ref = found[tag]
        name, text = _describe(ref)
        if audio or tag in described or not text:
            described.add(tag)
            return name + trailing
        described.add(tag)
        return f"{name} ({text}){trailing}"

    expanded = TAG_RE.sub(substitute, original)
    style_expanded = TAG_RE.sub(substitute, style) if style else ""
    final = _join_style(expanded, style_expanded) if style_expanded else expanded.strip()

    media: list[tuple[str, object]] = []
    if with_images:
        seen: set = set()
        for tag in all_tags:
            for image in found[tag].images.all().order_by("created_at"):
                if image.pk in seen:
                    continue
                seen.add(image.pk)
                media.append((tag, image))
    return ExpandedPrompt(
        prompt=final, original=original, tags=all_tags, reference_media=media, style_applied=bool(style_expanded)
    )
