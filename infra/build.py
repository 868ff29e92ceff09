"""Prepare the two Lambda layers under ``build/`` (``make build``).

- ``build/layer-licensing``: the ``licensing`` package (``python/licensing``) and the jinja2
  templates (``templates/``, which Lambda mounts at ``/opt/templates``).
- ``build/layer-deps``: the third-party runtime packages as Linux arm64 wheels for the Lambda
  Python version, at the versions pinned in ``requirements.lock`` (as ``.venv`` is).

Both layers get byte code for Lambda's Python version: Lambda mounts layers read-only, so without it
every cold start compiles every module it imports (about half of a cold start's import time). It is
compiled by an interpreter of that version on this machine (``python3.14``), else in CDK's build
image for it if Docker runs here; with neither the build says so and ships source only, which works,
more slowly.

Usage: ``python -m infra.build --platform manylinux2014_aarch64 --python-version 3.14 PACKAGE...``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / "build"
LICENSING_LAYER_DIR = BUILD_DIR / "layer-licensing"
DEPENDENCIES_LAYER_DIR = BUILD_DIR / "layer-deps"
PLACEHOLDER_LAYER_DIR = BUILD_DIR / "layer-placeholder"
PACKAGE_DIR = ROOT / "layers" / "licensing" / "python" / "licensing"
TEMPLATES_DIR = ROOT / "templates"
REQUIREMENTS = ROOT / "requirements.lock"

# Parts of the package that only run on a laptop: they import moto, click and werkzeug, which Lambda lacks.
LOCAL_ONLY = frozenset({"devserver", "cli", "console"})
_NEVER_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")


def copy_package_layer(package: Path, templates: Path, destination: Path) -> Path:
    """Lay out the ``licensing`` layer in ``destination`` (replacing it) and return it."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = set(_NEVER_SHIPPED(directory, names))
        if Path(directory) == package:
            ignored |= LOCAL_ONLY.intersection(names)
        return ignored

    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(package, destination / "python" / package.name, ignore=ignore)
    shutil.copytree(templates, destination / "templates", ignore=_NEVER_SHIPPED)
    return destination


def constraints(requirements: Path) -> str:
    """``requirements`` as a pip constraints file: the same pins, without extras pip refuses there."""
    lines = []
    for line in requirements.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            lines.append(re.sub(r"\[[^\]]*\]", "", requirement))
    return "\n".join(lines) + "\n"


def install_dependencies(
    packages: Sequence[str], destination: Path, *, platform: str, python_version: str
) -> Path:
    """Install ``packages`` as wheels for the Lambda platform into ``destination/python``."""
    # Install beside the destination and move it in place only once pip succeeded: a failed build
    # leaves no half-filled layer that a synth would take for a finished one.
    partial = destination.with_name(f"{destination.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    pins = partial / "constraints.txt"
    pins.write_text(constraints(REQUIREMENTS))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--platform",
        platform,
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        # Byte code compiled by pip would be for pip's interpreter, not Lambda's: compile_layers
        # writes it with an interpreter of Lambda's version.
        "--no-compile",
        "--target",
        str(partial / "python"),
        "-c",
        str(pins),
        *packages,
    ]
    subprocess.run(command, check=True)  # noqa: S603 (our own interpreter, arguments from make)
    pins.unlink()
    shutil.rmtree(destination, ignore_errors=True)
    partial.rename(destination)
    return destination


def interpreter_for(python_version: str) -> str | None:
    """An interpreter of ``python_version`` (e.g. ``3.14``) on this machine's PATH, or None."""
    found = shutil.which(f"python{python_version}")
    if found is None:
        return None
    ran = subprocess.run(  # noqa: S603 (an interpreter found on PATH, asked its version)
        [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found if ran.returncode == 0 and ran.stdout.strip() == python_version else None


COMPILE = ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]


def compile_layer(layer: Path, interpreter: str) -> int:
    """Byte code for every module of ``layer`` by ``interpreter``, and how many files it wrote.

    The files are ``unchecked-hash``: Python uses them without comparing the source's timestamp,
    which the asset's zip does not keep (the layer never changes once published). The source stays
    beside them, for tracebacks. A module that does not compile (compileall names it) ships as
    source and fails nothing: it fails only if something imports it, as it would anyway."""
    subprocess.run([interpreter, *COMPILE, str(layer / "python")], check=False)  # noqa: S603
    return _compiled(layer)


def build_image(python_version: str) -> str:
    """The image CDK bundles Python functions in: Lambda's Python, as AWS builds it."""
    return f"public.ecr.aws/sam/build-python{python_version}"


def docker_works() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        ran = subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return False
    return ran.returncode == 0


def compile_layer_in_docker(layer: Path, python_version: str) -> int:
    """``compile_layer`` with the Python of CDK's build image, for a machine without that Python:
    the layer mounted in the container, the files written as this user."""
    command = [
        "docker",
        "run",
        "--rm",
        "--user",
        f"{os.getuid()}:{os.getgid()}",
        "--volume",
        f"{layer.resolve()}:/layer",
        build_image(python_version),
        "python",
        *COMPILE,
        "/layer/python",
    ]
    # As compile_layer: a module that does not compile ships as source. A Docker that cannot run
    # the image (no network, say) leaves the layer as it was, and the count says so.
    subprocess.run(command, check=False)  # noqa: S603 (docker from PATH, our own arguments)
    return _compiled(layer)


def _compiled(layer: Path) -> int:
    return sum(1 for _ in (layer / "python").rglob("*.pyc"))


def compile_layers(layers: Sequence[Path], python_version: str) -> str:
    """Compile ``layers`` for ``python_version`` with an interpreter of it on this machine, else in
    CDK's build image if Docker runs here; what was done."""
    interpreter = interpreter_for(python_version)
    if interpreter is not None:
        written = sum(compile_layer(layer, interpreter) for layer in layers)
        return f"byte code for Python {python_version}: {written} files"
    if docker_works():
        written = sum(compile_layer_in_docker(layer, python_version) for layer in layers)
        if not written:
            return (
                f"{build_image(python_version)} wrote no byte code (see Docker's error above): the "
                "layers ship source only, so Lambda compiles every module at each cold start."
            )
        return f"byte code for Python {python_version}, in {build_image(python_version)}: {written} files"
    return (
        f"no python{python_version} and no Docker on this machine: the layers ship without byte code, "
        f"so Lambda compiles every module at each cold start. Install Python {python_version} (or "
        "Docker) and run make build again for faster cold starts."
    )


def placeholder_layer(destination: Path) -> Path:
    """A layer folder with no packages, for synthesizing before ``make build`` has run."""
    (destination / "python").mkdir(parents=True, exist_ok=True)
    (destination / "python" / "PLACEHOLDER.txt").write_text(
        "Run `make build` before deploying: this layer stands in for the dependencies layer.\n"
    )
    return destination


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.build", description="Prepare the Lambda layers.")
    parser.add_argument("--platform", required=True, help="pip platform tag, e.g. manylinux2014_aarch64")
    parser.add_argument("--python-version", required=True, help="Lambda's Python version, e.g. 3.14")
    parser.add_argument("packages", nargs="+", help="third-party runtime packages to bundle")
    arguments = parser.parse_args(argv)
    copy_package_layer(PACKAGE_DIR, TEMPLATES_DIR, LICENSING_LAYER_DIR)
    install_dependencies(
        arguments.packages,
        DEPENDENCIES_LAYER_DIR,
        platform=arguments.platform,
        python_version=arguments.python_version,
    )
    print(compile_layers([LICENSING_LAYER_DIR, DEPENDENCIES_LAYER_DIR], arguments.python_version))
    print(
        f"layers ready: {LICENSING_LAYER_DIR.relative_to(ROOT)}, {DEPENDENCIES_LAYER_DIR.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
