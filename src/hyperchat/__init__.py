"""hyperchat: a self-hosted LLM chat app built the hypermedia way.

Module map (ARCHITECTURE.md follows a request through it):

  __init__.py   create_app: configuration, blueprints, hooks, in that order
  __main__.py   `python -m hyperchat`: migrate, then serve (one process or WORKERS)
  config.py     settings and their defaults
  lifecycle.py  start-up and shutdown, in order; the background jobs
  process_pools.py  the worker-process pools for markdown and file extraction

  chat/         what a conversation is and what can happen in it
    sending.py          send a message: saved, then its reply started
    generation.py       one task per reply: upstream -> reply buffer -> database
    versions.py         the tree of messages: versions, branches, the thread shown
    message_actions.py  edit, regenerate, retry, choose a version, delete/undo, continue
    conversations.py    rename, archive, trash, stats
    rooms.py            a room's people: roles, invites, the mode's cap, when the AI answers
    sharing.py          a share: the copy of the branch shown, its expiry and views
    feedback.py audit.py search.py sidebar.py
    exports.py          export to Markdown/JSON/zip and import back
    completions.py      OpenAI's chat-completions format for programs (/v1)
    saved_calls.py      a /v1 call saved in a conversation (X-Hyperchat-Session)
  accounts/     users.py passwords.py sessions.py api_keys.py throttle.py merge.py
                records.py: accounts, sign-in, keys, the guest's data carried over
  cli.py        the `hyperchat` command: serve, migrate, create-user, reset-password,
                list-users
  live/         what is in flight, shared with readers (memory, or Redis for workers)
    reply_buffer.py     a streaming reply's numbered chunks, replayed and followed
    tab_events.py       a conversation's changes, pushed to its other open tabs
    redis_backed.py     both of the above in Redis, for several workers
  metering/     models and what they cost
    catalog.py model_choice.py usage.py quotas.py limits.py analytics.py charts.py
  upstream/     the provider: client.py (the one narrow interface), wire.py (its SSE
                parser), transport.py (httpx on aiohttp), demo.py (the offline demo model)
  store/        database.py (connect, migrate), schema.py (the tables)
  web/          HTTP concerns: errors.py, security.py (identity, CSRF, cookies, headers),
                proxies.py (trusted reverse proxies), write_limits.py (limits on writes),
                access.py (get-or-404), compression.py (gzip), htmx.py, icons.py (inline
                SVG icons), theme.py (the colour scheme cookie), payloads.py (all request
                input, checked against each view's declaration: fields, or pydantic models
                for JSON), openapi.py (quart-schema: /openapi.json from those models),
                event_stream.py (SSE to browsers), uploads.py (multipart read as it
                streams in, limits enforced on the way), api_shapes.py (the REST APIs'
                models),
                rendering.py (markdown, off the event loop), templating.py,
                view_helpers.py, url_rules.py (URL builders compiled on first use)
  files/        files in chat: storage.py (originals, content-addressed), sniffing.py (kind
                by content), extractors.py + extraction.py (text in worker processes),
                transcription.py (audio, by the provider), attachments.py (the rows, the
                background extraction, the document blocks the model reads)
  views/        one blueprint per resource; views import web/ and the domain, never
                each other
"""

from pathlib import Path

from quart import Quart

from hyperchat import config as configuration
from hyperchat import lifecycle
from hyperchat.accounts.users import POLICIES
from hyperchat.upstream import demo
from hyperchat.views import (
    account,
    actions,
    admin,
    analytics,
    api_docs,
    appearance,
    assets,
    auth,
    catalog,
    chat_api,
    conversations,
    conversations_api,
    exports,
    files,
    health,
    members,
    message_api,
    messages,
    openai_api,
    search,
    sessions_api,
    settings,
    shares,
    usage,
)
from hyperchat.web import (
    compression,
    errors,
    openapi,
    payloads,
    proxies,
    security,
    templating,
    uploads,
    url_rules,
    write_limits,
)

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS = (assets, conversations, messages, actions, members, search, shares, sessions_api,
              exports, files, health, analytics, catalog, settings, usage, auth, account, admin,
              appearance, openai_api, api_docs, message_api, conversations_api, chat_api)


def create_app(config: dict | None = None) -> Quart:
    """Build the app: defaults, then the environment, then `config` (what tests pass)."""
    app = Quart(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    app.config.update(configuration.DEFAULTS)
    app.config.update(configuration.from_environment())
    app.config.from_prefixed_env("HYPERCHAT")
    app.config.update(config or {})
    # HYPERCHAT_-prefixed variables arrive as JSON or plain strings: one reading for all.
    for name in configuration.YES_NO:
        app.config[name] = configuration.yes_no(name, app.config[name])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = configuration.persistent_secret_key()
    app.config["DEMO_MODE"] = app.config["DEFAULT_MODEL"] == demo.MODEL_ID
    if app.config["ATTACHMENT_OVERFLOW"] not in ("truncate", "refuse"):
        raise configuration.ConfigError(
            f"ATTACHMENT_OVERFLOW={app.config['ATTACHMENT_OVERFLOW']!r}: use truncate or refuse.")
    app.request_class = uploads.request_class(app.config["MAX_UPLOAD_SIZE"],
                                              app.config["MAX_FILES_PER_MESSAGE"])
    if app.config["SIGNUP_POLICY"] not in POLICIES:
        raise configuration.ConfigError(
            f"SIGNUP_POLICY={app.config['SIGNUP_POLICY']!r}: use one of {', '.join(POLICIES)}.")

    errors.init_app(app)
    proxies.init_app(app)
    security.init_app(app)
    write_limits.init_app(app)
    compression.init_app(app)
    payloads.init_app(app)  # its converters before any route is added
    app.url_rule_class = url_rules.LazyBuilderRule
    openapi.init_app(app)  # quart-schema: /openapi.json; the strict JSON reader
    templating.init_app(app)
    for view in BLUEPRINTS:
        app.register_blueprint(view.bp)
    templating.drop_flask_processors(app)
    lifecycle.init_app(app)
    return app
