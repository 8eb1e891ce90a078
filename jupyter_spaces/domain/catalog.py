"""What a space can be made of: instance types, images and app types."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from .. import apps
from ..launchers.base import Capability, Image, InstanceType

DEFAULT_INSTANCE_TYPES = [
    {"name": "small", "display_name": "Small (1 CPU, 2 GB)", "cpus": 1, "memory_gb": 2, "max_processes": 256},
    {"name": "medium", "display_name": "Medium (2 CPU, 4 GB)", "cpus": 2, "memory_gb": 4, "max_processes": 512},
    {"name": "large", "display_name": "Large (4 CPU, 16 GB)", "cpus": 4, "memory_gb": 16, "max_processes": 1024},
]  # fmt: skip

DEFAULT_IMAGES = [
    {
        "name": "default",
        "display_name": f"Python {sys.version_info.major}.{sys.version_info.minor}",
        "description": "The Python environment the domain runs in, with JupyterLab.",
        "python": sys.executable,
    }
]

# what each app is comes from its description (jupyter_spaces/apps.py), not from here
APP_TYPES = {name: app.display_name for name, app in apps.APPS.items()}


# (available, reason) for an app type; the launcher knows, the catalogue asks.
Availability = Callable[[str], "tuple[bool, str]"]
# (available, reason) for an image: the launcher tries it (slow the first time, then cached).
ImageCheck = Callable[[Image], Awaitable["tuple[bool, str]"]]


def _jupyterlab_only(app_type: str) -> tuple[bool, str]:
    if app_type == "jupyterlab":
        return True, ""
    return False, apps.APPS[app_type].unavailable or f"{APP_TYPES[app_type]} is not supported by this domain's launcher yet."


class Catalog:
    def __init__(
        self,
        instance_types: list[dict],
        images: list[dict],
        availability: Availability = _jupyterlab_only,
        capabilities: list[Capability] = (),
    ):
        self.instance_types = {d["name"]: InstanceType(**d) for d in instance_types}
        self.images = {d["name"]: Image(**d) for d in images}
        self.availability = availability
        # What the launcher cannot enforce on this host, said next to every instance type.
        self.missing = [c for c in capabilities if not c.available]
        if not self.instance_types or not self.images:
            raise ValueError("A domain needs at least one instance type and one image.")

    @property
    def default_instance_type(self) -> str:
        return next(iter(self.instance_types))

    @property
    def default_image(self) -> str:
        return next(iter(self.images))

    def instance_types_json(self) -> list[dict]:
        limits = [c for c in self.missing if c.name in ("memory limit", "cpu limit", "process limit")]
        reason = "; ".join(f"{c.name} not enforced: {c.reason}" for c in limits)
        return [{**asdict(t), "available": True, "reason": reason} for t in self.instance_types.values()]

    async def images_json(self, check: ImageCheck) -> list[dict]:
        results = await asyncio.gather(*(check(i) for i in self.images.values()))
        return [
            {"name": i.name, "display_name": i.display_name, "description": i.description,
             "available": available, "reason": reason}
            for i, (available, reason) in zip(self.images.values(), results)
        ]  # fmt: skip

    def app_types_json(self) -> list[dict]:
        items = []
        for name in APP_TYPES:
            available, reason = self.availability(name)
            if available and self.missing:
                reason = "; ".join(f"no {c.name}: {c.reason}" for c in self.missing if c.name != "network isolation")
            items.append({**apps.APPS[name].to_json(), "available": available, "reason": reason})
        return items
