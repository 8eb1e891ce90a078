"""The page a browser lands on after login: the caller's spaces.

Server-rendered and small; the JupyterLab frontend (labextension/) grows the full
spaces home on the same REST API.
"""

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.escape import xhtml_escape as esc

from ..auth import SETTINGS_KEY
from ..schemas import SpaceQuery

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Spaces · Jupyter Spaces</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse}}td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}
.avatar{{display:inline-block;width:1.8rem;height:1.8rem;border-radius:50%;color:#fff;
text-align:center;line-height:1.8rem;font-size:.8rem;margin-right:.5rem}}</style></head><body>
<p><span class="avatar" style="background:{color}">{initials}</span>{display_name}
· <a href="{base}logout">Sign out</a></p>
<h1>Spaces</h1>
<table><thead><tr><th>Name</th><th>Sharing</th><th>App</th><th>Instance</th><th>Status</th><th>Owner</th></tr></thead>
<tbody>{rows}</tbody></table>
<p>API: <a href="{base}spaces/api/spaces">{base}spaces/api/</a></p>
</body></html>"""


class HomeHandler(JupyterHandler):
    auth_resource = "spaces"

    @web.authenticated
    @authorized
    async def get(self):
        domain = self.settings[SETTINGS_KEY]
        user = self.current_user
        page = await domain.run(domain.service.list_spaces, user.caller, SpaceQuery(limit=500))
        rows = "".join(
            "<tr>" + "".join(f"<td>{esc(str(s[k]))}</td>" for k in
                             ("display_name", "sharing", "app_type", "instance_type", "status", "owner"))
            + "</tr>"
            for s in page["items"]
        )
        self.finish(PAGE.format(
            color=esc(user.color), initials=esc(user.initials), display_name=esc(user.display_name),
            base=esc(self.base_url), rows=rows or '<tr><td colspan="6">No spaces yet.</td></tr>',
        ))
