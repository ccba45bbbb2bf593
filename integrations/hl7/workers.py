"""`manage.py hl7_listen --workers N`: N worker processes serving the one listening socket (pre-fork),
so the messages of several connections are handled on several CPUs, past one process's GIL
(docs/integrations.md, "HL7 v2"; docs/decisions.md).

The parent binds the socket, forks the workers and only watches them: a worker that dies is started
again, and SIGTERM or SIGINT to the parent stops them all. Each worker accepts connections on the
inherited socket and has its own committer (integrations/hl7/mllp.py) and database connection; MSH-10
stays unique across workers in the database, so a copy handled by two workers at once is done once.
A worker whose parent is gone (killed outright) exits within a second: nothing outlives the listener.
POSIX only (os.fork)."""

import logging
import os
import signal
import threading
import time

from django.db import connections

log = logging.getLogger(__name__)

ORPHAN_CHECK_SECONDS = 0.5


class Stop(Exception):
    """SIGTERM or SIGINT to the parent."""


def serve(server, workers: int) -> None:
    """Serve `server` (a bound mllp.Listener) in this process, or in `workers` forked processes."""
    if workers <= 1:
        server.serve_forever(poll_interval=0.2)
        return
    connections.close_all()  # a worker must not share the parent's database connection
    children = {_fork(server) for _ in range(workers)}

    def stop(signum, frame):
        raise Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        _watch(server, children)
    except Stop:
        pass
    finally:
        _stop(children)


def _watch(server, children: set[int]) -> None:
    while True:
        pid, status = os.wait()
        if pid in children:
            children.discard(pid)
            log.warning("HL7 MLLP worker %d ended (status %d); starting another", pid, status)
            time.sleep(0.2)  # a worker failing at start must not fork in a tight loop
            children.add(_fork(server))


def _stop(children: set[int]) -> None:
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _fork(server) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:  # the worker: ACKs go out only after their commit, so being stopped at any point loses nothing
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
        server.serve_forever(poll_interval=0.2)
    except BaseException:
        log.exception("HL7 MLLP worker %d failed", os.getpid())
        code = 1
    finally:
        os._exit(code)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)
