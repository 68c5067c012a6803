"""Start-up cost of the CLI: importing ``workbench.cli`` loads none of the heavy libraries.

Each check runs in a fresh interpreter: this test process has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "ibis",
    "duckdb",
    "pyarrow",
    "papermill",
    "nbconvert",
    "plotly",
    "sklearn",
    "sqlalchemy",
    "analysis",
    "register",
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )


def test_importing_the_cli_loads_no_heavy_library() -> None:
    result = _run(
        f"""
        import json, sys
        import workbench.cli
        print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({list(HEAVY)!r}))))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_help_of_every_command_loads_no_heavy_library() -> None:
    result = _run(
        f"""
        import contextlib, io, json, sys
        from workbench.cli import main
        for args in (["--help"], ["register", "--help"], ["register", "show", "--help"],
                     ["investigate", "--help"], ["postmortem", "--help"], ["demo", "--help"]):
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(args) == 0, args
        print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({list(HEAVY)!r}))))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_analysis_error_is_one_line_and_exit_2_when_analysis_loads_late() -> None:
    # the error boundary finds AnalysisError in sys.modules once a command has imported it
    result = _run(
        """
        import sys
        from workbench.cli import app, main
        assert "analysis" not in sys.modules

        @app.command("raise-analysis-error")
        def raise_analysis_error() -> None:
            from analysis.errors import EmptyWindowError

            raise EmptyWindowError("the reference window must hold rows. Got none instead.")

        sys.exit(main(["raise-analysis-error"]))
        """
    )
    assert result.returncode == 2, result.stderr
    assert "Error: the reference window must hold rows" in result.stderr
    assert "Traceback" not in result.stderr
