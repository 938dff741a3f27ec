"""create_app's layered configuration, the offline demo model, and static assets."""

import inspect

import pytest

from hyperchat import create_app
from hyperchat.config import DEMO_MODEL, ConfigError
from hyperchat.store.schema import Message, Status, new_share_id
from tests.helpers import parse_sse, send, soup


@pytest.mark.parametrize(("environment", "expected"), [
    ({"DATABASE_URL": "postgres://u@db.example/x", "OPENROUTER_API_KEY": "sk-or-env",
      "OPENROUTER_BASE_URL": "http://127.0.0.1:11434/v1", "DEFAULT_MODEL": "llama3.2",
      "SECRET_KEY": "from-env"},
     {"DATABASE_URL": "postgres://u@db.example/x", "OPENROUTER_API_KEY": "sk-or-env",
      "OPENROUTER_BASE_URL": "http://127.0.0.1:11434/v1", "DEFAULT_MODEL": "llama3.2",
      "SECRET_KEY": "from-env", "DEMO_MODE": False}),
    ({"CHAT_ACTIONS_RATE_LIMIT": "7", "CHAT_REGENERATION_RATE_LIMIT": "3",
      "CHAT_ACTIONS_MAX_CONTENT_LENGTH": "500", "CHAT_ACTIONS_CLEANUP_INTERVAL": "120"},
     {"CHAT_ACTIONS_RATE_LIMIT": 7, "CHAT_REGENERATION_RATE_LIMIT": 3,
      "CHAT_ACTIONS_MAX_CONTENT_LENGTH": 500, "CHAT_ACTIONS_CLEANUP_INTERVAL": 120}),
], ids=["database and upstream", "action limits"])
def test_environment_configures_the_app(monkeypatch, tmp_path, environment, expected):
    monkeypatch.setenv("HYPERCHAT_DATA_DIR", str(tmp_path))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = create_app().config
    assert {name: config[name] for name in expected} == expected


def test_explicit_config_overrides_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HYPERCHAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DEFAULT_MODEL", "from-env")
    app = create_app({"DEFAULT_MODEL": "from-test", "SECRET_KEY": "x"})
    assert app.config["DEFAULT_MODEL"] == "from-test"


def test_defaults_are_sqlite_under_data_and_the_demo_model(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "DEFAULT_MODEL",
                 "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HYPERCHAT_DATA_DIR", str(tmp_path))
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite://{tmp_path}/hyperchat.sqlite3"
    assert app.config["OPENROUTER_BASE_URL"] == "https://openrouter.ai/api/v1"
    assert app.config["DEFAULT_MODEL"] == DEMO_MODEL and app.config["DEMO_MODE"] is True
    # The generated secret is kept, so sessions survive a restart.
    assert app.config["SECRET_KEY"] == create_app().config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


# The plain variable, and the HYPERCHAT_-prefixed one that Quart parses as JSON when it can
# ("no" stays a truthy string, "false" becomes False, "0" becomes 0): each means what it says.
@pytest.mark.parametrize("variable", ["CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS",
                                      "HYPERCHAT_CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS"])
@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("TRUE", True), ("1", True), ("Yes", True), (" yes ", True),
    ("false", False), ("False", False), ("0", False), ("no", False), ("NO", False),
])
def test_thought_process_setting_reads_true_false_1_0_yes_no(monkeypatch, tmp_path, variable,
                                                             value, expected):
    monkeypatch.setenv("HYPERCHAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    assert create_app({"SECRET_KEY": "x"}).config["CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS"] \
        is expected


@pytest.mark.parametrize("value", [None, ""])
def test_thought_process_is_on_when_unset(monkeypatch, tmp_path, value):
    monkeypatch.setenv("HYPERCHAT_DATA_DIR", str(tmp_path))
    if value is None:
        monkeypatch.delenv("CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS", raising=False)
    else:
        monkeypatch.setenv("CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS", value)
    assert create_app({"SECRET_KEY": "x"}).config["CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS"] is True


@pytest.mark.parametrize("variable", ["CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS",
                                      "HYPERCHAT_CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS"])
@pytest.mark.parametrize("value", ["maybe", "on", "off", "2", "tru", "y"])
def test_unreadable_thought_process_setting_stops_the_app_naming_it(monkeypatch, tmp_path,
                                                                    variable, value):
    monkeypatch.setenv("HYPERCHAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    # The prefixed "2" arrives as the number 2 (JSON), so the quotes are optional.
    with pytest.raises(ConfigError, match=f"CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS='?{value}'? is "
                                         "not a yes/no setting: use true or false"):
        create_app({"SECRET_KEY": "x"})


def test_share_ids_are_22_base62_characters_and_unique():
    ids = {new_share_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == 22 and i.isalnum() and i.isascii() for i in ids)


@pytest.fixture
async def demo_client(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "OPENROUTER_API_KEY": None, "DEFAULT_MODEL": DEMO_MODEL,
                      "DEMO_TOKEN_DELAY": 0.0})
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def test_demo_model_streams_a_markdown_reply_through_the_normal_path(demo_client):
    page = soup(await (await demo_client.get("/")).get_data(as_text=True))
    assert "offline demo model" in page.select_one(".banner").get_text()
    created = soup(await (await send(demo_client, "What is hyperchat?")).get_data(as_text=True))
    reply_id = int(created.select("article")[1]["data-message-id"])
    events = parse_sse(await (await demo_client.get(f"/messages/{reply_id}/stream")).get_data(
        as_text=True))
    assert events[-1]["event"] == "done"
    reply = await Message.get(id=reply_id)
    assert reply.status == Status.COMPLETE
    assert "What is hyperchat?" in reply.content and "OPENROUTER_API_KEY" in reply.content
    assert reply.model_id_used == DEMO_MODEL
    assert reply.prompt_tokens and reply.completion_tokens and not reply.tokens_estimated
    final = soup(events[-2]["data"])
    assert final.select_one(".message-content pre code") is not None  # rendered markdown


async def test_demo_mode_has_no_banner_when_a_provider_is_configured(client):
    page = soup(await (await client.get("/")).get_data(as_text=True))
    assert page.select_one(".banner") is None


@pytest.mark.parametrize("path", ["/vendor/htmx.min.js", "/vendor/hx-sse.min.js",
                                  "/assets/pygments.css",
                                  "/static/keyboard.js", "/static/style.css"])
async def test_assets_are_served(client, path):
    response = await client.get(path)
    assert response.status_code == 200
    assert len(await response.get_data()) > 100


@pytest.mark.parametrize("path", ["/vendor/package.json", "/vendor/../package.json",
                                  "/vendor/icons/regular/copy.svg"])
async def test_only_allowlisted_vendor_files_are_served(client, path):
    assert (await client.get(path)).status_code == 404


async def test_unknown_page_is_a_friendly_404(client):
    response = await client.get("/nope")
    assert response.status_code == 404
    assert soup(await response.get_data(as_text=True)).select_one(".error-page") is not None


async def test_streaming_messages_of_a_dead_process_become_errors_on_start(app_config):
    app = create_app(app_config)
    async with app.test_app():
        from hyperchat.store.schema import Conversation, Role

        conversation = await Conversation.create(owner="x")
        await Message.create(conversation=conversation, role=Role.ASSISTANT,
                             status=Status.STREAMING, content="half")
    async with create_app(app_config).test_app():
        message = await Message.get(content="half")
        assert message.status == Status.ERROR and "restarted" in message.error


def test_request_hooks_and_template_processors_are_async(tmp_path):
    """Quart runs a sync hook or context processor in a thread: a hop to the thread pool on
    every request (or every template rendered), for work of a few microseconds."""
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": f"sqlite://{tmp_path}/db.sqlite3"})
    registries = {"before_request": app.before_request_funcs,
                  "after_request": app.after_request_funcs,
                  "teardown_request": app.teardown_request_funcs,
                  "template_context_processors": app.template_context_processors}
    sync = [f"{kind}: {function.__module__}.{function.__qualname__}"
            for kind, registry in registries.items() for functions in registry.values()
            for function in functions if not inspect.iscoroutinefunction(function)]
    assert sync == []
    # Templates still get `g` and `request` (Quart's own processor).
    assert [f.__module__ for f in app.template_context_processors[None]] == ["quart.templating"]
