"""The README opens with what the project is, then exactly two commands; CI runs the second."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_block_commands() -> list[str]:
    block = re.search(r"```[a-z]*\n(.*?)```", README, re.S).group(1)
    return [c for c in (line.split("#")[0].strip() for line in block.splitlines()) if c]


def make_dry_run(target: str) -> list[str]:
    # The Makefile's defaults, whatever the environment sets.
    # Not as a sub-make of `make test` (it would print "Entering directory" lines).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    # -B: every step, also those a previous run made (the demo's second image)
    out = subprocess.run(["make", "--no-print-directory", "-n", "-B", target, "PYTHON=python3", "PORT=8888"], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=30, env=env)
    return out.stdout.splitlines()


def test_readme_opens_with_the_project_then_two_commands():
    intro = README[: README.index("```")]
    assert intro.startswith("# jupyter-spaces\n")
    assert "spaces" in intro and "Jupyter" in intro and len(intro.split()) > 50, intro
    assert first_block_commands() == ["make demo", "make test"]


def test_the_first_command_installs_and_runs_the_demo_domain():
    assert make_dry_run("demo") == [
        "python3 -m pip install .",
        # the apps beside JupyterLab: code-server, MLflow (issue 14)
        "bash scripts/install-apps.sh",
        # a second image: a venv with a data-science set
        "python3 -m venv .demo/data-science",
        ".demo/data-science/bin/pip install . pandas matplotlib",
        "touch .demo/data-science/installed",
        "jupyter spaces --demo --ip 127.0.0.1 --port 8888 --config scripts/demo_config.py",
    ]


def test_the_second_installs_test_dependencies_and_runs_every_suite_and_ci_runs_it():
    steps = make_dry_run("test")
    assert steps[0] == "bash scripts/install-test-deps.sh"
    assert {"python3 -m pytest", "bash rstudio_addin/check.sh", "bash ui-tests/run.sh"} <= set(steps)
    assert any(s.startswith("cd labextension && jlpm test") for s in steps)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert ci.index("make test") < ci.index("make bench")


def test_the_demos_second_image_is_installed_anew_when_the_project_changed(tmp_path):
    """A stamp older than the project's sources makes `make demo` install it again (an
    image with an older jupyter-spaces was listed unavailable: its agent lacked a module)."""
    (tmp_path / "jupyter_spaces").mkdir()
    source = tmp_path / "jupyter_spaces" / "agent.py"
    for path in (tmp_path / "pyproject.toml", source):
        path.write_text("")
    stamp = tmp_path / ".demo" / "data-science" / "installed"
    stamp.parent.mkdir(parents=True)
    stamp.write_text("")
    os.utime(tmp_path / "pyproject.toml", (1_000_000, 1_000_000))
    os.utime(source, (1_000_000, 1_000_000))
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}

    def steps():
        out = subprocess.run(["make", "--no-print-directory", "-n", "-f", str(ROOT / "Makefile"),
                              ".demo/data-science/installed", "PYTHON=python3"], cwd=tmp_path,
                             capture_output=True, text=True, check=True, timeout=30, env=env)
        return out.stdout.splitlines()

    assert ".demo/data-science/bin/pip install . pandas matplotlib" not in steps()
    os.utime(source, None)  # changed after the image was installed
    assert ".demo/data-science/bin/pip install . pandas matplotlib" in steps()
