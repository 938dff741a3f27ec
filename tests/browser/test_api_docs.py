"""The API docs page: Swagger UI from the pinned npm package renders /openapi.json under the
app's CSP (the context's watcher fails the test on any violation or JS error)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_docs_page_renders_every_json_endpoint_without_a_csp_violation(context,
                                                                           live_server):
    page = context.new_page()
    loaded = []
    page.on("request", lambda request: loaded.append(request.url))
    page.goto("/docs")
    # Swagger UI has fetched and rendered the document: an operation of each kind is shown.
    expect(page.locator(".opblock-summary-path",
                        has_text="/v1/chat/completions").first).to_be_visible()
    expect(page.locator(".opblock-summary-path",
                        has_text="/api/chat/sessions/").first).to_be_visible()
    assert all(url.startswith(live_server.url) for url in loaded), loaded
