"""The OpenAPI document of the JSON endpoints (quart-schema), at /openapi.json.

Only JSON endpoints are documented (the views marked `json_api`): pages and fragments are for
the browser. A view's body and query models are its web/payloads.py declarations (or
quart-schema's own decorators), so the document cannot drift from what is checked.

quart-schema's own docs pages load their scripts from a CDN and start them with an inline
script, both of which the CSP refuses: they are off, and views/api_docs.py serves Swagger UI
from the pinned npm package instead, at the URLs of quart-schema's config (blank: ours).
"""

from quart import Quart
from quart_schema import OpenAPIProvider, QuartSchema

from hyperchat.web import payloads

# Blank: the docs page uses the files served from node_modules (views/assets.py). Set to a
# URL to load Swagger UI from elsewhere (and widen the CSP to match).
DOCS_CONFIG = {"QUART_SCHEMA_SWAGGER_JS_URL": "", "QUART_SCHEMA_SWAGGER_CSS_URL": ""}


class JSONEndpoints(OpenAPIProvider):
    """The rules of the views that answer JSON, nothing else."""

    def generate_rules(self):
        for rule in super().generate_rules():
            if getattr(self._app.view_functions[rule.endpoint], "json_api", False):
                yield rule


def init_app(app: Quart) -> None:
    for name, value in DOCS_CONFIG.items():
        app.config.setdefault(name, value)
    QuartSchema(
        app, openapi_path="/openapi.json", swagger_ui_path=None, redoc_ui_path=None,
        scalar_ui_path=None, openapi_provider_class=JSONEndpoints,
        info={"title": "hyperchat", "version": "1",
              "description": "The JSON API of hyperchat. /v1 is OpenAI's chat-completions "
                             "API (Bearer API key); the rest takes the key or the browser's "
                             "session cookie with its CSRF token."},
        security_schemes={"apiKey": {"type": "http", "scheme": "bearer"}},
        security=[{"apiKey": []}])
    # quart-schema's JSON provider (it encodes models), reading JSON as web/payloads.py does.
    app.json = type("StrictProvider", (payloads.StrictJSONProvider, type(app.json)), {})(app)
