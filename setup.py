"""Maps the top-level folders into the one ``anxin`` namespace (see DESIGN.md, Layout)."""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
FOLDERS = {
    "anxin": "anxin",
    "anxin.devices": "devices",
    "anxin.firmware_sim": "firmware-sim",
    "anxin.edge": "edge",
    "anxin.analytics": "analytics",
    "anxin.cloud": "cloud",
    "anxin.dashboard": "dashboard",
}


def packages_under(package: str, folder: str) -> dict[str, str]:
    found = {}
    for init in sorted((ROOT / folder).rglob("__init__.py")):
        relative = init.parent.relative_to(ROOT / folder)
        name = ".".join((package, *relative.parts)) if relative.parts else package
        found[name] = str(init.parent.relative_to(ROOT))
    return found


package_dir: dict[str, str] = {}
for package, folder in FOLDERS.items():
    package_dir.update(packages_under(package, folder))

setup(packages=sorted(package_dir), package_dir=package_dir)
