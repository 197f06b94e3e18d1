"""The least Kafka rights each kind of Wirewatch client needs, as ACLs and as ``kafka-acls.sh`` commands.

On a cluster that enforces ACLs (``StandardAuthorizer``, nothing allowed that
no ACL allows), a deployment needs two kinds of principal:

* ``worker``: every ``wirewatch`` command of the deployment (``run``,
  ``topics ensure``, ``feeds sync``, ``replay``, ``detectors apply``). It
  reads, writes, creates and describes the topics under ``kafka.topic_prefix``
  and Faust's own under the app id (``<app_id>-...-changelog``), and joins the
  consumer group named by the app id.
* ``subscriber``: someone who reads alerts (``wirewatch alerts tail``, or any
  Kafka client): read and describe the ``alerts`` topic and its routes'
  (``alerts.<route>``), and, for a client that commits offsets, its own group.
  Nothing else: it cannot write alerts, read articles or apply detectors.

``wirewatch topics acls`` prints the commands for a configuration; the
integration tests run exactly these commands against a secured broker.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from monitor.config import WirewatchConfig

Role = Literal["worker", "subscriber"]
ROLES: tuple[Role, ...] = ("worker", "subscriber")


@dataclass(frozen=True)
class AclGrant:
    """Operations allowed to a principal on the resources whose names start with (or equal) ``name``."""

    resource: Literal["topic", "group"]
    name: str
    pattern: Literal["prefixed", "literal"]
    operations: tuple[str, ...]
    why: str

    def arguments(self, principal: str) -> list[str]:
        """``kafka-acls.sh`` arguments that add this grant (after the connection options)."""
        args = ["--add", "--allow-principal", principal]
        for operation in self.operations:
            args += ["--operation", operation]
        return [*args, f"--{self.resource}", self.name, "--resource-pattern-type", self.pattern]


def grants(config: WirewatchConfig, role: Role, group: str | None = None) -> list[AclGrant]:
    """What ``role`` needs for this configuration (``group``: a subscriber's consumer group, if any)."""
    prefix = config.kafka.topic_prefix
    app_id = config.worker.app_id
    if role == "worker":
        topic_rights = ("Read", "Write", "Create", "Describe", "DescribeConfigs")
        return [
            AclGrant("topic", prefix, "prefixed", topic_rights, "our topics: feeds, articles, alerts..."),
            AclGrant("topic", f"{app_id}-", "prefixed", topic_rights, "Faust's changelog topics"),
            AclGrant("group", app_id, "prefixed", ("Read", "Describe"), "the worker's consumer group"),
        ]
    subscriber = [
        AclGrant(
            "topic",
            f"{prefix}alerts",
            "prefixed",
            ("Read", "Describe"),
            "the alerts topic and its routes' (alerts.<route>)",
        )
    ]
    if group:
        subscriber.append(AclGrant("group", group, "literal", ("Read",), "the subscriber's own group"))
    return subscriber


def commands(
    config: WirewatchConfig,
    role: Role,
    principal: str,
    *,
    bootstrap: str,
    command_config: str = "admin.properties",
    group: str | None = None,
) -> list[str]:
    """``kafka-acls.sh`` command lines granting ``role`` to ``principal`` (run them as an admin)."""
    connection = ["kafka-acls.sh", "--bootstrap-server", bootstrap, "--command-config", command_config]
    return [shlex.join([*connection, *grant.arguments(principal)]) for grant in grants(config, role, group)]
