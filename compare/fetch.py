"""Documents for `compare add`: a file, stdin, or an http(s) URL.

A URL is fetched with a timeout and a size limit; an HTML page is reduced to
its article text by trafilatura (imported only then). Limits come from the
environment:

    COMPARE_FETCH_TIMEOUT     seconds to wait for the server, in total (default 20)
    COMPARE_FETCH_MAX_BYTES   largest body accepted, in bytes (default 10000000)
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import CompareError

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 10_000_000
USER_AGENT = "compare/0.1 (+statement-comparison tool)"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")


@dataclass
class Document:
    text: str
    url: str | None = None  # set when the text was fetched


def is_url(src: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", src))


def _env_number(name: str, default: float, kind=float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise CompareError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise CompareError(f"{name} must be greater than 0 (got {raw})")
    return value


def fetch_limits() -> tuple[float, int]:
    return (
        _env_number("COMPARE_FETCH_TIMEOUT", DEFAULT_TIMEOUT, float),
        int(_env_number("COMPARE_FETCH_MAX_BYTES", DEFAULT_MAX_BYTES, int)),
    )


def _charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.I)
    return m.group(1) if m else None


def _looks_html(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]


def fetch_url(url: str, what: str, encoding: str | None = None,
              timeout: float | None = None, max_bytes: int | None = None) -> Document:
    """Fetch URL and return its text (the article text of an HTML page)."""
    import socket
    import urllib.error
    import urllib.parse
    import urllib.request

    from .corpus import decode_text

    env_timeout, env_max = fetch_limits()
    timeout = env_timeout if timeout is None else timeout
    max_bytes = env_max if max_bytes is None else max_bytes
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise CompareError(f"cannot fetch {what} URL {url}: only http:// and https:// URLs are supported")
    if not parts.hostname:
        raise CompareError(f"cannot fetch {what} URL {url}: it has no host name")

    class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            target = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl)).scheme.lower()
            if target not in ("http", "https"):
                raise CompareError(f"{what} URL {url} redirected to a non-http(s) address: {newurl}")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    # COMPARE_FETCH_TIMEOUT bounds the whole fetch, not each read: the sockets
    # opened are remembered, and a watchdog shuts them down at the deadline, so
    # a server that trickles its headers or body byte by byte cannot hold us.
    import http.client
    import threading

    sockets: list = []

    class _Conn(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            sockets.append(self.sock)

    class _SConn(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            sockets.append(self.sock)

    class _Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_Conn, req)

    class _Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(_SConn, req)

    expired = threading.Event()

    def _expire() -> None:
        expired.set()
        for sock in list(sockets):
            try:  # the plain socket call, so an SSL object is not torn down under a reader
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    opener = urllib.request.build_opener(_HttpOnlyRedirects, _Http, _Https)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.9, */*;q=0.1"})
    deadline = time.monotonic() + timeout
    watchdog = threading.Timer(timeout, _expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        with opener.open(request, timeout=timeout) as resp:
            final_scheme = urllib.parse.urlsplit(resp.geturl()).scheme.lower()
            if final_scheme not in ("http", "https"):
                raise CompareError(f"{what} URL {url} redirected to a non-http(s) address")
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise CompareError(
                    f"{what} URL {url} is too large ({int(length)} bytes, limit {max_bytes}): "
                    "save the text to a file, or raise COMPARE_FETCH_MAX_BYTES"
                )
            content_type = resp.headers.get("Content-Type", "")
            chunks, size = [], 0
            while True:
                if expired.is_set() or time.monotonic() > deadline:
                    raise socket.timeout("timed out")
                # read1 returns what has arrived; read(n) would wait for all n bytes.
                chunk = resp.read1(65536)
                if expired.is_set() or time.monotonic() > deadline:
                    raise socket.timeout("timed out")
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise CompareError(
                        f"{what} URL {url} is too large (more than {max_bytes} bytes): "
                        "save the text to a file, or raise COMPARE_FETCH_MAX_BYTES"
                    )
                chunks.append(chunk)
            data = b"".join(chunks)
    except CompareError:
        raise
    except Exception as exc:
        if not expired.is_set() and time.monotonic() <= deadline:
            _raise_fetch_error(exc, what, url, timeout)
        raise CompareError(_timeout_message(what, url, timeout)) from None
    finally:
        watchdog.cancel()

    mime = content_type.split(";")[0].strip().lower()
    label = f"{what} URL {url}"
    if mime in _HTML_TYPES or (mime in ("", "application/octet-stream") and _looks_html(data)):
        return Document(_extract_article(data, encoding or _charset(content_type), label), url)
    if mime and not (mime.startswith("text/") or mime in ("application/json", "application/xml")):
        raise CompareError(
            f"{label} is {mime}, not text or HTML: save its text to a file and pass that instead"
        )
    text = decode_text(data, label, encoding or _charset(content_type) or "utf-8")
    return Document(text, url)


def _timeout_message(what: str, url: str, timeout: float) -> str:
    return (
        f"cannot fetch {what} URL {url}: no answer within {timeout:g} s "
        "(raise COMPARE_FETCH_TIMEOUT, or save the page to a file)"
    )


def _raise_fetch_error(exc: Exception, what: str, url: str, timeout: float):
    """Turn a failed fetch into a one-line CompareError."""
    import socket
    import urllib.error

    try:
        raise exc
    except urllib.error.HTTPError as err:
        raise CompareError(f"cannot fetch {what} URL {url}: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise CompareError(_timeout_message(what, url, timeout)) from None
        raise CompareError(f"cannot fetch {what} URL {url}: {reason}") from None
    except (socket.timeout, TimeoutError):
        raise CompareError(_timeout_message(what, url, timeout)) from None
    except (OSError, ValueError) as exc:  # connection reset, bad URL, http.client errors
        raise CompareError(f"cannot fetch {what} URL {url}: {exc}") from None
    except Exception as exc:  # http.client.HTTPException and kin
        raise CompareError(f"cannot fetch {what} URL {url}: {type(exc).__name__}: {exc}") from None


def _extract_article(data: bytes, charset: str | None, label: str) -> str:
    from .corpus import decode_text

    html = decode_text(data, label, charset or "utf-8") if charset else data
    try:
        import trafilatura
    except ImportError:
        raise CompareError("trafilatura is not installed: run scripts/setup.sh (or pip install trafilatura)") from None
    try:
        xml = trafilatura.extract(html, output_format="xml", include_comments=False, include_tables=False)
        text = _blocks_text(xml) if xml else None
    except Exception as exc:  # the extractor raises many kinds on odd markup
        text = None
        print(f"compare: article extraction failed for {label}: {exc}", file=sys.stderr)
    if not text or not text.strip():
        raise CompareError(
            f"no article text could be extracted from {label}: save the text you want "
            "to a file and pass the file instead"
        )
    return text


# The extractor's XML: blocks (a heading, a paragraph, a list item, a quotation) inside
# containers; <lb/> is a <br> inside a block.
_BLOCKS = {"head", "p", "item", "quote", "code"}


def _blocks_text(xml: str) -> str:
    """One paragraph per block, separated by blank lines, so a page's heading is never read
    as the start of its first sentence (the segmenter joins single line breaks, as in
    hard-wrapped text); a <br> inside a block is a space, never a break mid-sentence."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    main = root.find("main")
    blocks: list[str] = []

    def inline(el, nested: list) -> str:
        parts = [el.text or ""]
        for child in el:
            if child.tag in _BLOCKS or child.tag == "list":
                nested.append(child)  # a block inside a block (a list in an item): after it
            else:
                parts.append(" " if child.tag == "lb" else inline(child, nested))
            parts.append(child.tail or "")
        return "".join(parts)

    def walk(el) -> None:
        if el.tag in _BLOCKS:
            nested: list = []
            text = " ".join(inline(el, nested).split())
            if text:
                blocks.append(("- " if el.tag == "item" else "") + text)
            for child in nested:
                walk(child)
            return
        for child in el:
            walk(child)

    walk(main if main is not None else root)
    return "\n\n".join(blocks) + "\n" if blocks else ""


def read_source(src: str, what: str, encoding: str | None = None) -> Document:
    """A document from a file path, '-' (stdin) or an http(s) URL."""
    from .corpus import decode_text, read_limited, read_text_file

    if src == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise CompareError(f"stdin is closed, so the {what} cannot be read from '-': pass a file")
        data = read_limited(sys.stdin.buffer, f"{what} from stdin")
        return Document(decode_text(data, f"{what} from stdin", encoding or "utf-8"))
    if is_url(src):
        return fetch_url(src, what, encoding)
    return Document(read_text_file(Path(src), what, encoding or "utf-8"))
