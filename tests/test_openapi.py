"""/openapi.json documents every JSON endpoint with the models it checks, and nothing else;
the docs page serves Swagger UI from our own files."""

import re

import pytest
from pydantic import BaseModel
from quart_schema import validate_request

from hyperchat import create_app
from hyperchat.web.errors import json_api
from hyperchat.web.security import CONTENT_SECURITY_POLICY
from tests.helpers import csrf, soup

MAP_APP = create_app({"SECRET_KEY": "only-the-url-map", "DATABASE_URL": "sqlite://:memory:"})


def json_rules():
    for rule in MAP_APP.url_map.iter_rules():
        if getattr(MAP_APP.view_functions[rule.endpoint], "json_api", False):
            yield rule


def openapi_path(rule) -> str:
    return re.sub(r"<(?:[^:<>]*:)?([^<>]+)>", r"{\1}", rule.rule)


def resolved(schema: dict, document: dict) -> dict:
    """A schema, inline or by reference (quart-schema inlines the top-level model)."""
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.fixture
async def document(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return await response.get_json()


async def test_every_json_route_is_documented_with_each_method(document):
    rules = list(json_rules())
    assert rules
    for rule in rules:
        path = document["paths"].get(openapi_path(rule))
        assert path is not None, f"{rule.rule} is not in /openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in path, f"{method} {rule.rule}"


async def test_pages_and_fragments_are_not_documented(document):
    assert "/" not in document["paths"]
    assert "/c/{conversation_id}" not in document["paths"]
    assert "/docs" not in document["paths"] and "/openapi.json" not in document["paths"]


async def test_every_declared_body_and_query_model_is_in_the_document(document):
    from hyperchat.web import payloads

    seen = 0
    for rule in json_rules():
        spec = payloads.spec_of(rule.endpoint, MAP_APP)
        path = document["paths"][openapi_path(rule)]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = path[method.lower()]
            if spec.model is not None:
                seen += 1
                schema = resolved(
                    operation["requestBody"]["content"]["application/json"]["schema"], document)
                assert schema["title"] == spec.model.__name__
                assert set(spec.model.model_fields) <= set(schema["properties"])
            if spec.query_model is not None:
                seen += 1
                names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
                assert names == set(spec.query_model.model_fields)
    assert seen >= 8


async def test_the_chat_completion_request_is_documented_field_by_field(document):
    body = document["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    schema = resolved(body["content"]["application/json"]["schema"], document)
    assert {"model", "messages", "temperature", "top_p", "topP", "stream", "stream_options",
            "tools", "tool_choice", "max_tokens", "stop", "seed", "user"} <= set(
        schema["properties"])
    assert schema["required"] == ["model", "messages"]
    message = resolved(schema["properties"]["messages"]["items"], document)
    assert set(message["properties"]["role"]["enum"]) == {
        "system", "developer", "user", "assistant", "tool"}


async def test_response_models_are_documented(document):
    listing = document["paths"]["/api/chat/sessions/"]["get"]["responses"]["200"]
    assert resolved(listing["content"]["application/json"]["schema"],
                    document)["title"] == "SessionPage"
    created = document["paths"]["/api/chat/sessions/"]["post"]["responses"]["201"]
    assert resolved(created["content"]["application/json"]["schema"],
                    document)["title"] == "Session"


async def test_the_docs_page_loads_swagger_ui_from_this_server(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    page = soup(await response.get_data(as_text=True))
    sources = [s["src"] for s in page.select("script[src]")]
    assert not page.select("script:not([src])")  # the CSP allows no inline script
    assert sources == ["/vendor/swagger-ui-bundle.js", "/static/api_docs.js"]
    assert page.select_one("#swagger-ui")["data-openapi-url"] == "/openapi.json"
    for url in [*sources, page.select_one("link[rel=stylesheet]")["href"]]:
        assert (await client.get(url)).status_code == 200, url


@pytest.mark.config(GUEST_MODE=False)
async def test_the_document_and_its_page_are_public(client):
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200


class Echo(BaseModel):
    title: str
    count: int = 0


@pytest.fixture
async def echo_client(app_config):
    """The app with one more JSON route declared by quart-schema's own validate_request (as
    a view may be), registered before the app starts."""
    app = create_app(app_config)

    @validate_request(Echo)
    @json_api
    async def echo(data: Echo):
        return {"title": data.title, "count": data.count}

    app.add_url_rule("/test-echo", "test_echo", echo, methods=["POST"])
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.mark.parametrize(("body", "names"), [
    (b'{"count": 1}', "title is required"),
    (b'{"title": 5}', "title"),
    (b'{"title": "a\\u0000b"}', "NUL"),
    (b'{"title": "\\ud800"}', "surrogate"),
    (b'{"title": "x", "count": NaN}', "NaN"),
    (b'{"a":' * 40 + b'"x"' + b"}" * 40, "nested too deeply"),
])
async def test_quart_schemas_validate_request_has_the_same_rules_and_errors(echo_client,
                                                                           body, names):
    token = await csrf(echo_client)
    response = await echo_client.post("/test-echo", data=body, headers={
        "Content-Type": "application/json", "X-CSRF-Token": token})
    assert response.status_code == 400
    error = (await response.get_json())["error"]
    assert names in error, error


async def test_quart_schemas_validate_request_passes_a_good_body(echo_client):
    token = await csrf(echo_client)
    response = await echo_client.post("/test-echo", json={"title": "hi", "count": 2},
                                      headers={"X-CSRF-Token": token})
    assert (await response.get_json()) == {"title": "hi", "count": 2}
