"""The demo's HTTP client: the public API only, as any outside client would use it.

- Creates send an `Idempotency-Key`, so a retry after a 503, a timeout or a dropped connection
  replays the first response instead of creating twice (API.md "Conventions").
- 503 (`service-unavailable`) is retried after its `Retry-After` (capped, so a demo does not
  sit idle for a minute), a 409 "in progress" of a key still being served likewise; after
  `RETRY_FOR_SECONDS` the error is raised.
- An expired token (401) is renewed once by logging in again with the caller's credentials.
- `pool.map` runs calls on a thread pool: seeding thousands of workers is I/O bound on our side.
"""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

RETRY_FOR_SECONDS = 180
RETRY_AFTER_CAP_SECONDS = 5.0
TIMEOUT_SECONDS = 60


class ApiError(RuntimeError):
    """A response the demo did not expect: the status, the problem document and the request."""

    def __init__(self, method, path, status, body):
        self.method, self.path, self.status, self.body = method, path, status, body
        problem = body if isinstance(body, dict) else {}
        self.type = str(problem.get("type", "")).rsplit("/", 1)[-1]
        self.rules = problem.get("rules", [])
        super().__init__(f"{method} {path} -> {status}: {body}")


class Caller:
    """Someone signed in (or nobody, for self-registration): an email, a password and a token."""

    def __init__(self, api, email=None, password=None):
        self.api, self.email, self.password = api, email, password
        self.token = None
        self._lock = threading.Lock()

    def login(self):
        response = self.api.send("POST", "/v1/auth/token", {"email": self.email, "password": self.password})
        self.token = response["access_token"]
        return self

    def call(self, method, path, body=None, ok=(200, 201), params=None, idempotent=False, raw=False):
        if self.email and self.token is None:
            with self._lock:
                if self.token is None:
                    self.login()
        try:
            return self.api.send(method, path, body, token=self.token, ok=ok, params=params,
                                 idempotent=idempotent, raw=raw)
        except ApiError as error:
            if error.status != 401 or not self.email:
                raise
            self.login()  # the token expired during a long run
            return self.api.send(method, path, body, token=self.token, ok=ok, params=params,
                                 idempotent=idempotent, raw=raw)

    def get(self, path, **params):
        return self.call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def create(self, path, body):
        """A POST that creates: 201, with an Idempotency-Key so that a retry creates once."""
        return self.call("POST", path, body, ok=(201,), idempotent=True)

    def put(self, path, body):
        return self.call("PUT", path, body)

    def patch(self, path, body):
        return self.call("PATCH", path, body)

    def pages(self, path, **params):
        """Every item of a list endpoint, following `next_cursor`."""
        params = {k: v for k, v in params.items() if v is not None}
        params.setdefault("limit", 500)
        while True:
            page = self.call("GET", path, params=params)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]


class Api:
    """The gateway at `base_url`; `threads` concurrent calls at most."""

    def __init__(self, base_url, threads=16):
        self.base_url = base_url.rstrip("/")
        self.threads = threads
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=threads * 2, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.requests = 0
        self.retries = 0
        self._count = threading.Lock()

    def anonymous(self):
        return Caller(self)

    def user(self, email, password):
        return Caller(self, email, password)

    def send(self, method, path, body=None, token=None, ok=(200, 201), params=None, idempotent=False,
             raw=False):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while True:
            with self._count:
                self.requests += 1
            try:
                response = self.session.request(method, self.base_url + path, json=body, params=params,
                                                headers=headers, timeout=TIMEOUT_SECONDS)
            except requests.RequestException as exc:
                # A dropped connection or a timeout: the outcome is unknown. A create retries under
                # its key; a read retries; any other write is retried by its caller, who knows
                # how to tell whether it took effect.
                if (idempotent or method == "GET") and time.monotonic() < deadline:
                    self._retrying(1.0)
                    continue
                raise ApiError(method, path, 0, repr(exc)) from exc
            if response.status_code in ok:
                if raw:
                    return response
                return response.json() if response.content else None
            retry_after = None
            if response.status_code == 503:
                retry_after = float(response.headers.get("Retry-After", "1"))
            elif response.status_code == 409 and idempotent and "in progress" in response.text:
                retry_after = 1.0
            if retry_after is not None and time.monotonic() < deadline:
                self._retrying(min(retry_after, RETRY_AFTER_CAP_SECONDS))
                continue
            try:
                problem = response.json()
            except ValueError:
                problem = response.text
            raise ApiError(method, path, response.status_code, problem)

    def _retrying(self, seconds):
        with self._count:
            self.retries += 1
        time.sleep(seconds)

    def map(self, function, items, progress=None):
        """function(item) for every item, `threads` at a time, results in the items' order;
        progress() after each. The first error is raised once the others finished."""
        items = list(items)

        def run(item):
            try:
                return function(item)
            finally:
                if progress:
                    progress()

        if len(items) <= 1 or self.threads <= 1:
            return [run(item) for item in items]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(run, items))
