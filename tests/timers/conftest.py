import pytest

from carepath.pathway import sla


@pytest.fixture(autouse=True)
def _fresh_sla_cache():
    """Policies are cached per process; a rolled-back test must not leave its edits behind."""
    sla.clear_cache()
    yield
    sla.clear_cache()
