"""The API's documentation page: Swagger UI over /openapi.json, served from our own files."""

from quart import Blueprint, current_app, render_template, url_for

bp = Blueprint("api_docs", __name__)


@bp.get("/docs")
async def show():
    """Show every JSON endpoint, its models and a way to try it."""
    config = current_app.config
    return await render_template(
        "api_docs/show.html",
        js_url=config["QUART_SCHEMA_SWAGGER_JS_URL"]
        or url_for("assets.vendor", name="swagger-ui-bundle.js"),
        css_url=config["QUART_SCHEMA_SWAGGER_CSS_URL"]
        or url_for("assets.vendor", name="swagger-ui.css"))
