"""The proxy handler's answers from a user's own JupyterLab settings (``PersonalSettings``).

A space's ``lab/api/settings`` requests are answered by the domain from the user's one
set of settings (``domain/personal_settings.py``), not forwarded; what the space's image
does not describe still goes to the space.
"""

from __future__ import annotations

import json

from ...errors import BadRequest, TooLarge
from .. import personal_settings
from . import tornado_compat
from .state import Target

__all__ = ["PersonalSettings"]


class PersonalSettings:
    """A mixin of ``SpaceProxyHandler``: ``_personal_settings`` in ``prepare``, the body
    of a PUT gathered by ``data_received``, saved by ``_save_settings``."""

    _settings: tuple | None = None  # a PUT of the user's own settings, served here

    async def _personal_settings(self, t: Target) -> bool:
        """Answer a space's ``lab/api/settings`` request from the user's one set of
        settings (see ``personal_settings``); False: the space answers it."""
        method = self.request.method
        match = personal_settings.SETTINGS_PATH.match(self.path_kwargs["path"])
        if match is None or method not in ("GET", "PUT") or not self.domain.lab_dir:
            return False
        image = self.domain.catalog.images.get(t.image or "")
        dirs = await personal_settings.lab_dirs(image.python) if image is not None else None
        if dirs is None:
            return False
        schema = match.group("schema") or ""
        if method == "PUT" and not schema:
            return False
        settings_dir = personal_settings.user_settings_dir(self.domain.lab_dir, self.current_user.id)
        ids_only = self.get_argument("ids_only", "") == "true"
        found = await self.domain.run(personal_settings.composed.read, dirs, settings_dir, schema, ids_only)
        if found is None:
            return False  # not in the image: an extension of the space's own
        if method == "PUT":
            self._settings = (dirs, settings_dir, schema, bytearray())  # saved once the body is in
            return True
        tornado_compat.drop_headers(self)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(found))
        return True

    async def _save_settings(self) -> None:
        dirs, settings_dir, schema, body = self._settings
        if len(body) > personal_settings.MAX_SETTINGS:
            return self._refuse(TooLarge("Settings of more than 1 MiB are refused."))
        problem = await self.domain.run(personal_settings.write, dirs, settings_dir, schema, bytes(body))
        if problem is not None:
            return self._refuse(BadRequest(problem, reason="settings"))
        tornado_compat.drop_headers(self)
        self.set_status(204)
        self.finish()

    def _gather_settings(self, chunk: bytes) -> None:
        body = self._settings[3]
        if len(body) <= personal_settings.MAX_SETTINGS:
            body += chunk
