"""Agents, one module per stage. ``register_all`` wires the configured stages onto an app."""

from __future__ import annotations

from types import ModuleType

from streams.agents import dedup, embed, poll, route
from streams.app import StageContext

STAGES: dict[str, ModuleType] = {"poll": poll, "embed": embed, "dedup": dedup, "route": route}


def register_all(ctx: StageContext) -> None:
    for name in ctx.config.worker.stages:
        STAGES[name].register(ctx)
