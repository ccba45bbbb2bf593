"""MLLP (\\x0b message \\x1c\\x0d) over TCP: the listener `manage.py hl7_listen` runs as its own
process (or as several worker processes sharing its socket: integrations/hl7/workers.py), and the
client the outbound orders, the tests and bench/hl7.py use.

One thread per connection reads its messages; one committer thread per process receives what the
connections sent together as one batch, in one transaction (integrations/hl7/inbound.py: one savepoint
each, one commit for all). Each connection sends its ACKs, in order, only after that commit. A message
that could not be stored gets no ACK: its connection is closed and the sender resends."""

import logging
import queue
import socket
import socketserver
import threading
import time

from django.db import close_old_connections, connection

from . import inbound

log = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE = 1_000_000
MAX_BATCH = 64  # messages in one transaction
LINGER = 0.002  # seconds a batch waits for the other connections' messages


def frame(text: str) -> bytes:
    return START + text.encode("utf-8") + END


class Framer:
    """Splits a byte stream into MLLP messages; bytes before a start block are dropped."""

    def __init__(self):
        self.buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        messages = []
        while True:
            start = self.buffer.find(START)
            if start < 0:
                self.buffer = b""
                return messages
            end = self.buffer.find(END, start)
            if end < 0:
                self.buffer = self.buffer[start:]
                if len(self.buffer) > MAX_MESSAGE:
                    raise ValueError("MLLP message too long")
                return messages
            messages.append(self.buffer[start + 1 : end].decode("utf-8", errors="replace"))
            self.buffer = self.buffer[end + 2 :]


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.server.connections_opened(+1)

    def finish(self):
        self.server.connections_opened(-1)

    def handle(self):
        framer = Framer()
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                texts = framer.feed(data)
                if texts:
                    self._answer(self.server.committer.receive(texts))
        except Exception:  # nothing stored, or the peer went away: no ACK, the sender resends
            log.exception("HL7 MLLP connection from %s ended without an ACK", self.client_address)

    def _answer(self, answers: list) -> None:
        """The ACKs in order, up to a message that got none: then the connection is closed."""
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
            self.request.sendall(frame(answer))


class Committer:
    """One thread that receives what the connections submitted together as one batch: one
    transaction, one commit, then each connection gets its answers. Having taken a job, it waits up
    to `LINGER` seconds for the other open connections' next messages (they arrive a moment apart,
    each after its ACK), so that they share the commit instead of alternating small batches."""

    def __init__(self, receive_batch, *, max_batch: int = MAX_BATCH, expected=lambda: 1):
        self.receive_batch, self.max_batch, self.expected = receive_batch, max_batch, expected
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="hl7-committer", daemon=True)
        self.thread.start()

    def receive(self, texts: list[str]) -> list:
        """The ACKs (or the exception of one that got none) for one connection's messages, in order."""
        job = Job(texts)
        self.jobs.put(job)
        job.done.wait()
        return job.answers

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while (jobs := self._take()) is not None:
                self._commit(jobs)
        finally:
            connection.close()

    def _take(self) -> list["Job"] | None:
        """The next job and the ones arriving with it, up to `max_batch` messages; None: stop."""
        jobs = [self.jobs.get()]
        deadline = time.monotonic() + LINGER
        while jobs[-1] is not None and sum(len(job.texts) for job in jobs) < self.max_batch:
            wait = deadline - time.monotonic() if len(jobs) < self.expected() else 0
            try:
                jobs.append(self.jobs.get(timeout=wait) if wait > 0 else self.jobs.get_nowait())
            except queue.Empty:
                break
        if jobs[-1] is None:
            for job in jobs[:-1]:
                job.finish([ConnectionAbortedError("the listener is stopping")] * len(job.texts))
            return None
        return jobs

    def _commit(self, jobs: list["Job"]) -> None:
        texts = [text for job in jobs for text in job.texts]
        try:
            close_old_connections()
            answers = self.receive_batch(texts)
        except Exception as exc:  # the batch could not commit: no message of it is acknowledged
            log.exception("HL7 batch of %d messages not stored", len(texts))
            answers = [exc] * len(texts)
        for job in jobs:
            job.finish(answers[: len(job.texts)])
            answers = answers[len(job.texts) :]


class Job:
    def __init__(self, texts: list[str]):
        self.texts, self.answers, self.done = texts, [], threading.Event()

    def finish(self, answers: list) -> None:
        self.answers = answers
        self.done.set()


class Listener(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128  # the RIS (or a bench) opening many connections at once is not refused

    def __init__(self, address, *, actor, receive_batch=inbound.receive_batch, max_batch: int = MAX_BATCH):
        super().__init__(address, Handler)
        self.actor, self._receive_batch, self.max_batch = actor, receive_batch, max_batch
        self._committer: Committer | None = None
        self._lock = threading.Lock()
        self.open_connections = 0

    def connections_opened(self, change: int) -> None:
        with self._lock:
            self.open_connections += change

    @property
    def committer(self) -> Committer:
        """Started on first use: in a worker process it starts after the fork."""
        with self._lock:
            if self._committer is None:
                self._committer = Committer(
                    self.receive, max_batch=self.max_batch, expected=lambda: self.open_connections
                )
            return self._committer

    def receive(self, texts: list[str]) -> list:
        return self._receive_batch(texts, actor=self.actor, channel="mllp")

    def server_close(self):
        super().server_close()
        if self._committer is not None:
            self._committer.stop()


class Client:
    """A blocking MLLP client: `send` returns the ACK's text; raises OSError on a lost connection."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.framer = Framer()
        self.pending: list[str] = []

    def send(self, text: str) -> str:
        self.sock.sendall(frame(text))
        return self.read()

    def read(self) -> str:
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the listener closed the connection before its ACK")
            self.pending += self.framer.feed(data)
        return self.pending.pop(0)

    def close(self):
        self.sock.close()
