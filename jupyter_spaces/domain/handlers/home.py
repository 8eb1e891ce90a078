"""The spaces home is JupyterLab on the domain (``<base_url>lab``), where the
labextension opens the Spaces panel; ``spaces/home`` stays as a stable address for it."""

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web


class HomeHandler(JupyterHandler):
    auth_resource = "spaces"

    @web.authenticated
    def get(self):
        self.redirect(url_path_join(self.base_url, "lab"))


def domain_page_config(handler, page_config: dict) -> dict:
    """Tell the frontend it runs in the domain (not in a space), so it opens the home."""
    page_config["spacesContext"] = "domain"
    return page_config
