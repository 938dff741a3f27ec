"""Reading text out of files. These functions run in the extraction processes
(files/extraction.py), never on the event loop: a 200-page PDF or a page of OCR takes
seconds. Each raises ExtractionError with a message meant for the person who uploaded."""

import shutil
import signal
import warnings
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class ExtractionError(Exception):
    """The file cannot be read; str() is the message the chip shows."""


class _TimeUp(Exception):
    pass


def _on_alarm(_signum, _frame):
    raise _TimeUp


def bounded(seconds: float, function, *args):
    """Call `function(*args)` for at most `seconds` (a timer signal interrupts it, so this
    process is free again for the next file); past it, ExtractionError."""
    if not hasattr(signal, "setitimer"):  # Windows: the caller's own wait still bounds it
        return function(*args)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        return function(*args)
    except _TimeUp:
        raise ExtractionError(f"Reading this file took longer than the limit "
                              f"({seconds:.0f} s left of the time allowed per file).") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


# ----------------------------------------------------------------------------- OCR


@lru_cache(maxsize=1)
def ocr_available() -> bool:
    """Whether Debian's tesseract (and pytesseract) can be run here."""
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract
        pytesseract.get_tesseract_version()
    except Exception:
        return False
    return True


@dataclass
class Read:
    text: str
    confidence: float | None = None  # OCR only: mean word confidence, 0-100


def ocr_image(image, languages: str) -> Read:
    """The words tesseract finds in a Pillow image, line by line, with their mean
    confidence."""
    import pytesseract
    data = pytesseract.image_to_data(image.convert("RGB"), lang=languages,
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple, list[str]] = {}
    confidences = []
    for i, word in enumerate(data["text"]):
        confidence = float(data["conf"][i])
        if confidence < 0 or not word.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
        confidences.append(confidence)
    text = "\n".join(" ".join(words) for words in lines.values())
    return Read(text, round(sum(confidences) / len(confidences), 1) if confidences else 0.0)


# ----------------------------------------------------------------------------- images


def image_text(path: str, languages: str, max_pixels: int) -> Read:
    """OCR of an image file (the first frame of a GIF or TIFF)."""
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        # Pillow warns between MAX_IMAGE_PIXELS and twice that, and refuses beyond: both refused.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                width, height = image.size  # read from the header, nothing decoded yet
                if width * height > max_pixels:
                    raise ExtractionError(_too_many_pixels(width, height, max_pixels))
                image.load()
                return ocr_image(image, languages)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ExtractionError("This image decodes to too many pixels (a decompression "
                                  "bomb?); it was not read.") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise ExtractionError(f"This image is damaged or cut off and cannot be read "
                                  f"({error}).") from None


def _too_many_pixels(width: int, height: int, max_pixels: int) -> str:
    return (f"This image is {width:,} x {height:,} pixels; at most {max_pixels:,} pixels are "
            "read (a small file that decodes to a huge image is a decompression bomb).")


# ----------------------------------------------------------------------------- PDF


def _pdf(path: str):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            # An owner password alone (printing and copying restrictions) opens with "".
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:
                raise ExtractionError("This PDF is encrypted with a password; save a copy "
                                      "without the password and upload that.")
        return reader
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise ExtractionError(f"This PDF is damaged and cannot be read ({error}).") from None


def pdf_page_count(path: str, max_pages: int) -> int:
    reader = _pdf(path)
    try:
        count = len(reader.pages)
    except Exception as error:
        raise ExtractionError(f"This PDF is damaged and cannot be read ({error}).") from None
    if count == 0:
        raise ExtractionError("This PDF has no pages.")
    if count > max_pages:
        raise ExtractionError(f"This PDF has {count:,} pages; at most {max_pages:,} are read. "
                              "Split it and upload the part you need.")
    return count


def pdf_pages(path: str, start: int, stop: int, ocr: bool, languages: str,
              max_pixels: int) -> list[Read]:
    """The text of pages [start, stop): the text layer where a page has one, OCR (when
    `ocr`) of the pages that have none, and only of those."""
    reader = _pdf(path)
    found = []
    document = None
    try:
        for number in range(start, stop):
            try:
                text = reader.pages[number].extract_text() or ""
            except Exception as error:
                raise ExtractionError(f"Page {number + 1} of this PDF is damaged "
                                      f"({error}).") from None
            if text.strip() or not ocr:
                found.append(Read(text.strip()))
                continue
            if document is None:
                import pypdfium2
                document = pypdfium2.PdfDocument(path)
            page = document[number]
            # 200 dpi: small print reads well; a page larger than max_pixels is scaled down.
            width, height = page.get_size()
            scale = min(200 / 72, (max_pixels / max(width * height, 1)) ** 0.5)
            image = page.render(scale=scale, grayscale=True).to_pil()
            found.append(ocr_image(image, languages))
            page.close()
    finally:
        if document is not None:
            document.close()
    return found


# ----------------------------------------------------------------------------- DOCX


def docx_markdown(path: str, max_unpacked: int) -> str:
    """A Word document as Markdown: headings, bulleted and numbered lists and tables kept,
    in the order they appear."""
    _check_zip(path, max_unpacked)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    try:
        document = docx.Document(path)
    except Exception as error:
        raise ExtractionError(f"This Word document is damaged and cannot be read "
                              f"({error}).") from None
    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            line = _paragraph_markdown(item)
            if line is not None:
                blocks.append(line)
        elif isinstance(item, Table):
            blocks.append(_table_markdown(item))
    # Consecutive list items stay together; everything else is a paragraph of its own.
    out = []
    for block in blocks:
        is_item = block.startswith(("- ", "1. "))
        if out and not (is_item and out[-1][1]):
            out.append(("", False))
        out.append((block, is_item))
    return "\n".join(text for text, _ in out).strip()


def _check_zip(path: str, max_unpacked: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            packed = sum(info.compress_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise ExtractionError(f"This Word document is damaged ({error}).") from None
    if unpacked > max_unpacked or (packed and unpacked / packed > 200 and unpacked > 10**7):
        raise ExtractionError(f"This Word document unpacks to {unpacked:,} bytes from "
                              f"{packed:,} (a zip bomb?); it was not read.")


def _paragraph_markdown(paragraph) -> str | None:
    text = _runs_markdown(paragraph)
    if not text.strip():
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return f"# {text}"
    if style.startswith("Heading"):
        level = style.removeprefix("Heading").strip()
        depth = int(level) if level.isdigit() else 1
        return f"{'#' * min(depth, 6)} {text}"
    numbered = "Number" in style
    listed = "List" in style or paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if listed:
        level = 0
        numbering = paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None
        if numbering is not None and numbering.ilvl is not None:
            level = int(numbering.ilvl.val)
        return f"{'  ' * level}{'1.' if numbered else '-'} {text}"
    return text


def _runs_markdown(paragraph) -> str:
    parts = []
    for run in paragraph.runs:
        text = run.text
        if not text:
            continue
        if run.bold and text.strip():
            text = f"**{text}**"
        elif run.italic and text.strip():
            text = f"*{text}*"
        parts.append(text)
    return "".join(parts).strip()


def _table_markdown(table) -> str:
    rows = [[cell.text.strip().replace("|", "\\|").replace("\n", " ") for cell in row.cells]
            for row in table.rows]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- text


def plain_text(path: str) -> str:
    raw = Path(path).read_bytes()
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                          (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            raw, chosen = raw[len(bom):], encoding
            break
    else:
        chosen = "utf-8"
    try:
        text = raw.decode(chosen)
    except UnicodeDecodeError as error:
        raise ExtractionError(f"This text file is not valid {chosen.upper()} (at byte "
                              f"{error.start:,}).") from None
    return text.replace("\x00", "")


def first_bytes(path: str, count: int) -> bytes:
    with open(path, "rb") as file:
        return file.read(count)


__all__ = ["ExtractionError", "Read", "bounded", "docx_markdown", "image_text",
           "ocr_available", "pdf_page_count", "pdf_pages", "plain_text"]
