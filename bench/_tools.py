"""Run the third-party scanners installed in their own venv (never in the project's)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_VENV = ROOT / ".cache" / "scanners-venv"
TOOLS = ("picklescan", "modelscan", "fickling", "modelaudit")


def ensure_venv(venv: pathlib.Path) -> pathlib.Path:
    """Create the tools' venv on first use: picklescan, modelscan, fickling, modelaudit."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *TOOLS], check=True, timeout=1800
        )
    return python


def cli(venv: pathlib.Path, tool: str, target: pathlib.Path, timeout: float = 300) -> int:
    """The tool's CLI exit code on one file or directory (124 on timeout)."""
    args = {
        "picklescan": ["picklescan", "-p", str(target)],
        "modelscan": ["modelscan", "-p", str(target)],
        "fickling": ["fickling", "--check-safety", str(target)],
        "modelaudit": ["modelaudit", "scan", str(target)],
    }[tool]
    args[0] = str(venv / "bin" / args[0])
    env = {**os.environ, "NO_COLOR": "1", "MODELAUDIT_TELEMETRY_DISABLED": "1"}
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, env=env).returncode
    except subprocess.TimeoutExpired:
        return 124


_IN_PROCESS = {
    "picklescan": "from picklescan import scanner\nscan = lambda p: scanner.scan_file_path(p)",
    "modelscan": "from modelscan.modelscan import ModelScan\nscan = lambda p: ModelScan().scan(p)",
    "modelaudit": "from modelaudit import core\nscan = lambda p: core.scan_model_directory_or_file(p)",
}


def timed(venv: pathlib.Path, tool: str, target: pathlib.Path, runs: int) -> list[float]:
    """Seconds the tool's Python API takes on `target`, imports excluded, `runs` times."""
    code = _IN_PROCESS[tool] + (
        "\nimport json, sys, time\nout = []\n"
        f"for _ in range({runs}):\n"
        "    t = time.perf_counter(); scan(sys.argv[1]); out.append(time.perf_counter() - t)\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "MODELAUDIT_TELEMETRY_DISABLED": "1"}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, str(target)],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
        check=True,
    )
    return [float(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]
