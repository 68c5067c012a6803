"""The built wheel works on its own: installed into a fresh venv, run outside the source tree, the
workbench finds its packaged notebooks and templates and renders a post-mortem.

To stay fast the fresh venv installs the wheel with ``--no-deps`` and reaches the dependencies through a
``.pth`` file naming this interpreter's site-packages. That folder's own ``.pth`` files (the project's
editable finder among them) are not processed from there, so the only ``workbench`` the venv can import is
the wheel's; the test checks that before running anything.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "pyproject.toml",
    "README.md",
    "register",
    "analysis",
    "workbench",
    "notebooks",
    "report_templates",
)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", ".ipynb_checkpoints")


def _run(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _build_wheel(tmp_path: Path, env: dict[str, str]) -> Path:
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info next to pyproject.toml
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=IGNORED)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        cwd=tmp_path,
        env=env,
    )
    (wheel,) = dist.glob("*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path, env: dict[str, str]) -> Path:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=tmp_path,
        env=env,
    )
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib.stdout.strip(), "zz_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], cwd=tmp_path, env=env)
    _run(
        [str(python), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "python3"],
        cwd=tmp_path,
        env=env,
    )
    return venv


@pytest.mark.slow
def test_wheel_runs_an_investigation_and_post_mortem_outside_the_source_tree(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    wheel = _build_wheel(tmp_path, env)
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "workbench/notebooks/drift.ipynb",
        "workbench/notebooks/investigate.ipynb",
        "workbench/notebooks/trends.ipynb",
        "workbench/report_templates/dashboard/blocks.html.j2",
        "workbench/report_templates/dashboard/dashboard.css",
        "analysis/sections/drift.py",
        "workbench/report/_html.py",
        "workbench/report_templates/postmortem/index.html.j2",
        "workbench/report_templates/parts/summary.html.j2",
        "workbench/py.typed",
        "analysis/py.typed",
        "register/py.typed",
    ):
        assert shipped in names, shipped

    venv = _fresh_venv(tmp_path, wheel, env)
    elsewhere = tmp_path / "elsewhere"  # neither the source tree nor its copy
    elsewhere.mkdir()
    # The venv's Jupyter data first: papermill's python3 kernel must be the fresh venv's python. Then the
    # dependencies' data (nbconvert's base templates), which a full install would have put in the venv.
    jupyter_path = [venv / "share" / "jupyter", Path(sys.prefix) / "share" / "jupyter"]
    env |= {
        "JUPYTER_PATH": os.pathsep.join(map(str, jupyter_path)),
        "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
    }
    python = str(venv / "bin" / "python")

    def run(*args: str) -> str:
        return _run(list(args), cwd=elsewhere, env=env).stdout

    def workbench(*args: str) -> str:
        return run(str(venv / "bin" / "workbench"), *args)

    code = (
        "import json, workbench.resources as r; "
        "print(json.dumps([r.__file__, str(r.notebooks_dir()), str(r.templates_dir())]))"
    )
    for path in json.loads(run(python, "-c", code)):
        assert Path(path).is_relative_to(venv), path
    code = "import json, jupyter_client as j; print(json.dumps(j.kernelspec.get_kernel_spec('python3').argv))"
    assert json.loads(run(python, "-c", code))[0] == python

    workbench("scenario", "generate", "--out", "scenario", "--rows-per-day", "100")
    truth = json.loads((elsewhere / "scenario" / "ground_truth.json").read_text(encoding="utf-8"))
    incident_id = next(s["incident_id"] for s in truth["scenarios"] if s["kind"] == "covariate_drift")
    register, as_of, reports = (
        ("--register", "register.sqlite"),
        ("--as-of", truth["as_of"]),
        ("--reports-dir", "reports"),
    )
    workbench("register", "init", *register)
    workbench("register", "import", "scenario/register", *register)
    title = json.loads(workbench("register", "show", incident_id, "--json", *register))["incident"]["title"]
    workbench("investigate", incident_id, *register, *as_of, *reports)
    rendered = workbench("postmortem", incident_id, *register, *as_of, *reports, "--format", "html")
    report = elsewhere / rendered.split("html:", 1)[1].split()[0]  # an absolute path stays absolute
    text = report.read_text(encoding="utf-8")
    assert incident_id in text
    assert html.escape(title) in text
    # the cross-incident run too: the packaged trends notebook and dashboard templates
    printed = workbench("trends", *register, *as_of, "--out", "reports")
    dashboard = elsewhere / printed.split("html:", 1)[1].split()[0]
    assert "Governance trend dashboard" in dashboard.read_text(encoding="utf-8")
