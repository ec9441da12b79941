"""Django's side of lab environments: settings in, one lifecycle per site process.

The rest of the package is plain Python; this is the only module that reads
Django settings or the app Redis client.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings

from learn.redis_clients import app_redis

from .lifecycle import Lifecycle
from .local import LocalProvider
from .registry import Registry
from .settings import LabSettings, default_runtime_dir, parse_port_range


def lab_settings() -> LabSettings:
    return LabSettings(
        port_range=parse_port_range(settings.LAB_PORT_RANGE),
        runtime_dir=settings.LAB_RUNTIME_DIR or default_runtime_dir(),
        maxmemory=settings.LAB_NODE_MAXMEMORY,
        max_environments=settings.LAB_MAX_ENVIRONMENTS,
        idle_timeout=float(settings.LAB_IDLE_TIMEOUT),
        max_lifetime=float(settings.LAB_MAX_LIFETIME),
    )


@cache
def lifecycle() -> Lifecycle:
    """Built on first use; building it cleans up what a crashed site process left."""
    config = lab_settings()
    return Lifecycle(LocalProvider(config), Registry(app_redis()), config)


def sweep_environments() -> list[str]:
    """The body of a periodic `manage.py sweep_lab_environments`: stop what expired."""
    return lifecycle().sweep()
