"""Minimal HTTP for ArcGIS FeatureServer query endpoints (stdlib ``urllib`` only).

Private to `geo.fetch`. One function does one JSON request with retries: exponential backoff on
5xx, 429, timeouts and dropped connections (the failures a busy public portal produces), and an
immediate, named error on anything else, because retrying a 404 or a malformed query only wastes
the person's time.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from geo.errors import FetchError

_USER_AGENT = "crossforce-fetch/0.1 (+https://geoportal.statistics.gov.uk)"


def _retryable_status(code: int) -> bool:
    return code == 429 or 500 <= code <= 599


@dataclass
class RequestStats:
    """Counts shared by every request of one fetch."""

    requests: int = 0
    retries: int = 0


def query_url(layer_url: str) -> str:
    """Return the ``/query`` endpoint of a FeatureServer layer URL.

    Accepts the layer URL (``…/FeatureServer/0``), its ``/query`` endpoint, or either with a query
    string (dropped: crossforce sets its own parameters).
    """
    parts = urllib.parse.urlsplit(layer_url.strip())
    path = parts.path.rstrip("/")
    if not path.endswith("/query"):
        path += "/query"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def get_json(
    url: str,
    params: Mapping[str, str | int],
    *,
    source: str,
    attempts: int,
    backoff_s: float,
    timeout_s: float,
    stats: RequestStats,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """GET ``url?params`` and return the JSON object, retrying transient failures.

    Parameters
    ----------
    url
        The query endpoint.
    params
        Query-string parameters.
    source
        The source's name, used in error messages.
    attempts
        Most attempts in all (the first one included); at least one is made.
    backoff_s
        Wait before the second attempt; doubled before each further one.
    timeout_s
        Socket timeout of each attempt.
    stats
        Incremented with every request and every retry.
    sleep
        The waiting function (tests pass a no-op).

    Returns
    -------
    dict
        The decoded JSON object.

    Raises
    ------
    FetchError
        On a non-retryable HTTP status, a body that is not a JSON object, an ArcGIS ``error``
        body, or when every attempt failed; ``problems`` lists each attempt's failure.
    """
    full = f"{url}?{urllib.parse.urlencode(params)}"
    # S310 asks that the URL's scheme be audited: it is one of fetch.py's ArcGIS endpoints or
    # the operator's own --source, which tests point at a local server. S is only in the
    # maintainer's stricter rule set, hence RUF100 too.
    request = urllib.request.Request(  # noqa: S310, RUF100
        full, headers={"User-Agent": _USER_AGENT, "Accept": "application/json"}
    )
    failures: list[str] = []
    total = max(1, attempts)
    for attempt in range(1, total + 1):
        if attempt > 1:
            stats.retries += 1
            sleep(backoff_s * 2 ** (attempt - 2))
        stats.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310, RUF100
                body = response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            failure = f"attempt {attempt}: HTTP {exc.code} {exc.reason}"
            failures.append(failure)
            if _retryable_status(exc.code):
                continue
            raise FetchError(
                f"could not fetch {source}: HTTP {exc.code} {exc.reason} from {url}",
                problems=failures,
            ) from exc
        except (
            urllib.error.URLError,
            TimeoutError,
            ConnectionError,
            http.client.HTTPException,
        ) as exc:
            reason = getattr(exc, "reason", exc)
            failures.append(f"attempt {attempt}: {type(exc).__name__}: {reason}")
            continue
        payload = _decode(body, source=source, url=url, failures=failures, attempt=attempt)
        error = payload.get("error")
        if error is None:
            return payload
        code, message = _arcgis_error(error)
        failures.append(f"attempt {attempt}: ArcGIS error {code}: {message}")
        # ArcGIS reports overload inside a 200 response as {"error": {"code": 503, ...}}.
        if isinstance(code, int) and _retryable_status(code):
            continue
        raise FetchError(
            f"could not fetch {source}: the server answered with error {code}: {message}",
            problems=failures,
        )
    raise FetchError(
        f"could not fetch {source}: {failures[-1].split(': ', 1)[1]} (gave up after "
        f"{total} attempt{'s' if total != 1 else ''})",
        problems=failures,
    )


def _decode(
    body: bytes, *, source: str, url: str, failures: list[str], attempt: int
) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors.
        failures.append(f"attempt {attempt}: not valid JSON ({exc})")
        raise FetchError(
            f"could not fetch {source}: the answer from {url} is not valid JSON", problems=failures
        ) from exc
    if not isinstance(payload, dict):
        failures.append(f"attempt {attempt}: JSON {type(payload).__name__}, not an object")
        raise FetchError(
            f"could not fetch {source}: the answer from {url} is not a JSON object",
            problems=failures,
        )
    return payload


def _arcgis_error(error: object) -> tuple[object, str]:
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        details = error.get("details")
        if isinstance(details, list) and details:
            message += " (" + "; ".join(str(d) for d in details) + ")"
        return error.get("code"), message
    return None, str(error)
