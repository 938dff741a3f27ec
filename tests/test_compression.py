"""gzip for what a page loads, never for streams, only when the browser accepts it."""

import gzip

from tests.fake_upstream import Tokens
from tests.helpers import start_reply

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


async def test_a_page_is_sent_gzipped_when_accepted_and_reads_the_same(client):
    plain = await client.get("/")
    packed = await client.get("/", headers=GZIP)
    assert plain.headers.get("Content-Encoding") is None
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    body = gzip.decompress(await packed.get_data())
    assert body.startswith(b"<!DOCTYPE html>") or body.lower().startswith(b"<!doctype html>")
    assert len(await packed.get_data()) < len(body) / 2
    assert int(packed.headers["Content-Length"]) == len(await packed.get_data())


async def test_static_files_and_vendor_scripts_are_gzipped(client):
    for url in ("/static/style.css", "/vendor/htmx.min.js"):
        plain = await client.get(url)
        packed = await client.get(url, headers=GZIP)
        assert packed.status_code == 200, url
        assert packed.headers["Content-Encoding"] == "gzip", url
        assert gzip.decompress(await packed.get_data()) == await plain.get_data(), url


async def test_a_reply_stream_is_never_compressed(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, Tokens(["streamed ", "as it comes"]))
    response = await client.get(f"/messages/{reply_id}/stream", headers=GZIP)
    assert response.headers.get("Content-Encoding") is None
    assert "streamed as it comes" in (await response.get_data(as_text=True)).replace(
        "\ndata: ", "").replace("data: ", "")


async def test_a_small_answer_is_sent_as_it_is(client):
    response = await client.get("/health", headers=GZIP)
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") is None
