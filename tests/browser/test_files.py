"""Files in the composer, in a real Chromium: attached with the button and by drag and drop,
the upload's progress bar, one removed, the rest sent, the documents reaching the provider,
the files on the bubble after a reload; and the button path by keyboard alone."""

import pytest
from playwright.sync_api import expect

from tests import files_helpers as made

pytestmark = pytest.mark.browser

DROP_JS = """([name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, {type: "text/plain"}));
  return transfer;
}"""


def chip(page, name: str):
    return page.locator("#attachments .chip").filter(has_text=name)


def test_attach_drop_remove_send_and_see_the_files_after_reload(chat, fake, page, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(made.text_pdf(["Revenue was 42 million"] * 3))
    big = tmp_path / "big.txt"
    big.write_bytes(b"line of text\n" * 30_000)  # ~390 KB: uploads slowly under throttling
    # The upload at 300 KB/s: its progress bar has time to show.
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 300_000})
    with page.expect_file_chooser() as chooser:
        page.locator("#attach-btn").click()
    chooser.value.set_files([str(pdf), str(big)])
    expect(chip(page, "big.txt").locator(".chip-stage")).to_contain_text("Uploading…")
    expect(chip(page, "big.txt").locator(".chip-stage")).to_contain_text("%")
    progress = chip(page, "big.txt").locator("progress").evaluate("p => p.value")
    assert 0 <= progress <= 100
    session.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    # Dropped on the conversation.
    transfer = page.evaluate_handle(DROP_JS, ["dropped.txt", "notes from the drop\n"])
    page.dispatch_event("#thread", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#thread", "drop", {"dataTransfer": transfer})
    for name in ("report.pdf", "big.txt", "dropped.txt"):
        expect(chip(page, name)).to_have_attribute("data-status", "ready")
    expect(chip(page, "report.pdf").locator(".chip-stage")).to_contain_text("3 pages")
    expect(page.locator("#attachments-estimate")).to_contain_text("tokens with 3 files")
    # The preview opens.
    chip(page, "report.pdf").locator("summary").click()
    expect(chip(page, "report.pdf").locator("pre")).to_contain_text("Revenue was 42 million")
    # One removed.
    chip(page, "big.txt").locator(".chip-remove").click()
    expect(page.locator("#attachments .chip")).to_have_count(2)
    reply = chat.wait_status(chat.send("What do these say?"), "complete")
    expect(reply.locator(".message-content")).to_have_text("Hello world!")
    expect(page.locator("#attachments .chip")).to_have_count(0)
    content = fake.requests[-1]["json"]["messages"][-1]["content"]
    assert '<document name="report.pdf" kind="PDF" pages="3">' in content
    assert '<document name="dropped.txt" kind="Text">\nnotes from the drop\n</document>' in content
    assert "big.txt" not in content and content.endswith("What do these say?")
    page.reload()
    files = page.locator("article.message.user .attached-file")
    expect(files).to_have_count(2)
    expect(files.nth(0)).to_contain_text("report.pdf")
    expect(files.nth(1)).to_contain_text("dropped.txt")


def test_attach_and_send_by_keyboard_only(chat, fake, page, tmp_path):
    notes = tmp_path / "keyboard.txt"
    notes.write_text("typed without a mouse\n")
    chat.input.focus()
    chat.press_until_focused("#attach-btn")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(notes))
    expect(chip(page, "keyboard.txt")).to_have_attribute("data-status", "ready")
    chat.press_until_focused("#composer-input", key="Shift+Tab")
    page.keyboard.type("Read it")
    page.keyboard.press("Enter")
    expect(chat.replies).to_have_count(1)
    chat.wait_status(chat.replies.nth(0), "complete")
    assert "typed without a mouse" in fake.requests[-1]["json"]["messages"][-1]["content"]


def test_the_shortcut_opens_the_file_picker(chat, page, tmp_path):
    notes = tmp_path / "shortcut.txt"
    notes.write_text("by the shortcut\n")
    chat.input.focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Control+Shift+U")
    chooser.value.set_files(str(notes))
    expect(chip(page, "shortcut.txt")).to_have_attribute("data-status", "ready")
    # The help lists it.
    page.keyboard.press("Control+/")
    expect(page.locator("dialog[open]")).to_contain_text("Attach files")


def test_record_stop_and_the_transcript_lands_in_the_box(chat, fake, page):
    chat.input.fill("Before:")
    page.locator("#record-btn").click()
    expect(page.locator("#record-btn")).to_have_attribute("aria-pressed", "true")
    meter = page.locator("#record-level")
    expect(meter).to_be_visible()
    # The synthetic microphone's beep moves the level meter.
    page.wait_for_function("() => document.getElementById('record-level').value > 0")
    page.locator("#record-btn").click()
    expect(chat.input).to_have_value(f"Before: {fake.transcript}")
    expect(meter).to_be_hidden()
    request = [r for r in fake.requests if r["path"].endswith("/audio/transcriptions")][-1]
    assert b'filename="recording.webm"' in request["body"]
    # Nothing was kept: the transcript only.
    expect(page.locator("#attachments .chip")).to_have_count(0)
