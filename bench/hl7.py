"""Inbound HL7 v2 through the MLLP listener (docs/benchmarks.md, "HL7 v2 inbound"):

    DATABASE_URL=postgres://…/carepath_x .venv/bin/python -m bench.hl7 [--messages 4000] [--connections 4]
        [--workers 1] [--window 1]

1. Baseline: a bare MLLP echo listener (a socketserver answering a fixed ACK, no parsing, no database)
   on the same connections: the transport's own ceiling on this machine.
2. The real listener (`manage.py hl7_listen --workers N`, its own processes): every message parsed,
   handled in its savepoint, inserted with its MSH-10 (unique) and its ACK, committed (with the messages
   that arrived together on the other connections), then acknowledged. The
   messages are order-status messages for an order CarePath does not know (AE 204): the whole store,
   dedupe and ACK path, without an imaging transition (those are measured by bench/transitions.py).
3. Kill and restart: the listener (all its processes) is killed (SIGKILL) mid-stream and started again;
   each client resends
   every message it has no ACK for. Afterwards each control id must have exactly one row (0 lost, 0
   duplicated) and every message an ACK.
"""

import argparse
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
django.setup()

from integrations.hl7 import samples  # noqa: E402
from integrations.hl7.mllp import Client, Framer, frame  # noqa: E402
from integrations.hl7.models import InboundMessage  # noqa: E402

ACK = "MSH|^~\\&|CAREPATH|CAREPATH|RIS|HOSP|20261205||ACK^O23^ACK|E1|P|2.5.1\rMSA|AA|X\r"


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        framer = Framer()
        while data := self.request.recv(65536):
            for _ in framer.feed(data):
                self.request.sendall(frame(ACK))


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = 128  # as the listener's: 12 connections opened at once are not held back by SYN retries


def messages(run: str, n: int) -> list[str]:
    return [samples.order_status("OMI", f"{run}-{i}", placer="CP-MRI-0", status="IP") for i in range(n)]


def drive(port: int, batches: list[list[str]], acked: dict, *, patient: bool, window: int = 1) -> float:
    """Each batch on its own connection, up to `window` messages sent ahead of their ACKs (1: each
    message waits for the previous one's ACK, as MLLP's senders ordinarily do). On a lost connection
    the client reconnects and resends, in order, every message it has no ACK for."""

    def one(batch):
        client, sent, unacked = None, 0, 0
        while sent < len(batch) or unacked:
            try:
                client = client or Client("127.0.0.1", port, timeout=30)
                while sent < len(batch) and unacked < window:
                    client.sock.sendall(frame(batch[sent]))
                    sent, unacked = sent + 1, unacked + 1
                acked[batch[sent - unacked]] = client.read()
                unacked -= 1
            except OSError:
                if client:
                    client.close()
                client, sent, unacked = None, sent - unacked, 0
                if not patient:
                    raise
                time.sleep(0.05)
        if client:
            client.close()

    threads = [threading.Thread(target=one, args=(b,)) for b in batches]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def split(items, k):
    return [items[i::k] for i in range(k)]


def listener(port: int, workers: int) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "hl7_listen", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    proc.stdout.readline()  # "HL7 MLLP listener on …": listening
    return proc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=27170)
    parser.add_argument("--workers", type=int, default=1, help="hl7_listen --workers")
    parser.add_argument("--window", type=int, default=1, help="messages a connection sends ahead of their ACKs")
    args = parser.parse_args()
    run = f"B{int(time.time())}"
    n, k = args.messages, args.connections

    echo = EchoServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    acked: dict = {}
    base = drive(echo.server_address[1], split(messages(f"{run}e", n), k), acked, patient=False, window=args.window)
    echo.shutdown()
    print(f"baseline echo: {n / base:.0f} msg/s")

    proc = listener(args.port, args.workers)
    acked = {}
    real = drive(args.port, split(messages(f"{run}r", n), k), acked, patient=False, window=args.window)
    rate = n / real
    rows = InboundMessage.objects.filter(control_id__startswith=f"{run}r-").count()
    print(f"listener: {rate:.0f} msg/s ({rate / (n / base):.2f} of the echo), rows {rows}/{n}")

    acked = {}
    stream = messages(f"{run}k", n)
    restarted = {}

    def kill_then_restart():
        """Once half the stream is acknowledged: SIGKILL to every process of the listener, 0.5 s down."""
        while len(acked) < n // 2:
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)
        restarted["proc"] = listener(args.port, args.workers)

    killer = threading.Thread(target=kill_then_restart)
    killer.start()
    took = drive(args.port, split(stream, k), acked, patient=True, window=args.window)
    killer.join()
    ids = [f"{run}k-{i}" for i in range(n)]
    stored = InboundMessage.objects.filter(control_id__in=ids)
    copies = sum(stored.values_list("duplicates", flat=True))
    print(
        f"kill/restart: {len(acked)}/{n} acknowledged, {stored.count()} rows for {n} ids "
        f"(lost {n - stored.count()}, duplicated 0 by the unique MSH-10), {copies} resent copies answered "
        f"with the first ACK, {took:.1f} s"
    )
    restarted["proc"].send_signal(signal.SIGTERM)
    restarted["proc"].wait()


if __name__ == "__main__":
    main()
