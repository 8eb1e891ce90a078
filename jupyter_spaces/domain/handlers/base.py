"""The base of every domain API handler: identity, body/query parsing, one error shape."""

from __future__ import annotations

import json
from http.client import responses

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError
from tornado import web

from ...errors import BadRequest, Invalid, NotFound, SpacesError, TooLarge
from ..auth import SETTINGS_KEY
from ..policy import Caller
from ..schemas import MAX_BODY_BYTES
from ..validation import describe


# Query parameters that belong to Jupyter's authentication, not to the route.
AUTH_PARAMETERS = frozenset({"token", "_xsrf"})


class DomainHandler(APIHandler):
    auth_resource = "spaces"

    @property
    def domain(self):
        return self.settings[SETTINGS_KEY]

    @property
    def caller(self) -> Caller:
        return self.current_user.caller

    async def prepare(self):
        length = self.request.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise TooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB.")
        await super().prepare()

    async def call(self, fn, *args):
        """Run a (blocking) service call off the event loop."""
        return await self.domain.run(fn, *args)

    def body(self, model: type[BaseModel]) -> BaseModel:
        raw = self.request.body
        if len(raw) > MAX_BODY_BYTES:
            raise TooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB.")
        try:
            data = json.loads(raw.decode("utf-8") or "{}")
        except UnicodeDecodeError as e:
            raise BadRequest("The request body is not UTF-8.") from e
        except json.JSONDecodeError as e:
            raise BadRequest(f"The request body is not JSON: {e.msg}.") from e
        except RecursionError as e:
            raise BadRequest("The request body is nested too deeply.") from e
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise_invalid(e)

    def query(self, model: type[BaseModel]) -> BaseModel:
        args = {}
        for key in self.request.arguments:
            if key in AUTH_PARAMETERS:
                continue
            values = self.get_arguments(key, strip=False)
            if len(values) != 1:
                raise BadRequest(f"Query parameter {key!r} must be given once.")
            args[key] = values[0]
        try:
            return model.model_validate(args)
        except ValidationError as e:
            field, sentence = describe(e)
            raise BadRequest(f"Query parameter {field!r}: {sentence}", detail={"field": field}) from e

    def reply(self, obj, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(obj))

    def no_content(self) -> None:
        """204: deleted, nothing to say."""
        self.set_status(204)
        self.finish()

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SpacesError):
            self.set_status(exc.status)
            body = exc.to_json()
        else:
            message = responses.get(status_code, "Unknown error")
            if isinstance(exc, web.HTTPError) and exc.log_message:
                message = exc.log_message % exc.args if exc.args else exc.log_message
            reason = responses.get(status_code, "error").lower().replace(" ", "_")
            body = {"message": message, "reason": reason}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, SpacesError):
            self.log.info("%s %s -> %s %s", self.request.method, self.request.path, value.status, value.message)
        else:
            super().log_exception(typ, value, tb)


def raise_invalid(error: ValidationError):
    """422 with a sentence a form can show and the field it belongs next to."""
    field, sentence = describe(error)
    raise Invalid(sentence, detail={"field": field}) from error


class NotFoundHandler(DomainHandler):
    """Unknown routes under the API answer in the API's error shape."""

    @web.authenticated
    async def get(self, *args):
        raise NotFound("No such API route.")

    post = put = patch = delete = get
