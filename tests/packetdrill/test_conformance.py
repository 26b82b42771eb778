"""The shared packetdrill suite (``$TUXNET_PACKETDRILL_DIR``, default ``../shared/conformance/
packetdrill``) run against tuxnet: every script listed in ``passing.txt`` must pass; any other
script that passes is reported so that the list can grow."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tuxnet.packetdrill.cli import default_suite_dir, suite_scripts
from tuxnet.packetdrill.runner import run_file

SUITE = default_suite_dir()
PASSING_LIST = Path(__file__).resolve().parent / "passing.txt"


def _listed() -> set[str]:
    lines = (line.strip() for line in PASSING_LIST.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def _params() -> list:
    if not SUITE.is_dir():
        reason = f"no packetdrill suite at {SUITE} (set TUXNET_PACKETDRILL_DIR to run it)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="suite-missing")]
    return [pytest.param(p, id=p.relative_to(SUITE).as_posix()) for p in suite_scripts(SUITE)]


LISTED = _listed()


@pytest.mark.parametrize("path", _params())
def test_shared_script(path: Path) -> None:
    name = path.relative_to(SUITE).as_posix()
    result = run_file(path)
    if name in LISTED:
        assert result.passed, f"{name} is listed in passing.txt but now fails:\n{result.message}"
    elif result.passed:
        warnings.warn(f"{name} now passes: add it to tests/packetdrill/passing.txt", stacklevel=1)
    else:
        pytest.xfail(f"{result.status}: {result.message.splitlines()[0] if result.message else ''}")


def test_passing_list_names_existing_scripts() -> None:
    if not SUITE.is_dir():
        pytest.skip(f"no packetdrill suite at {SUITE}")
    missing = sorted(name for name in LISTED if not (SUITE / name).is_file())
    assert not missing, f"passing.txt lists scripts the suite does not have: {missing}"
