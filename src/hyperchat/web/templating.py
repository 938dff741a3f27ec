"""What templates can call besides their context: filters, and the globals listed here.

Four globals query the database or a live seam while a page renders; ARCHITECTURE.md lists
them. Everything else a template shows comes from its view's context.
"""

from decimal import Decimal

from flask import templating as flask_templating
from jinja2 import BytecodeCache
from markupsafe import Markup
from quart import Quart, current_app, g

from hyperchat.accounts import sessions
from hyperchat.chat import rooms, sharing
from hyperchat.files import sniffing
from hyperchat.metering import model_choice, quotas, usage
from hyperchat.store.schema import Conversation
from hyperchat.web.icons import icon
from hyperchat.web.rendering import shorten_model_name
from hyperchat.web.security import csrf_token, current_account, current_user, htmx_headers
from hyperchat.web.theme import current_theme
from hyperchat.web.uploads import size_text

FILE_ICONS = {"pdf": "file-pdf", "docx": "file-word", "text": "file-lines",
              "image": "file-image", "audio": "file-audio"}


class CompiledOnce(BytecodeCache):
    """Each template's compiled code, kept for the process: an app compiles a template on its
    first use, and a process that makes many apps (the test suite makes one per test) would
    compile every template again for each, about 0.1 s a page. Keyed on the template's name
    and its source's checksum, so an edited template is compiled again."""

    def __init__(self) -> None:
        self._code: dict[tuple[str, str], object] = {}

    def load_bytecode(self, bucket) -> None:
        code = self._code.get((bucket.key, bucket.checksum))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket) -> None:
        self._code[(bucket.key, bucket.checksum)] = bucket.code


COMPILED = CompiledOnce()


def init_app(app: Quart) -> None:
    env = app.jinja_env
    env.bytecode_cache = COMPILED
    env.filters["markdown"] = markdown
    env.filters["short_model"] = shorten_model_name
    env.filters["price"] = model_choice.format_price
    env.filters["usd"] = usage.format_usd
    env.filters["chart_value"] = chart_value
    env.filters["browser"] = sessions.browser_label
    env.filters["filesize"] = size_text
    env.globals["file_label"] = lambda kind: sniffing.LABELS.get(kind, "File")
    env.globals["file_icon"] = lambda kind: FILE_ICONS.get(kind, "file")
    env.globals["csrf_token"] = csrf_token
    env.globals["htmx_headers"] = htmx_headers
    env.globals["icon"] = icon
    env.globals["initials"] = rooms.initials
    env.globals["avatar_hue"] = lambda who: rooms.hue(who) % 12
    # Who is looking, for <body data-me> (static/room.js); empty on pages before sign-in.
    env.globals["viewer_id"] = lambda: g.identity.owner if g.get("identity") else ""
    env.globals["current_theme"] = current_theme
    env.globals["model_picker"] = model_choice.picker_context
    # Who is signed in (None: a guest), decided once per request by web/security.py.
    env.globals["current_account"] = current_account
    env.globals["guest_mode"] = lambda: app.config["GUEST_MODE"]
    # Whether a conversation's share link answers (shared and not expired); no query.
    env.globals["share_live"] = sharing.is_live
    # Queries (async, awaited by the templates that call them):
    # where a conversation's live events stand when a page is rendered (its tabs follow on),
    env.globals["events_position"] = (
        lambda conversation_id: app.extensions["events"].position(conversation_id))
    # a conversation's running usage total, and what is left before the next send.
    env.globals["conversation_usage"] = conversation_usage
    env.globals["composer_quota"] = composer_quota
    # how many messages a conversation's share holds (its header's share status).
    env.globals["shared_count"] = sharing.size


def drop_flask_processors(app: Quart) -> None:
    """Take out the template context processor Flask's scaffold gives every blueprint (once
    they are registered). It reads Flask's request context, which Quart never sets, so it
    adds nothing; and being sync, Quart ran it in a thread: a hop to the thread pool for every
    template rendered in a blueprint's request. Quart's own processor (async) stays, and puts
    `g` and `request` in every template as before."""
    for processors in app.template_context_processors.values():
        processors[:] = [processor for processor in processors
                         if processor is not flask_templating._default_template_ctx_processor]


async def markdown(text: str) -> Markup:
    """A reply's markdown as HTML, rendered off the event loop (web/rendering.py). Async:
    the templates' environment awaits it. Sanitized, so it is safe to mark as HTML."""
    return Markup(await current_app.extensions["renderer"].render(text))


def chart_value(value: float, kind: str) -> str:
    if kind == "usd":
        return usage.format_usd(Decimal(str(round(value, 6))))
    if value != round(value):
        # A small axis (a top of 1 split in quarters): 0.25, not a second "0".
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,.0f}"


async def conversation_usage(conversation: Conversation | None) -> usage.Totals:
    """A conversation's running total, for its header."""
    if conversation is None:
        return usage.Totals()
    return await usage.totals(conversation.owner, conversation_id=conversation.id)


async def composer_quota() -> quotas.Remaining:
    """What is left before sending, rendered with the composer: in the page itself, so it
    shows without a request of its own and without JavaScript."""
    return await quotas.remaining(current_user(), full=False)
