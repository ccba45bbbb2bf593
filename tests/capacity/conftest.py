import pytest

from carepath.pathway import sla


@pytest.fixture(autouse=True)
def _fresh_sla_cache():
    """Holidays are cached per process; a rolled-back test must not leave its days behind."""
    sla.clear_cache()
    yield
    sla.clear_cache()
