"""What every detector kind shares: its YAML fields and the finding it returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from monitor.durations import Duration


class Severity(enum.StrEnum):
    """Alert severity; ``rank`` orders them so routes can say "high and above"."""

    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class DetectorSpec(BaseModel):
    """Fields every detector accepts in YAML, whatever its kind."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="Unique detector id.")
    kind: str = Field(description="Detector kind, a key of the registry.")
    description: str = Field("", description="What this detector watches for, for people.")
    severity: Severity = Field(Severity.medium, description="Alert severity.")
    cooldown: Duration = Field(0.0, description="Minimum time between alerts of one group.")
    labels: tuple[str, ...] = Field((), description="Free labels carried by alerts; routes select on them.")
    enabled: bool = Field(True, description="A disabled detector is validated but never evaluated.")


@dataclass(frozen=True)
class ArticleText:
    """The text fields a detector may look at, already extracted from the article."""

    title: str = ""
    summary: str = ""
    content: str = ""

    def field(self, name: str) -> str:
        return str(getattr(self, name))


@dataclass(frozen=True)
class Finding:
    """A detector fired: what matched and why, for the alert's evidence."""

    detector_id: str
    dedupe_key: str
    evidence: dict[str, Any] = field(default_factory=dict)
