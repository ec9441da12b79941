"""Load the shipped labs (learn/content/labs/<slug>.toml) into the database."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from labs.definition import CheckDef, LabDef, StepDef, lines
from labs.models import Check, Lab, Step
from learn.checks import CheckSpec
from learn.content_loader import ContentError
from learn.models import Topic


def lab_files(content_dir: Path | None = None) -> list[Path]:
    return sorted(((content_dir or settings.CONTENT_DIR) / "labs").glob("*.toml"))


def _step(raw: dict[str, Any]) -> StepDef:
    checks = []
    for item in raw.get("checks", []):
        item = dict(item)
        hint = str(item.pop("hint", ""))
        checks.append(CheckDef(CheckSpec.from_dict(item), hint))
    return StepDef(
        title=str(raw.get("title", "")),
        instructions=str(raw.get("instructions", "")),
        solution=lines(raw.get("solution")),
        setup=lines(raw.get("setup")),
        database=dict(raw.get("database", {})),
        checks=checks,
    )


def parse_lab_file(path: Path) -> LabDef:
    """Read and check one lab file; raise ContentError naming the file and step."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"{path.name}: {exc}") from exc
    meta = data.get("lab", {})
    for name in ("slug", "title", "topic", "intro"):
        if not str(meta.get(name, "")).strip():
            raise ContentError(f"{path.name}: [lab] needs {name}")
    lab = LabDef(
        slug=meta["slug"],
        title=meta["title"],
        topic=meta["topic"],
        intro=meta["intro"],
        version=int(meta.get("version", 1)),
        order=int(meta.get("order", 0)),
        database=dict(meta.get("database", {})),
        steps=[_step(raw) for raw in data.get("steps", [])],
    )
    errors = lab.structure_errors()
    if errors:
        raise ContentError(f"{path.name}: {' '.join(errors)}")
    return lab


def write_lab(lab: Lab, definition: LabDef) -> None:
    """Replace the lab's fields, steps and checks with the definition's."""
    lab.title, lab.intro = definition.title, definition.intro
    lab.order, lab.version, lab.database = definition.order, definition.version, definition.database
    lab.save()
    lab.steps.all().delete()
    for order, item in enumerate(definition.steps, start=1):
        step = Step.objects.create(
            lab=lab,
            order=order,
            title=item.title,
            instructions=item.instructions,
            solution="\n".join(item.solution),
            setup="\n".join(item.setup),
            database=item.database,
        )
        Check.objects.bulk_create(
            Check(
                step=step,
                order=i,
                kind=c.spec.kind,
                key=c.spec.key,
                fields=dict(c.spec.fields),
                hint=c.hint,
            )
            for i, c in enumerate(item.checks)
        )
    lab.loaded_fingerprint = lab.definition().fingerprint()
    lab.save(update_fields=["loaded_fingerprint"])


@transaction.atomic
def load_labs(*, force: bool = False, content_dir: Path | None = None) -> dict[str, list[str]]:
    """Create or refresh labs from their files; keep instructors' edits unless forced.

    A learner part-way through a lab whose version changes starts it again on
    their next command (their progress records the version it was made with).
    """
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "kept": []}
    for path in lab_files(content_dir):
        definition = parse_lab_file(path)
        topic = Topic.objects.filter(slug=definition.topic).first()
        if topic is None:
            raise ContentError(f"{path.name}: no topic with slug {definition.topic!r}")
        lab = Lab.objects.filter(slug=definition.slug).first()
        if lab is None:
            lab, status = Lab(slug=definition.slug, topic=topic, published=True), "created"
        else:
            current = lab.definition()
            if lab.loaded_fingerprint != current.fingerprint() and not force:
                outcome["kept"].append(lab.slug)
                continue
            same = current.fingerprint() == definition.fingerprint() and lab.topic_id == topic.pk
            if same:
                outcome["unchanged"].append(lab.slug)
                continue
            status = "updated"
        lab.topic = topic
        write_lab(lab, definition)
        outcome[status].append(lab.slug)
    return outcome
