"""The apps' descriptions (jupyter_spaces/apps.py) are the one place that says what an
app is: the catalogue, the request schema and the CLI offer exactly those apps."""

from __future__ import annotations

import typing

import pytest

from jupyter_spaces import apps
from jupyter_spaces.domain import catalog, schemas


def test_schema_and_catalog_offer_exactly_the_described_apps():
    assert set(typing.get_args(schemas.AppType)) == set(apps.APPS)
    assert list(catalog.APP_TYPES) == list(apps.APPS)


def test_catalog_lists_each_app_with_its_description_and_rstudio_unavailable_with_its_reason():
    c = catalog.Catalog(catalog.DEFAULT_INSTANCE_TYPES, catalog.DEFAULT_IMAGES)
    items = {i["name"]: i for i in c.app_types_json()}
    assert items["jupyterlab"]["available"] is True
    assert items["code-editor"]["viewers"] == "refused"
    assert "read-only mode" in items["code-editor"]["viewer_reason"]
    assert (
        items["mlflow"]["opens_in"] == "tab"
        and items["jupyterlab"]["opens_in"] == "jupyterlab"
    )
    # what the app is, not whether this domain runs it behind the gate: RStudio has
    # no command here, and is still an app of its own, opened in a tab
    assert items["rstudio"]["opens_in"] == items["code-editor"]["opens_in"] == "tab"
    assert items["rstudio"]["available"] is False
    assert "package registries" in items["rstudio"]["reason"]


@pytest.mark.parametrize(
    ("app", "target", "expected"),
    [
        (
            apps.CODE_EDITOR,
            "/spaces/s/static/x.js?v=1",
            "/static/x.js?v=1",
        ),  # code-server serves at /
        (apps.CODE_EDITOR, "/spaces/s/", "/"),
        (
            apps.MLFLOW,
            "/spaces/s/ajax-api/2.0/x",
            "/spaces/s/ajax-api/2.0/x",
        ),  # --static-prefix: kept
        (
            apps.CODE_EDITOR,
            "/spaces/other/",
            None,
        ),  # another space's path never reaches this app
    ],
)
def test_the_prefix_rule_of_each_app(app, target, expected):
    assert app.app_path(target, "/spaces/s/") == expected


def test_viewer_rules():
    # paths relative to the space's URL
    assert not apps.CODE_EDITOR.viewer_may("GET", "")  # no read-only mode to rely on
    assert apps.MLFLOW.viewer_may("GET", "")
    assert apps.MLFLOW.viewer_may("POST", "ajax-api/2.0/mlflow/runs/search")
    assert apps.MLFLOW.viewer_may("POST", "api/2.0/mlflow/runs/search?x=1")
    assert not apps.MLFLOW.viewer_may("POST", "ajax-api/2.0/mlflow/runs/create")
    assert not apps.MLFLOW.viewer_may("DELETE", "ajax-api/2.0/mlflow/experiments/delete")
    # a write whose path only ends like a read, or reaches one by another spelling
    for path in (
        "ajax-api/2.0/mlflow-artifacts/mpu/create/x/2.0/mlflow/runs/search",
        "ajax-api/2.0/mlflow/runs/search/../create",
        "./ajax-api/2.0/mlflow/runs/search",
        "ajax-api/2.0/mlflow/runs/%73earch",
    ):
        assert not apps.MLFLOW.viewer_may("POST", path), path


def test_unknown_app_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown app type 'emacs'"):
        apps.get("emacs")
