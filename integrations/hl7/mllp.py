"""MLLP (\\x0b message \\x1c\\x0d) over TCP: the listener `manage.py hl7_listen` runs as its own
process, and the client the outbound orders, the tests and bench/hl7.py use.

One thread per connection (socketserver); messages on one connection are handled one at a time, in
order, each acknowledged after its transaction commits (integrations/hl7/inbound.py). A message that
could not be stored gets no ACK: the connection is closed and the sender resends."""

import logging
import socket
import socketserver

from django.db import close_old_connections, connection

from . import inbound

log = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE = 1_000_000


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
    def handle(self):
        framer = Framer()
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                for text in framer.feed(data):
                    ack = self.server.receive(text)
                    self.request.sendall(frame(ack))
        except Exception:  # nothing stored, or the peer went away: no ACK, the sender resends
            log.exception("HL7 MLLP connection from %s ended without an ACK", self.client_address)
        finally:
            connection.close()


class Listener(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, *, actor, receive=inbound.receive):
        super().__init__(address, Handler)
        self.actor, self._receive = actor, receive

    def receive(self, text: str) -> str:
        close_old_connections()
        return self._receive(text, actor=self.actor, channel="mllp")


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
