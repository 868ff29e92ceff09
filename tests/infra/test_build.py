"""infra/build.py: the package layer's layout, and the pip command of the dependencies layer.

No network: the pip run itself is not executed here (``make build`` does it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import build
from tests.infra.conftest import ROOT


@pytest.fixture
def package(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "src" / "licensing"
    for name in (
        "__init__.py",
        "models.py",
        "cli/__init__.py",
        "devserver/__init__.py",
        "devserver/gateway.py",
        "services/cli.py",
        "__pycache__/models.cpython-311.pyc",
    ):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("")
    templates = tmp_path / "templates"
    (templates / "email").mkdir(parents=True)
    (templates / "email" / "license_issued.html").write_text("<p>{{ license.key }}</p>")
    return package, templates


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_package_layer_has_the_package_without_local_only_parts_and_the_templates(
    package: tuple[Path, Path], tmp_path: Path
) -> None:
    source, templates = package
    layer = build.copy_package_layer(source, templates, tmp_path / "layer")
    assert _files(layer) == {
        "python/licensing/__init__.py",
        "python/licensing/models.py",
        # Only the package's own cli is local-only; a module of that name deeper down ships.
        "python/licensing/services/cli.py",
        "templates/email/license_issued.html",
    }


def test_package_layer_replaces_what_an_earlier_build_left(
    package: tuple[Path, Path], tmp_path: Path
) -> None:
    source, templates = package
    stale = tmp_path / "layer" / "python" / "licensing" / "removed_module.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("")
    build.copy_package_layer(source, templates, tmp_path / "layer")
    assert not stale.exists()


def test_package_layer_of_the_repository_leaves_out_devserver_cli_and_console(tmp_path: Path) -> None:
    layer = build.copy_package_layer(build.PACKAGE_DIR, build.TEMPLATES_DIR, tmp_path / "layer")
    shipped = layer / "python" / "licensing"
    assert (shipped / "catalogue.py").is_file()
    assert (shipped / "tables.py").is_file()
    assert not (shipped / "devserver").exists()
    assert not (shipped / "cli").exists()
    assert not (shipped / "console").exists()


def test_placeholder_layer_is_an_empty_python_layer(tmp_path: Path) -> None:
    layer = build.placeholder_layer(tmp_path / "placeholder")
    assert _files(layer) == {"python/PLACEHOLDER.txt"}


def test_dependencies_are_installed_as_lambda_wheels_at_the_pinned_versions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    commands: list[list[str]] = []
    pinned: list[str] = []

    def run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        # Stands in for pip: records the command and installs one module where it was told.
        commands.append(command)
        assert options == {"check": True}
        pinned.append(Path(command[command.index("-c") + 1]).read_text())
        target = Path(command[command.index("--target") + 1])
        target.mkdir(parents=True)
        (target / "pydantic.py").write_text("")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(build.subprocess, "run", run)
    build.install_dependencies(
        ["pydantic", "jinja2"], tmp_path / "deps", platform="manylinux2014_aarch64", python_version="3.14"
    )
    (command,) = commands
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    options = " ".join(command)
    assert "--platform manylinux2014_aarch64" in options
    assert "--python-version 3.14" in options
    assert "--implementation cp" in options
    assert "--only-binary=:all:" in options
    assert command[-2:] == ["pydantic", "jinja2"]
    assert pinned == [build.constraints(ROOT / "requirements.lock")]
    # Only a finished install becomes the layer.
    assert _files(tmp_path / "deps") == {"python/pydantic.py"}
    assert not (tmp_path / "deps.partial").exists()


def test_a_failed_dependency_install_keeps_the_previous_layer_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    previous = tmp_path / "deps" / "python" / "pydantic.py"
    previous.parent.mkdir(parents=True)
    previous.write_text("")

    def run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        target = Path(command[command.index("--target") + 1])
        target.mkdir(parents=True)
        (target / "half_installed.py").write_text("")
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(build.subprocess, "run", run)
    with pytest.raises(subprocess.CalledProcessError):
        build.install_dependencies(
            ["nh3"], tmp_path / "deps", platform="manylinux2014_aarch64", python_version="3.14"
        )
    assert _files(tmp_path / "deps") == {"python/pydantic.py"}


def test_every_runtime_package_of_the_makefile_is_pinned_in_requirements() -> None:
    # pip's -c constraint pins only what requirements.txt lists; anything else would float.
    makefile = (ROOT / "Makefile").read_text()
    runtime = re.search(r"^RUNTIME_PACKAGES := (.+)$", makefile, re.MULTILINE)
    assert runtime is not None
    pinned = {
        re.split(r"[\[=]", line)[0].strip().lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert set(runtime.group(1).split()) <= pinned


def test_the_layer_is_built_for_the_runtime_and_architecture_the_stack_deploys() -> None:
    from infra.functions import ARCHITECTURE, RUNTIME

    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    python = re.search(r"^LAMBDA_PYTHON := (\S+)$", makefile, re.MULTILINE)
    platform = re.search(r"^LAMBDA_PLATFORM := (\S+)$", makefile, re.MULTILINE)
    assert python and platform
    assert RUNTIME.name == f"python{python.group(1)}"
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[ARCHITECTURE.name]
    assert platform.group(1).endswith(machine)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==")
            pins[re.sub(r"\[.*\]", "", name).strip().lower()] = version.strip()
    return pins


def test_the_lock_pins_what_requirements_names_at_the_same_versions() -> None:
    # `make lock` after a change of requirements.txt: .venv and the layer install from the lock.
    named, locked = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements.lock")
    assert {name: locked.get(name) for name in named} == named
    assert {"urllib3", "typing-extensions", "pydantic-core", "botocore"} <= set(locked)


# -- byte code -----------------------------------------------------------------------------------

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def _layer(tmp_path: Path) -> Path:
    layer = tmp_path / "layer"
    (layer / "python" / "shipped").mkdir(parents=True)
    (layer / "python" / "shipped" / "__init__.py").write_text("VALUE = 1\n\ndef where():\n    return 1\n")
    return layer


def test_a_compiled_layer_is_imported_from_its_byte_code(tmp_path: Path) -> None:
    layer = _layer(tmp_path)

    written = build.compile_layer(layer, sys.executable)
    # Lambda's zip keeps no timestamps: the byte code must be used even when the source looks newer.
    (layer / "python" / "shipped" / "__init__.py").write_text("VALUE = 2\n")
    ran = subprocess.run(
        [sys.executable, "-c", "import shipped; print(shipped.VALUE)"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(layer / "python"), "PYTHONDONTWRITEBYTECODE": "1"},
        check=True,
    )

    assert written == 1
    assert ran.stdout.split() == ["1"]  # the compiled module, not the source beside it


def _path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> Path:
    """A PATH of only `names`, each this interpreter under that name."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        (bin_dir / name).symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_an_interpreter_is_taken_only_when_it_is_of_lambdas_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python3.99 is named for another version than it is.
    bin_dir = _path_with(tmp_path, monkeypatch, f"python{RUNNING}", "python3.99")

    assert build.interpreter_for(RUNNING) == str(bin_dir / f"python{RUNNING}")
    assert build.interpreter_for("3.99") is None
    assert build.interpreter_for("3.98") is None


def test_without_an_interpreter_of_lambdas_version_the_layers_ship_source_and_the_build_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = _layer(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))

    said = build.compile_layers([layer], "3.14")

    assert "no python3.14" in said and "without byte code" in said
    assert list(layer.rglob("*.pyc")) == []


def test_with_an_interpreter_of_lambdas_version_every_layer_is_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path_with(tmp_path, monkeypatch, f"python{RUNNING}")
    first, second = _layer(tmp_path / "a"), _layer(tmp_path / "b")

    said = build.compile_layers([first, second], RUNNING)

    assert said == f"byte code for Python {RUNNING}: 2 files"
    tag = sys.implementation.cache_tag
    for layer in (first, second):
        assert (layer / "python" / "shipped" / "__pycache__" / f"__init__.{tag}.pyc").is_file()


# Docker cannot run here (no daemon, no registry): this stand-in records its command and does what
# the build image would, with this interpreter, on the mounted folder.
FAKE_DOCKER = """#!{python}
import json, os, subprocess, sys
arguments = sys.argv[1:]
with open(os.environ["DOCKER_CALLS"], "a") as calls:
    calls.write(json.dumps(arguments) + "\\n")
if arguments[0] == "info":
    sys.exit(int(os.environ.get("DOCKER_INFO_EXIT", "0")))
host, inside = arguments[arguments.index("--volume") + 1].split(":")
command = arguments[arguments.index("--volume") + 3 :]
assert command[0] == "python"
sys.exit(subprocess.run([sys.executable] + [a.replace(inside, host) for a in command[1:]]).returncode)
"""


def _fake_docker(bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER.format(python=sys.executable))
    docker.chmod(0o755)
    calls = tmp_path / "docker-calls.jsonl"
    monkeypatch.setenv("DOCKER_CALLS", str(calls))
    return calls


def test_without_that_python_the_layers_are_compiled_in_cdks_build_image_when_docker_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _path_with(tmp_path, monkeypatch)  # no python3.14 on the PATH
    calls = _fake_docker(bin_dir, tmp_path, monkeypatch)
    layer = _layer(tmp_path)

    said = build.compile_layers([layer], "3.14")

    assert said == "byte code for Python 3.14, in public.ecr.aws/sam/build-python3.14: 1 files"
    info, run = [json.loads(line) for line in calls.read_text().splitlines()]
    assert info == ["info"]
    assert run[:5] == ["run", "--rm", "--user", f"{os.getuid()}:{os.getgid()}", "--volume"]
    assert run[5:8] == [f"{layer.resolve()}:/layer", "public.ecr.aws/sam/build-python3.14", "python"]
    assert run[8:] == [*build.COMPILE, "/layer/python"]
    assert len(list(layer.rglob("*.pyc"))) == 1


def test_the_build_image_is_the_one_cdk_bundles_lambdas_python_in() -> None:
    from aws_cdk import aws_lambda

    from infra.functions import RUNTIME

    version = RUNTIME.name.removeprefix("python")
    assert build.build_image(version) == RUNTIME.bundling_image.image
    assert build.build_image("3.14") == aws_lambda.Runtime.PYTHON_3_14.bundling_image.image


def test_a_docker_whose_daemon_is_down_compiles_nothing_and_the_build_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _path_with(tmp_path, monkeypatch)
    _fake_docker(bin_dir, tmp_path, monkeypatch)
    monkeypatch.setenv("DOCKER_INFO_EXIT", "1")
    layer = _layer(tmp_path)

    said = build.compile_layers([layer], "3.14")

    assert said.startswith("no python3.14 and no Docker on this machine")
    assert list(layer.rglob("*.pyc")) == []


def test_a_module_that_does_not_compile_ships_as_source_and_fails_no_build(tmp_path: Path) -> None:
    layer = _layer(tmp_path)
    broken = layer / "python" / "shipped" / "broken.py"
    broken.write_text("def (:\n")  # another Python's syntax, say

    written = build.compile_layer(layer, sys.executable)

    assert written == 1  # the module that compiles
    assert broken.read_text() == "def (:\n"


def test_a_docker_that_cannot_run_the_image_leaves_source_and_the_build_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _path_with(tmp_path, monkeypatch)
    docker = bin_dir / "docker"
    # `docker info` answers; `docker run` fails as an image that cannot be pulled does.
    docker.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(0 if sys.argv[1] == 'info' else 125)\n")
    docker.chmod(0o755)
    layer = _layer(tmp_path)

    said = build.compile_layers([layer], "3.14")

    assert said.startswith("public.ecr.aws/sam/build-python3.14 wrote no byte code")
    assert list(layer.rglob("*.pyc")) == []
