"""Agents, one module per stage. ``register_all`` wires every stage onto an app."""

from __future__ import annotations

from streams.agents import embed, poll
from streams.app import StageContext

STAGES = (poll, embed)


def register_all(ctx: StageContext) -> None:
    for stage in STAGES:
        stage.register(ctx)
