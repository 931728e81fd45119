"""Slow clients cannot take the gateway: a connection that stalls mid-request is closed after
GATEWAY_SOCKET_TIMEOUT_SECONDS, so clients who send a request's start and then nothing (more of
them than the gateway has workers) leave it serving everyone else."""

import socket
import time

import pytest

MAX_WORKERS = 10


@pytest.fixture
def gateway_overrides():
    return {"GATEWAY_SOCKET_TIMEOUT_SECONDS": 1.5, "max_workers": MAX_WORKERS}


def _stall(port):
    """A login whose body never comes: its worker waits for the body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{\"email\": ")
    return sock


def test_stalled_clients_are_cut_off_and_the_gateway_serves_others(api):
    port = int(api.base_url.rsplit(":", 1)[1])
    stalled = [_stall(port) for _ in range(MAX_WORKERS + 5)]
    try:
        started = time.monotonic()
        answered = api.get("/v1/openapi.json")  # needs a worker too
        assert answered.status_code == 200
        assert time.monotonic() - started < 8, "the gateway waited on the stalled clients"
        for sock in stalled:  # each was closed by the server (an empty read), none answered with a body
            sock.settimeout(5)
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            timed_out = data.startswith(b"HTTP/1.1 408") and b"/problems/request-timeout" in data
            assert data == b"" or timed_out, data[:300]
    finally:
        for sock in stalled:
            sock.close()
