"""A TCP proxy that tests put between services and a server (RabbitMQ, PostgreSQL) to cut
it off and bring it back as an outage would, without touching the real server that other
tests share.

    proxy = FaultProxy("127.0.0.1", 5672).start()       # listens on proxy.port
    config["AMQP_URI"] = proxy.uri("amqp://guest:guest@127.0.0.1:5672/vhost")
    proxy.cut()        # every connection dropped, new ones refused (ECONNREFUSED)
    proxy.restore()    # listening again on the same port
    proxy.stop()

The proxy runs in its own process (`python -m chassis.faults TARGET_HOST TARGET_PORT PORT`,
plain threads, no eventlet), so that it never competes with the services under test for
their event loop; the test drives it with SIGUSR1 (cut) and SIGUSR2 (restore), and it
answers each with a line on stdout.
"""

import signal
import socket
import subprocess
import sys
import threading
from urllib.parse import urlsplit, urlunsplit


class FaultProxy:
    """The test's handle on a proxy process."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self._process = None

    def uri(self, url):
        """`url` pointed at this proxy instead of the server."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def start(self):
        self._process = subprocess.Popen(
            [sys.executable, "-m", "chassis.faults", self.target[0], str(self.target[1]), "0"],
            stdout=subprocess.PIPE, text=True)
        self.port = int(self._expect("listening").split()[1])
        return self

    def cut(self):
        self._process.send_signal(signal.SIGUSR1)
        self._expect("cut")

    def restore(self):
        self._process.send_signal(signal.SIGUSR2)
        self._expect("listening")

    def stop(self):
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(5)

    def _expect(self, word):
        line = self._process.stdout.readline()
        if not line.startswith(word):
            raise RuntimeError(f"fault proxy said {line!r}, expected {word}")
        return line


# --- the proxy process -----------------------------------------------------------------

class _Proxy:
    def __init__(self, target, port):
        self.target, self.port = target, port
        self.lock = threading.Lock()
        self.listener = None
        self.sockets = set()

    def listen(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        print(f"listening {self.port}", flush=True)

    def cut(self):
        with self.lock:
            listener, self.listener = self.listener, None
            doomed, self.sockets = list(self.sockets), set()
        if listener is not None:
            _close(listener)
        for sock in doomed:
            _close(sock)
        print("cut", flush=True)

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self.lock:
                if self.listener is not listener:
                    _close(client)
                    _close(upstream)
                    return
                self.sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def main(argv):
    host, target_port, port = argv
    proxy = _Proxy((host, int(target_port)), int(port))
    signal.signal(signal.SIGUSR1, lambda *_: proxy.cut())
    signal.signal(signal.SIGUSR2, lambda *_: proxy.listen())
    proxy.listen()
    while True:
        signal.pause()


if __name__ == "__main__":
    main(sys.argv[1:])
