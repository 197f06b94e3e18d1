"""Agents, one module per stage. ``register_all`` wires every stage onto an app."""

from __future__ import annotations

from streams.agents import embed
from streams.app import StageContext

STAGES = (embed,)


def register_all(ctx: StageContext) -> None:
    for stage in STAGES:
        stage.register(ctx)
