"""The bench's knobs, each bounded, each refusal saying what is allowed."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.conf import settings

from patterns.engine import PATTERNS, Workload
from patterns.stampede import PROTECTIONS, Stampede


def _bounded(kind: type[forms.Field], label: str, low, high, unit: str = "", **extra):
    """A number field whose min/max messages name the bound and the unit."""
    shown = f" {unit}" if unit else ""
    extra.setdefault("help_text", f"{low} to {high}{shown}.")
    return kind(
        label=label,
        min_value=low,
        max_value=high,
        error_messages={
            "min_value": f"{label} must be at least {low}{shown}.",
            "max_value": f"{label} may be at most {high}{shown}.",
            "required": f"Give {label.lower()}.",
            "invalid": f"{label} must be a number.",
        },
        **extra,
    )


class BenchForm(forms.Form):
    """Knobs every run has; bounds that depend on settings are set per instance."""

    seconds = forms.FloatField()
    db_latency_ms = _bounded(forms.FloatField, "Database latency", 0, 500, "ms")
    ttl = _bounded(
        forms.FloatField, "TTL", 0.1, 3600, "s", help_text="Seconds; for the TTL patterns."
    )
    jitter = _bounded(
        forms.FloatField,
        "TTL jitter",
        0,
        3600,
        "s",
        help_text="Up to this many seconds added at random to each TTL.",
    )
    seed = _bounded(forms.IntegerField, "Seed", 0, 2**31 - 1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        most = settings.PATTERNS_MAX_SECONDS
        self.fields["seconds"] = _bounded(forms.FloatField, "Run length", 0.5, most, "s")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("jitter", 0) > data.get("ttl", 3600):
            self.add_error("jitter", "TTL jitter may be at most the TTL itself.")
        return data


class PatternForm(BenchForm):
    pattern = forms.ChoiceField(
        label="Pattern",
        choices=list(PATTERNS.items()),
        error_messages={"invalid_choice": "Choose one of the six patterns."},
    )
    keys = forms.IntegerField()
    read_ratio = _bounded(
        forms.FloatField, "Share of reads", 0, 1, help_text="0 to 1: 0.9 is nine reads in ten."
    )
    skew = _bounded(
        forms.FloatField,
        "Key popularity skew",
        0,
        3,
        help_text="0 picks keys uniformly; 1 is Zipf (a few keys are most of the reads).",
    )
    field_order = ["pattern", "keys", "read_ratio", "skew", "ttl", "jitter", "db_latency_ms"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        most = settings.PATTERNS_MAX_KEYS
        self.fields["keys"] = _bounded(forms.IntegerField, "Number of keys", 1, most)

    def workload(self) -> Workload:
        return Workload(**{f: self.cleaned_data[f] for f in Workload.__dataclass_fields__})


class StampedeForm(BenchForm):
    protection = forms.ChoiceField(
        label="Protection",
        choices=list(PROTECTIONS.items()),
        error_messages={"invalid_choice": "Choose none, jitter, lock or early."},
    )
    keys = _bounded(forms.IntegerField, "Hot keys", 1, 50)
    readers = forms.IntegerField()
    field_order = ["protection", "keys", "readers", "ttl", "jitter", "db_latency_ms"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        most = settings.PATTERNS_MAX_READERS
        self.fields["readers"] = _bounded(forms.IntegerField, "Concurrent readers", 1, most)

    def demo(self) -> Stampede:
        return Stampede(**{f: self.cleaned_data[f] for f in Stampede.__dataclass_fields__})


PATTERN_DEFAULTS = {
    "pattern": "lazy",
    "keys": 100,
    "read_ratio": 0.9,
    "skew": 1.0,
    "ttl": 2,
    "jitter": 0,
    "db_latency_ms": 5,
    "seconds": 5,
    "seed": 1,
}
STAMPEDE_DEFAULTS = {
    "protection": "none",
    "keys": 1,
    "readers": 8,
    "ttl": 1,
    "jitter": 0,
    "db_latency_ms": 50,
    "seconds": 4,
    "seed": 1,
}


def form_for(
    kind: str, data: dict | None, initial: dict | None = None
) -> PatternForm | StampedeForm:
    """The form for a kind of run, missing knobs taken from the defaults."""
    form_class, defaults = (
        (StampedeForm, STAMPEDE_DEFAULTS) if kind == "stampede" else (PatternForm, PATTERN_DEFAULTS)
    )
    auto_id = f"{kind[0]}_%s"  # both forms share a page: keep their ids apart
    if data is None:
        return form_class(initial=initial or defaults, auto_id=auto_id)
    merged = {**defaults, **{k: v for k, v in data.items() if v not in ("", None)}}
    return form_class(merged, auto_id=auto_id)


def prefilled(kind: str, query: Mapping[str, str]) -> PatternForm | StampedeForm:
    """An unbound form whose knobs come from a link's query string (a lab's link
    to its workload): each knob valid on its own is taken, the rest stay default."""
    defaults = STAMPEDE_DEFAULTS if kind == "stampede" else PATTERN_DEFAULTS
    given = {k: str(query[k]) for k in defaults if query.get(k) not in (None, "")}
    check = form_for(kind, given)
    check.is_valid()
    initial = {k: given.get(k, v) if k not in check.errors else v for k, v in defaults.items()}
    return form_for(kind, None, initial)
