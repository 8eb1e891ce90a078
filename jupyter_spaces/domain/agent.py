"""The space agent the domain has each space server load, named for the launcher
(:class:`~jupyter_spaces.launchers.base.AgentSpec`): the domain signs what the agent
verifies, so the domain says which agent that is, and no launcher hard-codes it."""

from __future__ import annotations

from ..launchers.base import AgentSpec

#: the agent's jupyter_server extension and its traitlets app (jupyter_spaces.space.app)
AGENT_EXTENSION = "jupyter_spaces.space"
AGENT_APP = "SpaceAgentApp"


def space_agent(space: str) -> AgentSpec:
    """The agent of ``space``'s server."""
    return AgentSpec(
        extension=AGENT_EXTENSION,
        settings={f"{AGENT_APP}.space_name": space},
        secret_fd_setting=f"{AGENT_APP}.secret_fd",
        identity_route="api/spaces-agent/identity",  # jupyter_spaces.space.whoami
        soft_quota_setting="SpaceContentsManager.volume_quota_bytes",  # jupyter_spaces.space.contents
        # the domain's own extension, should the image's config enable it
        disabled_extensions=("jupyter_spaces",),
        features={"jupyter_spaces.collab": "collaboration"},
    )
