"""The proxy's own pages, for a browser asking for a space it cannot open: not found,
or not running (with a Start button where starting would help, and a page that
reloads itself once the space runs). Templates are in ``templates/``; every value
put in them is escaped here."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from string import Template

from tornado.escape import xhtml_escape

__all__ = ["not_found_page", "not_running_message", "not_running_page"]

_TEMPLATES = Path(__file__).with_name("templates")
START_BUTTON = '<button id="start" type="button">Start space</button>'


@cache
def _template(name: str) -> Template:
    return Template((_TEMPLATES / name).read_text(encoding="utf-8").removesuffix("\n"))


@cache
def _style() -> str:
    """The look the proxy's pages share (templates/page.css)."""
    return (_TEMPLATES / "page.css").read_text(encoding="utf-8").strip()


def _script_value(value: str) -> str:
    """``value`` as a JavaScript literal that cannot end the script element."""
    return json.dumps(value).replace("<", "\\u003c")


def not_running_message(name: str, status: str) -> tuple[str, str]:
    """The title and message for space ``name``, ``status`` but not running."""
    if status in ("starting", "updating"):
        return "Space is starting", (
            f"Space {name} is {status}. This page opens it as soon as it is running."
        )
    if status == "stopping":
        return "Space is stopping", f"Space {name} is stopping. Start it again once it has stopped."
    if status == "failed":
        return "Space failed", f"Space {name} failed. Start it again, or look at its settings."
    if status == "deleting":
        return "Space is being deleted", f"Space {name} is being deleted."
    return "Space is stopped", f"Space {name} is {status}. Start it to open it; its files are kept."


def not_running_page(title: str, message: str, status: str, api: str, home: str, startable: bool) -> str:
    """The page of a space that is not running; ``api`` is the space's URL in the REST API."""
    return _template("not_running.html").substitute(
        style=_style(),
        title=xhtml_escape(title),
        message=xhtml_escape(message),
        button=START_BUTTON if startable else "",
        home=xhtml_escape(home),
        start_url=xhtml_escape(api + "/start"),
        status_json=_script_value(status),
        api_json=_script_value(api),
    )


def not_found_page(message: str, home: str) -> str:
    return _template("not_found.html").substitute(
        style=_style(), message=xhtml_escape(message), home=xhtml_escape(home)
    )
