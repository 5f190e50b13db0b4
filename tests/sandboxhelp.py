"""Test helpers for the sandbox: listeners on the host that record every connection and datagram."""

from __future__ import annotations

import selectors
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Hit:
    kind: str  # "tcp" or "udp"
    address: str  # where the listener was
    data: bytes = b""


@dataclass
class Listeners:
    """TCP and UDP sockets on the host; `hits` lists everything that reached them."""

    host: str = "127.0.0.2"
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self.tcp_port = self._listen(self.host, socket.SOCK_STREAM)
        self.udp_port = self._listen(self.host, socket.SOCK_DGRAM)
        self.local_port = self._listen("127.0.0.1", socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _listen(self, host: str, kind: int) -> int:
        sock = socket.socket(socket.AF_INET, kind)
        sock.bind((host, 0))
        if kind == socket.SOCK_STREAM:
            sock.listen(16)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, kind)
        self._sockets.append(sock)
        return sock.getsockname()[1]

    def _record(self, kind: str, sock: socket.socket, data: bytes) -> None:
        host, port = sock.getsockname()[:2]
        with self._lock:
            self.hits.append(Hit(kind, f"{host}:{port}", data[:200]))

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                try:
                    if key.data == socket.SOCK_STREAM:
                        conn, _ = sock.accept()
                        conn.settimeout(0.3)
                        try:
                            data = conn.recv(200)
                        except OSError:
                            data = b""
                        conn.close()
                        self._record("tcp", sock, data)
                    else:
                        data, _ = sock.recvfrom(2048)
                        self._record("udp", sock, data)
                except (BlockingIOError, OSError):
                    continue

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for sock in self._sockets:
            sock.close()
        self._selector.close()

    def __enter__(self) -> "Listeners":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
