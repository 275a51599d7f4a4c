"""The zipapp's distributions: Requires-Python and Requires-Dist read with ``packaging``
(markers evaluated for the worker's Python), wheels picked by name, versions checked.

The wheels here are small real wheel files written by the test (a module, a dist-info
METADATA), so every rule runs offline and without the installed distributions' versions.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Dict, Iterable, Optional, Tuple

import pytest

from grid_lrt.client.zipapp import WORKER_MIN_PYTHON, LauncherBuildError
from grid_lrt.client.zipapp.build import build_zipapp
from grid_lrt.client.zipapp.dists import DEPENDENCIES, admits_python, collect, worker_environment

MODULES = {
    "requests": "requests",
    "urllib3": "urllib3",
    "idna": "idna",
    "certifi": "certifi",
    "charset-normalizer": "charset_normalizer",
    "pyyaml": "yaml",
}


def write_wheel(
    folder: Path,
    name: str,
    version: str = "1.0",
    *,
    requires: Iterable[str] = (),
    requires_python: str = ">=3.7",
    files: Optional[Dict[str, bytes]] = None,
    tag: str = "py3-none-any",
) -> Path:
    """A wheel of ``name`` with one ``__init__.py`` (or ``files``) and its METADATA."""
    stem = f"{name.replace('-', '_')}-{version}"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Python: {requires_python}"] if requires_python else []
    meta += [f"Requires-Dist: {r}" for r in requires]
    content = files if files is not None else {f"{MODULES[name]}/__init__.py": b"X = 1\n"}
    path = folder / f"{stem}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in content.items():
            wheel.writestr(member, data)
        wheel.writestr(f"{stem}.dist-info/METADATA", "\n".join(meta) + "\n")
        wheel.writestr(f"{stem}.dist-info/LICENSE", "licence text\n")
    return path


def wheel_folder(folder: Path, **requires: Tuple[str, ...]) -> Path:
    """One wheel for each of DEPENDENCIES; ``requires[name]`` are its Requires-Dist lines."""
    folder.mkdir(exist_ok=True)
    for name in DEPENDENCIES:
        write_wheel(folder, name, requires=requires.get(name.replace("-", "_"), ()))
    return folder


# -- Requires-Python -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "python", "admitted"),
    [
        ("", (3, 9), True),
        (">=3.9", (3, 9), True),
        (">=3.10", (3, 9), False),
        (">=3.7, <4", (3, 9), True),
        (">=3.9.1", (3, 9), False),
        ("!=3.9.*,>=3.8", (3, 9), False),
        ("!=3.0.*, !=3.1.*, >=2.7", (3, 9), True),
        ("~=3.8", (3, 9), True),
        ("~=3.10.0", (3, 9), False),
        ("==3.*", (3, 12), True),
        ("<3.9", (3, 9), False),
        (">=3.9.0rc1", (3, 9), True),
        (">= 3.8 , != 3.9.0", (3, 9), False),
    ],
)
def test_requires_python(spec: str, python: Tuple[int, int], admitted: bool) -> None:
    assert admits_python(spec, python) is admitted


@pytest.mark.parametrize("spec", [">=three", "3.9", ">=3.9;"])
def test_unreadable_requires_python_is_refused(spec: str) -> None:
    with pytest.raises(LauncherBuildError, match="cannot read Requires-Python"):
        admits_python(spec, (3, 9))


def test_refuses_dependencies_too_new_for_the_floor(tmp_path: Path) -> None:
    with pytest.raises(LauncherBuildError) as caught:
        build_zipapp(tmp_path / "x.pyz", min_python=(3, 0))
    assert "requires Python" in caught.value.message
    assert "--download" in caught.value.hint
    assert not (tmp_path / "x.pyz").exists()


def test_a_wheel_too_new_for_the_floor_names_its_folder(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w")
    (wheel,) = folder.glob("idna-*.whl")
    wheel.unlink()
    write_wheel(folder, "idna", "9.0", requires_python=">=3.10")
    with pytest.raises(LauncherBuildError) as caught:
        collect(folder, (3, 9))
    assert f"idna 9.0 (in {folder}) requires Python >=3.10" in caught.value.message
    assert collect(folder, (3, 10))[0]


# -- Requires-Dist -------------------------------------------------------------------------------


def test_worker_environment_is_the_floor_not_this_python() -> None:
    env = worker_environment(WORKER_MIN_PYTHON)
    assert env["python_version"] == "3.9"
    assert env["python_full_version"] == "3.9.0"
    assert env["extra"] == ""
    assert env["sys_platform"]  # the platform entries are this machine's


def test_requirements_apply_for_the_workers_python(tmp_path: Path) -> None:
    """A requirement only for old Pythons binds a 3.9 worker, not a 3.10 one."""
    folder = wheel_folder(tmp_path / "w", requests=('backports-x; python_version < "3.10"',))
    with pytest.raises(LauncherBuildError) as caught:
        collect(folder, (3, 9))
    assert "requests 1.0 requires backports-x, which the launcher does not bundle" in (
        caught.value.message
    )
    assert "DEPENDENCIES" in caught.value.hint
    dists, omitted = collect(folder, (3, 10))
    assert {d.name for d in dists} == set(DEPENDENCIES)
    assert omitted == []


def test_requirements_of_extras_are_not_needed(tmp_path: Path) -> None:
    folder = wheel_folder(
        tmp_path / "w",
        requests=('PySocks!=1.5.7,>=1.5.6; extra == "socks"', "urllib3<3,>=0.5", "idna"),
        urllib3=('brotli>=1.0.9; platform_python_implementation == "CPython" and extra == "x"',),
    )
    dists, _ = collect(folder, WORKER_MIN_PYTHON)
    requests = next(d for d in dists if d.name == "requests")
    assert [r.name for r in requests.requires] == ["PySocks", "urllib3", "idna"]


def test_a_bundled_version_outside_the_requirement_is_refused(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w", requests=("urllib3<1,>=0.5",))
    with pytest.raises(LauncherBuildError) as caught:
        collect(folder, WORKER_MIN_PYTHON)
    assert "requests 1.0 requires urllib3<1,>=0.5" in caught.value.message
    assert "would bundle urllib3 1.0" in caught.value.message


def test_unreadable_requires_dist_is_refused(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w", certifi=("not a ( requirement",))
    with pytest.raises(LauncherBuildError, match=r"certifi .* cannot read Requires-Dist"):
        collect(folder, WORKER_MIN_PYTHON)


# -- wheels by name ------------------------------------------------------------------------------


def test_wheels_are_matched_by_their_canonical_name(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w")
    (folder / "not-a-wheel.whl").write_bytes(b"")  # an unparsable file name is not a wheel
    (folder / "README.txt").write_text("the wheels for the worker\n")
    (cn,) = folder.glob("charset_normalizer-*.whl")
    cn.rename(folder / "Charset.Normalizer-1.0-py3-none-any.whl")
    dists, _ = collect(folder, WORKER_MIN_PYTHON)
    assert "charset-normalizer" in {d.name for d in dists}


def test_two_versions_of_one_distribution_are_refused(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w")
    write_wheel(folder, "idna", "2.0")
    with pytest.raises(LauncherBuildError) as caught:
        collect(folder, WORKER_MIN_PYTHON)
    assert "need exactly one idna wheel" in caught.value.message
    assert "idna-1.0-py3-none-any.whl, idna-2.0-py3-none-any.whl" in caught.value.message


# -- compiled code -------------------------------------------------------------------------------

SO = ".cpython-39-x86_64-linux-gnu.so"
PYYAML_PLATFORM_WHEEL = {
    "yaml/__init__.py": b"try:\n    from .cyaml import *\nexcept ImportError:\n    pass\n",
    "yaml/cyaml.py": b"from yaml._yaml import CParser\n",
    f"yaml/_yaml{SO}": b"\x7fELF",
    "_yaml/__init__.py": b"from yaml._yaml import *\n",
}


def _replace(folder: Path, name: str, files: Dict[str, bytes], tag: str = "py3-none-any") -> None:
    for old in folder.glob(f"{name.replace('-', '_')}-*.whl"):
        old.unlink()
    write_wheel(folder, name, files=files, tag=tag)


def test_pyyaml_is_bundled_without_its_accelerator_and_shim(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w")
    _replace(folder, "pyyaml", PYYAML_PLATFORM_WHEEL, tag="cp39-cp39-manylinux2014_x86_64")
    dists, omitted = collect(folder, WORKER_MIN_PYTHON)
    (pyyaml,) = [d for d in dists if d.name == "pyyaml"]
    assert sorted(pyyaml.files) == ["yaml/__init__.py", "yaml/cyaml.py"]
    assert pyyaml.accelerator_left_out
    assert sorted(pyyaml.meta) == ["pyyaml-1.0.dist-info/LICENSE", "pyyaml-1.0.dist-info/METADATA"]
    assert omitted == []
    assert not any(d.accelerator_left_out for d in dists if d.name != "pyyaml")


def test_a_pure_pyyaml_wheel_needs_no_stripping(tmp_path: Path) -> None:
    dists, _ = collect(wheel_folder(tmp_path / "w"), WORKER_MIN_PYTHON)
    (pyyaml,) = [d for d in dists if d.name == "pyyaml"]
    assert not pyyaml.accelerator_left_out


def test_only_the_listed_accelerator_is_optional(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w")
    files = dict(PYYAML_PLATFORM_WHEEL, **{f"yaml/_speedups{SO}": b"\x7fELF"})
    _replace(folder, "pyyaml", files)
    with pytest.raises(LauncherBuildError) as caught:
        collect(folder, WORKER_MIN_PYTHON)
    assert f"without a pure-Python version: yaml/_speedups{SO}" in caught.value.message
    assert "ACCELERATORS" in caught.value.hint


def test_compiled_modules_with_a_pure_twin_are_dropped(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w")
    files = {
        "idna/__init__.py": b"",
        "idna/core.py": b"X = 1\n",
        f"idna/core{SO}": b"\x7fELF",
        f"idna__mypyc{SO}": b"\x7fELF",
    }
    _replace(folder, "idna", files, tag="cp39-cp39-manylinux2014_x86_64")
    dists, _ = collect(folder, WORKER_MIN_PYTHON)
    (idna,) = [d for d in dists if d.name == "idna"]
    assert sorted(idna.files) == ["idna/__init__.py", "idna/core.py"]
    assert not idna.accelerator_left_out


def test_compiled_only_optional_distribution_is_left_out_entirely(tmp_path: Path) -> None:
    """Unlike PyYAML, a compiled-only charset_normalizer is not bundled at all."""
    folder = wheel_folder(tmp_path / "w")
    _replace(folder, "charset-normalizer", {f"charset_normalizer/md{SO}": b"\x7fELF"})
    dists, omitted = collect(folder, WORKER_MIN_PYTHON)
    assert omitted == ["charset-normalizer"]
    assert "charset-normalizer" not in {d.name for d in dists}


def test_compiled_only_required_distribution_fails_the_build(tmp_path: Path) -> None:
    folder = wheel_folder(tmp_path / "w")
    _replace(folder, "urllib3", {"urllib3/__init__.py": b"", f"urllib3/core{SO}": b"\x7fELF"})
    with pytest.raises(LauncherBuildError, match=r"urllib3 1\.0 .* ships compiled modules"):
        collect(folder, WORKER_MIN_PYTHON)
