"""Real files for the file tests, made here: a text PDF written by pypdf, a scanned PDF (an
image of text saved as PDF by Pillow), a DOCX by python-docx, a PNG with text drawn in
DejaVu Sans, a WAV, and the hostile ones (an encrypted PDF, a PNG bomb, a DOCX zip bomb)."""

import io
import struct
import wave
import zipfile
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _pdf_string(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def text_pdf(pages: list[str], *, password: str | None = None) -> bytes:
    """A PDF whose pages carry `pages` as a real text layer (Helvetica)."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for text in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        stream = DecodedStreamObject()
        stream.set_data(b"BT /F1 18 Tf 72 700 Td (" + _pdf_string(text) + b") Tj ET")
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_image(lines: list[str], size=(900, 300)) -> Image.Image:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 40)
    for i, line in enumerate(lines):
        draw.text((30, 30 + 60 * i), line, fill=0, font=font)
    return image


def png(lines: list[str], format: str = "PNG") -> bytes:
    out = io.BytesIO()
    text_image(lines).save(out, format)
    return out.getvalue()


def scanned_pdf(lines: list[str], text_pages: list[str] = ()) -> bytes:
    """A PDF with a page that is only an image of `lines` (as a scanner makes), after
    `text_pages` pages with a text layer."""
    scan = io.BytesIO()
    text_image(lines, size=(1275, 500)).save(scan, "PDF", resolution=150)
    if not text_pages:
        return scan.getvalue()
    from pypdf import PdfReader
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(text_pdf(list(text_pages)))).pages:
        writer.add_page(page)
    for page in PdfReader(scan).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_file() -> bytes:
    import docx
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew in every region.")
    document.add_heading("Highlights", level=2)
    document.add_paragraph("New office in Lyon", style="List Bullet")
    document.add_paragraph("Hiring doubled", style="List Bullet")
    document.add_paragraph("First step", style="List Number")
    table = document.add_table(rows=2, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Region", "Sales"
    table.rows[1].cells[0].text, table.rows[1].cells[1].text = "North", "42"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\x10\x00\xf0\xff" * int(4000 * seconds))
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header claiming width x height pixels, with a few bytes of data: it
    decodes (if anyone let it) to gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 100_000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) \
        + chunk(b"IEND", b"")


def docx_bomb(unpacked: int = 300 * 1024 * 1024) -> bytes:
    """A DOCX-looking zip whose document part unpacks to `unpacked` bytes of spaces."""
    real = zipfile.ZipFile(io.BytesIO(docx_file()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in real.infolist():
            if info.filename != "word/document.xml":
                bomb.writestr(info, real.read(info))
        with bomb.open("word/document.xml", "w") as part:
            block = b" " * (1024 * 1024)
            for _ in range(unpacked // len(block)):
                part.write(block)
    return out.getvalue()
