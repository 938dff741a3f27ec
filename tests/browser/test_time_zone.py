"""The sidebar's day groups follow the browser's time zone, which static/tab.js hands the server."""

import pytest

pytestmark = pytest.mark.browser


def test_browser_time_zone_reaches_the_server_in_the_tz_cookie(new_context):
    context = new_context(timezone_id="Pacific/Kiritimati")
    page = context.new_page()
    page.goto("/")
    page.wait_for_function("() => window.htmx !== undefined")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["tz"]["value"] == "Pacific/Kiritimati"
    assert cookies["tz"]["path"] == "/"
