"""Files: extraction time per page (a text PDF, a scanned PDF), upload throughput, and the
frame gaps of 50 live streams while a 200-page PDF is uploaded and extracted, against the
same 50 streams without it (the extraction runs in its own processes: the streams' p99 gap
should not move beyond the machine's noise).

    .venv/bin/python bench/files_bench.py

Figures, not a pass/fail; the app and the fake upstream run as processes on loopback, as in
bench/run.py, whose helpers this uses.
"""

from __future__ import annotations

import asyncio
import io
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    STARTUP_TIMEOUT,
    Service,
    User,
    child_env,
    find,
    percentile,
    sse_events,
    start_app,
)
from tests import files_helpers  # noqa: E402

from hyperchat.files import extractors  # noqa: E402

STREAMS = 50
# Long enough that the 200-page PDF is read while every stream is open.
TTFT, INTERVAL, TOKENS = 0.2, 0.02, 300
PDF_PAGES = 200


def scanned_pdf(pages: int) -> bytes:
    images = [files_helpers.text_image([f"Scanned page {n}", "The quick brown fox"],
                                       size=(1275, 500)) for n in range(pages)]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


def per_page(data: bytes, pages: int, ocr: bool) -> float:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        started = time.perf_counter()
        extractors.pdf_page_count(file.name, 10_000)
        extractors.pdf_pages(file.name, 0, pages, ocr, "eng", 40_000_000)
        return (time.perf_counter() - started) * 1000 / pages


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return body + data + f"\r\n--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


async def upload(user: User, name: str, data: bytes, wait: bool) -> tuple[int, float]:
    body, content_type = multipart(name, data)
    started = time.perf_counter()
    response = await user.fetch("POST", f"/api/v1/files/upload?wait={str(wait).lower()}",
                                {"Content-Type": content_type, "X-CSRF-Token": user.csrf,
                                 "Accept": "application/json"}, body)
    await response.read()
    response.release()
    return response.status, time.perf_counter() - started


async def stream_gaps(user: User, n: int) -> list[float]:
    """Send one message and follow its reply: the gaps between its token frames (ms)."""
    form = urlencode({"content": f"Files bench {n}", "csrf_token": user.csrf})
    response = await user.fetch("POST", "/messages", {
        "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"},
        form.encode())
    text = (await response.read()).decode()
    response.release()
    response.raise_for_status()
    stream = await user.fetch("GET", find(text).stream_url, {"Accept": "text/event-stream"})
    times, buffer = [], bytearray()
    async for chunk in stream.chunks():
        now = time.perf_counter()
        buffer += chunk.replace(b"\r\n", b"\n")
        for event in sse_events(buffer):
            if "id" in event and "event" not in event and "<" not in event.get("data", "<"):
                times.append(now)
    stream.release()
    return [(b - a) * 1000 for a, b in zip(times, times[1:], strict=False)]


async def round_of(users: list[User], pdf_user: User | None, pdf: bytes) -> dict:
    tasks = [asyncio.create_task(stream_gaps(user, i)) for i, user in enumerate(users)]
    extraction = None
    if pdf_user is not None:
        await asyncio.sleep(TTFT + 0.5)  # every stream flowing
        status, extraction = await upload(pdf_user, "long.pdf", pdf, wait=True)
        assert status == 201, status
    gaps = [gap for task in await asyncio.gather(*tasks) for gap in task]
    return {"p50": percentile(gaps, 50), "p99": percentile(gaps, 99), "max": max(gaps),
            "frames": len(gaps), "extraction_s": extraction}


async def against_app(url: str) -> dict:
    host, port = urlsplit(url).hostname, urlsplit(url).port
    users = [User(host, port) for _ in range(STREAMS + 1)]
    for user in users:
        await user.load_page()
    figures: dict = {}
    data = b"".join(b"line %06d of a long text file to upload\n" % i for i in range(500_000))
    speeds = []
    for _ in range(3):
        status, seconds = await upload(users[-1], "big.txt", data, wait=False)
        assert status == 202, status
        speeds.append(len(data) / seconds / 1e6)
    figures["upload"] = (len(data), statistics.median(speeds))
    pdf = files_helpers.text_pdf([f"Page {n}: a line of text on this page." for n in
                                  range(PDF_PAGES)])
    figures["without"] = [await round_of(users[:STREAMS], None, pdf) for _ in range(2)]
    figures["with"] = [await round_of(users[:STREAMS], users[-1], pdf) for _ in range(2)]
    return figures


def start_fake(tmp: Path) -> tuple[Service, str]:
    args = [sys.executable, "-m", "tests.fake_upstream", "--port", "0", "--ttft", str(TTFT),
            "--interval", str(INTERVAL), "--tokens", str(TOKENS)]
    fake = Service("fake upstream", args, child_env({}), tmp / "fake.log")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        fake.check_alive()
        if match := re.search(r"^READY (\S+)$", fake.log_path.read_text(), re.M):
            return fake, match.group(1)
        time.sleep(0.05)
    raise RuntimeError("fake upstream not ready")


def main() -> int:
    text = files_helpers.text_pdf([f"Page {n}: the quarterly figures." for n in range(100)])
    print(f"extraction, text PDF (100 pages):   {per_page(text, 100, False):6.2f} ms/page")
    scanned = scanned_pdf(5)
    print(f"extraction, scanned PDF (5 pages):  {per_page(scanned, 5, True):6.0f} ms/page (OCR)")
    with tempfile.TemporaryDirectory(prefix="files-bench-") as folder:
        tmp = Path(folder)
        fake, upstream = start_fake(tmp)
        app = None
        try:
            app, url = start_app(tmp, upstream, "sqlite://{tmp}/bench.sqlite3", extra={
                "UPLOAD_DIR": str(tmp / "uploads"),
                "HYPERCHAT_MAX_UPLOAD_SIZE": str(64 * 1024 * 1024),
                "HYPERCHAT_WRITE_RATE_LIMIT": "1000000",
                "HYPERCHAT_SSE_MAX_PER_ADDRESS": "1000",
                "HYPERCHAT_CONCURRENT_GENERATIONS_PER_ADDRESS": "1000000"})
            figures = asyncio.run(against_app(url))
        finally:
            if app is not None:
                app.stop()
            fake.stop()
    size, speed = figures["upload"]
    print(f"upload throughput ({size / 1e6:.0f} MB text file, stored, not yet read): "
          f"{speed:.0f} MB/s")
    print(f"frame gaps of {STREAMS} live streams (ms; tokens every {INTERVAL * 1000:.0f} ms, "
          "coalesced):")
    for label in ("without", "with"):
        for i, result in enumerate(figures[label], 1):
            extra = (f", the {PDF_PAGES}-page PDF uploaded and read in "
                     f"{result['extraction_s']:.2f} s" if result["extraction_s"] else "")
            print(f"  {label:7} a PDF, round {i}: p50 {result['p50']:.1f}  p99 "
                  f"{result['p99']:.1f}  max {result['max']:.1f}  ({result['frames']} gaps"
                  f"{extra})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
