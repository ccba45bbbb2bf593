import pytest

from carepath.pathway import sla

from .scanners import department


@pytest.fixture(autouse=True)
def _fresh_sla_cache():
    """Holidays are cached per process; a rolled-back test must not leave its days behind."""
    sla.clear_cache()
    yield
    sla.clear_cache()


@pytest.fixture
def place(db):
    """The booking tests' department: (site, MRI 1, MRI 2, MRI 3), tests/capacity/scanners.py."""
    return department()
