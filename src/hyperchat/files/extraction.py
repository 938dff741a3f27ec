"""Text out of a stored file, off the event loop: the extractors (files/extractors.py) run in
EXTRACT_WORKERS processes of their own (not the markdown renderer's: a long PDF must not
hold up pages), with EXTRACT_TIMEOUT seconds per file in all. A PDF is read a few pages per
call, so the chip can say "page N of M" and the time limit is checked between calls."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from hyperchat.files import extractors, sniffing
from hyperchat.files.extractors import ExtractionError
from hyperchat.process_pools import new_process_pool

log = logging.getLogger(__name__)

# Pages per call: small enough for a steady "page N of M", large enough that a text PDF
# (a few milliseconds a page) is not all round trips.
PAGES_PER_CALL = 8
# Beyond the per-file limit, how long a process gets to give up by itself before it is killed.
GRACE = 5.0


@dataclass
class Extracted:
    text: str
    pages: int | None = None
    ocr_pages: int = 0
    confidence: float | None = None


Progress = Callable[[int, int], Awaitable[None]]


@dataclass
class Limits:
    timeout: float = 120.0
    pdf_max_pages: int = 500
    max_image_pixels: int = 40_000_000
    docx_max_unpacked: int = 200 * 1024 * 1024
    ocr: bool = True
    languages: str = "eng"


class Extractor:
    def __init__(self, workers: int, limits: Limits) -> None:
        self.workers = workers
        self.limits = limits
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()

    @property
    def ocr(self) -> bool:
        """OCR is on (OCR_ENABLED) and tesseract is installed."""
        return self.limits.ocr and extractors.ocr_available()

    async def extract(self, path: str, kind: str, progress: Progress) -> Extracted:
        """The text of the file at `path` of `kind` (not audio: files/transcription.py).
        Raises ExtractionError."""
        deadline = time.monotonic() + self.limits.timeout
        limits = self.limits
        if kind == sniffing.PDF:
            return await self._pdf(path, deadline, progress)
        if kind == sniffing.DOCX:
            return Extracted(await self._call(deadline, extractors.docx_markdown, path,
                                              limits.docx_max_unpacked))
        if kind == sniffing.TEXT:
            return Extracted(await self._call(deadline, extractors.plain_text, path))
        if kind == sniffing.IMAGE:
            if not self.ocr:
                raise ExtractionError(self.no_ocr_reason() + " Images are read by OCR only.")
            read = await self._call(deadline, extractors.image_text, path, limits.languages,
                                    limits.max_image_pixels)
            return Extracted(read.text, confidence=read.confidence, ocr_pages=1)
        raise ExtractionError(f"No extractor for {kind}.")

    def no_ocr_reason(self) -> str:
        if not self.limits.ocr:
            return "OCR is turned off on this server (OCR_ENABLED)."
        return "OCR is not available on this server (tesseract-ocr is not installed)."

    async def _pdf(self, path: str, deadline: float, progress: Progress) -> Extracted:
        limits = self.limits
        total = await self._call(deadline, extractors.pdf_page_count, path, limits.pdf_max_pages)
        await progress(0, total)
        pages: list[extractors.Read] = []
        ocr = self.ocr
        for start in range(0, total, PAGES_PER_CALL):
            stop = min(start + PAGES_PER_CALL, total)
            pages += await self._call(deadline, extractors.pdf_pages, path, start, stop, ocr,
                                      limits.languages, limits.max_image_pixels)
            await progress(stop, total)
        ocrd = [page.confidence for page in pages if page.confidence is not None]
        text = "\n\n".join(f"[Page {number}]\n{page.text}" if total > 1 else page.text
                           for number, page in enumerate(pages, 1) if page.text)
        if not text.strip():
            raise ExtractionError(
                "This PDF has no text layer" + (" and OCR found no words in it." if ocr else
                                                f". {self.no_ocr_reason()}"))
        return Extracted(text, pages=total, ocr_pages=len(ocrd),
                         confidence=round(sum(ocrd) / len(ocrd), 1) if ocrd else None)

    async def _call(self, deadline: float, function, *args):
        left = deadline - time.monotonic()
        if left <= 0:
            raise ExtractionError(f"Reading this file took longer than the limit "
                                  f"({self.limits.timeout:.0f} s per file).")
        pool = await self._started()
        try:
            future = await asyncio.to_thread(pool.submit, extractors.bounded, left, function,
                                             *args)
            return await asyncio.wait_for(asyncio.wrap_future(future), left + GRACE)
        except ExtractionError:
            raise
        except (TimeoutError, BrokenProcessPool):
            # Stuck in C code past its own timer, or killed: start afresh for the next file.
            log.warning("extraction: a worker process was stuck or died; restarting the pool")
            await self._discard(pool)
            raise ExtractionError(f"Reading this file took longer than the limit "
                                  f"({self.limits.timeout:.0f} s per file).") from None
        except Exception as error:
            log.exception("extraction failed in its process")
            raise ExtractionError(f"This file could not be read ({type(error).__name__}).") \
                from None

    async def _started(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(self._new_pool)
            return self._pool

    def _new_pool(self) -> ProcessPoolExecutor:
        return new_process_pool(self.workers, extractors.__name__)

    async def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        await asyncio.to_thread(pool.shutdown, wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
