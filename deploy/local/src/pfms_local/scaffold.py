"""`make new-service NAME=x PORT=n`: write a new service's skeleton in the fleet's shape.

The skeleton runs as it is (health, ready, metrics, OpenAPI, outbox relay, migrations, tests);
the rest of the checklist in the README (compose, kong.yml, manifests, catalogue) follows by hand.
"""

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates" / "service"
ROOT = Path(__file__).resolve().parents[4]

LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "Dockerfile.tmpl": "Dockerfile",
    "alembic.ini.tmpl": "alembic.ini",
    "env.py.tmpl": "migrations/env.py",
    "script.py.mako": "migrations/script.py.mako",
    "0001_messaging.py.tmpl": "migrations/versions/0001_messaging.py",
    "settings.py.tmpl": "src/{package}/settings.py",
    "main.py.tmpl": "src/{package}/main.py",
    "models.py.tmpl": "src/{package}/models.py",
    "events.py.tmpl": "src/{package}/events.py",
    "test_service.py.tmpl": "tests/test_service.py",
}


def write_service(name: str, port: int, root: Path = ROOT) -> Path:
    package = "pfms_" + name.replace("-", "_")
    values = {
        "name": name,
        "package": package,
        "port": str(port),
        "env_prefix": "PFMS_" + name.replace("-", "_").upper() + "_",
        "database": "pfms_" + {"market-data": "market"}.get(name, name.replace("-", "_")),
    }
    target = root / "services" / name
    if target.exists():
        raise SystemExit(f"{target} exists already")
    for source, dest in LAYOUT.items():
        path = target / dest.format(package=package)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (TEMPLATES / source).read_text()
        path.write_text(text if source.endswith(".mako") else Template(text).substitute(values))
    (target / "src" / package / "__init__.py").write_text(f'"""PFMS {name} service."""\n')
    _tidy(target)
    return target


def _tidy(target: Path) -> None:
    """Sort the imports as ruff wants them: `pfms_<name>` sorts before or after `pfms_platform`."""
    ruff = Path(sys.executable).parent / "ruff"
    found = str(ruff) if ruff.exists() else shutil.which("ruff")
    if found:
        subprocess.run([found, "check", "--quiet", "--select", "I", "--fix", str(target)], check=False)
        subprocess.run([found, "format", "--quiet", str(target)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    print(f"wrote {write_service(args.name, args.port)}")
