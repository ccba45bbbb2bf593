# The timers tests' autouse fixture: SLA policies are cached per process.
from tests.timers.conftest import _fresh_sla_cache  # noqa: F401
