"""``<base_url>favicon.ico`` and ``<base_url>robots.txt`` on a server not at "/".

jupyter_server routes both to a ``PublicStaticFileHandler`` that it registers without
a directory: under any base_url but "/" (every space's) that handler cannot be made,
and the request ends in a dropped connection. tornado's own rules serve the two files
only at the host's root. This rule, which our extensions add ahead of jupyter_server's
own, serves them from the same directories as tornado's (there is no robots.txt: 404).
"""

from __future__ import annotations

from jupyter_server.base.handlers import FileFindHandler

PATTERN = r"/(favicon\.ico|robots\.txt)"


def handlers(web_app) -> list[tuple]:
    static = web_app.settings["static_path"]
    return [(PATTERN, FileFindHandler, {"path": static if isinstance(static, list) else [static]})]
