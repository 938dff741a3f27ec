"""gzip for what a page loads: HTML, CSS, scripts, SVG and JSON, when the browser accepts it.

The first load of a page is most of its weight (htmx and the stylesheet), and text shrinks to
a third or less. Streamed bodies (SSE, the export zip) are left alone: compressing them would
hold frames back until a compressor block fills. Compressed bodies of files are cached by
path and modification time, so a static file is compressed once per change, not per request.
"""

import gzip
from functools import lru_cache

from quart import Quart, request
from quart.wrappers.response import DataBody, FileBody

TYPES = {"text/html", "text/css", "text/javascript", "application/javascript",
         "image/svg+xml", "application/json"}
MIN_BYTES = 1024  # below this the header costs more than it saves


@lru_cache(maxsize=256)
def _compressed_file(path: str, mtime: float) -> bytes:
    with open(path, "rb") as file:
        return gzip.compress(file.read(), compresslevel=6, mtime=0)


def init_app(app: Quart) -> None:
    @app.after_request
    async def compress(response):
        response.vary.add("Accept-Encoding")
        if ("gzip" not in request.accept_encodings or response.status_code != 200
                or response.mimetype not in TYPES or "Content-Encoding" in response.headers
                or request.method == "HEAD"):
            return response
        body = response.response
        if isinstance(body, FileBody):
            if body.begin != 0 or body.end != body.size:  # a range: sent as asked
                return response
            data = _compressed_file(str(body.file_path), body.file_path.stat().st_mtime)
        elif isinstance(body, DataBody):
            raw = await response.get_data()
            if len(raw) < MIN_BYTES:
                return response
            data = gzip.compress(raw, compresslevel=6, mtime=0)
        else:  # streamed
            return response
        response.set_data(data)
        response.headers["Content-Encoding"] = "gzip"
        return response
