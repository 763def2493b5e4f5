"""The ``make run`` stack (see harness.py): started once for the tests in this folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from .harness import MakeRunStack


@pytest.fixture(scope="package")
def make_run():
    workdir = Path(tempfile.mkdtemp(prefix="montage-stack-"))
    stack = MakeRunStack(workdir=workdir)
    try:
        stack.start(timeout=120)
    except RuntimeError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    yield stack
    stack.stop()
    shutil.rmtree(workdir, ignore_errors=True)
