"""Source distributions are picked by parsed name and version, .zip ones unpack like .tar.gz,
and a manifest's bad `requirements` is named by file and field."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from benchmarks.suite import SuiteError, load_suite, sdist_archive, unpack_sdist


def _tar_gz(path, top: str) -> None:
    with tarfile.open(path, "w:gz") as tar:
        data = b"x = 1\n"
        info = tarfile.TarInfo(f"{top}/pkg.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_an_exact_version_never_takes_a_longer_one_with_the_same_prefix(tmp_path):
    _tar_gz(tmp_path / "x-0.5.10.tar.gz", "x-0.5.10")
    _tar_gz(tmp_path / "x-0.5.1.tar.gz", "x-0.5.1")
    _tar_gz(tmp_path / "x_y-0.5.1.tar.gz", "x_y-0.5.1")
    assert sdist_archive(tmp_path, "x", "0.5.1").name == "x-0.5.1.tar.gz"
    assert sdist_archive(tmp_path, "X.Y", "0.5.1").name == "x_y-0.5.1.tar.gz"  # names compare normalised
    with pytest.raises(SuiteError, match=r"no source distribution of x==0.5 "):
        sdist_archive(tmp_path, "x", "0.5")


def test_a_zip_sdist_unpacks_to_its_top_directory(tmp_path):
    archive = tmp_path / "old-1.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("old-1.0/old.py", "def f():\n    return 1\n")
        zf.writestr("old-1.0/tests/test_old.py", "from old import f\n")
    assert sdist_archive(tmp_path, "old", "1.0") == archive
    top = unpack_sdist(archive, tmp_path / "out")
    assert top == tmp_path / "out" / "old-1.0"
    assert (top / "tests" / "test_old.py").read_text() == "from old import f\n"


@pytest.mark.parametrize("value, complaint", [
    ('"pytest-xdist"', "must be a list of pip requirement strings"),
    ('["hypothesis>=6", "not a requirement!"]', "'not a requirement!' is not a pip requirement"),
])
def test_bad_requirements_name_the_manifest_and_field(tmp_path, value, complaint):
    (tmp_path / "suite.toml").write_text(
        f'name = "x"\n[[projects]]\nname = "p"\nversion = "1.0"\ntests = "t"\nrequirements = {value}\n')
    with pytest.raises(SuiteError) as raised:
        load_suite(str(tmp_path))
    assert f"{tmp_path / 'suite.toml'}: projects[0].requirements ('p')" in str(raised.value)
    assert complaint in str(raised.value)
