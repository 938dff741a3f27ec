"""Layered configuration: defaults, then the environment, then what the caller passes."""

import os
import secrets
from pathlib import Path

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEMO_MODEL = "hyperchat/demo"


def data_dir() -> Path:
    return Path(os.environ.get("HYPERCHAT_DATA_DIR", "data"))


def persistent_secret_key() -> str:
    """Return a key generated on first start and kept under data/, so sessions survive restarts."""
    path = data_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class ConfigError(ValueError):
    """A setting that cannot be read: `python -m hyperchat` prints it and exits."""


# The settings that are yes/no, whichever layer sets them.
YES_NO = ("CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS", "GUEST_MODE", "OCR_ENABLED")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def flag(name: str, default: bool) -> bool:
    """A yes/no setting from the environment (see yes_no); unset or empty: `default`."""
    value = os.environ.get(name, "").strip()
    return yes_no(name, value) if value else default


def yes_no(name: str, value) -> bool:
    """A yes/no setting's value, from any layer: a bool, or true/false, 1/0, yes/no in any
    case. Anything else stops the app at start, naming the setting: a typo must not silently
    flip it (a non-empty string such as "no" is truthy in Python)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a yes/no setting: use true or false "
                      "(1/0 and yes/no work too).")


def from_environment() -> dict:
    env = os.environ
    api_key = env.get("OPENROUTER_API_KEY") or None
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite://{data_dir() / 'hyperchat.sqlite3'}",
        "OPENROUTER_API_KEY": api_key,
        "OPENROUTER_BASE_URL": env.get("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL,
        # Without a key (and without a custom base URL) the offline demo model answers.
        "DEFAULT_MODEL": env.get("DEFAULT_MODEL") or (
            "openai/gpt-4o-mini" if api_key or env.get("OPENROUTER_BASE_URL") else DEMO_MODEL
        ),
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        # Set to share rate-limit counts between workers (metering/quotas.py); else this
        # process's memory.
        "REDIS_URL": env.get("REDIS_URL") or None,
        # Set to have a model write each conversation's title after its first reply.
        "TITLE_MODEL": env.get("TITLE_MODEL") or None,
        "TRASH_RETENTION_DAYS": int(env.get("TRASH_RETENTION_DAYS") or 30),
        # Both are also read with the HYPERCHAT_ prefix; see DEFAULTS.
        **({"TRUSTED_PROXIES": env["TRUSTED_PROXIES"]} if env.get("TRUSTED_PROXIES") else {}),
        **({"SESSION_COOKIE_SECURE": env["SESSION_COOKIE_SECURE"]}
           if env.get("SESSION_COOKIE_SECURE") else {}),
        # Message actions (edit, regenerate, delete, continue, feedback), per person.
        "CHAT_ACTIONS_RATE_LIMIT": int(env.get("CHAT_ACTIONS_RATE_LIMIT") or 60),
        "CHAT_REGENERATION_RATE_LIMIT": int(env.get("CHAT_REGENERATION_RATE_LIMIT") or 10),
        "CHAT_ACTIONS_MAX_CONTENT_LENGTH": int(env.get("CHAT_ACTIONS_MAX_CONTENT_LENGTH")
                                               or 10_000),
        # How often deleted messages past their undo window are purged (seconds).
        "CHAT_ACTIONS_CLEANUP_INTERVAL": float(env.get("CHAT_ACTIONS_CLEANUP_INTERVAL") or 3600),
        # A reasoning model's thought process: streamed live, saved, shown folded above the
        # reply. Off: a new reply's is neither streamed nor stored, an earlier one not shown.
        "CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS": flag("CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS", True),
        # Accounts (hyperchat/accounts/). Guest mode on: a new browser chats at once as a
        # guest; off: every page but sign-in, sign-up, share pages and /health asks to sign in.
        "GUEST_MODE": flag("GUEST_MODE", True),
        # open: anyone signs up; approval: new accounts wait until an admin approves them;
        # closed: only admins (admin page or the CLI) create accounts.
        "SIGNUP_POLICY": (env.get("SIGNUP_POLICY") or "open").strip().lower(),
        # How long a sign-in lasts: "Remember me" (days), else (hours).
        "REMEMBER_ME_DAYS": float(env.get("REMEMBER_ME_DAYS") or 30),
        "SESSION_HOURS": float(env.get("SESSION_HOURS") or 24),
        # Files in chat (hyperchat/files/). Originals are kept in UPLOAD_DIR, content-addressed.
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(data_dir() / "uploads"),
        "MAX_UPLOAD_SIZE": int(env.get("MAX_UPLOAD_SIZE") or 25 * 1024 * 1024),
        # Bytes of originals one person may keep (files in the trash count until purged).
        "STORAGE_QUOTA": int(env.get("STORAGE_QUOTA") or 500 * 1024 * 1024),
        # Off: images and pages without a text layer are not read (the info endpoint says so).
        "OCR_ENABLED": flag("OCR_ENABLED", True),
        "OCR_LANGUAGES": env.get("OCR_LANGUAGES") or "eng",
        # Audio: an OpenAI-compatible POST {base}/audio/transcriptions. Unset: audio is refused
        # with a message saying transcription is not configured.
        "TRANSCRIPTION_BASE_URL": env.get("TRANSCRIPTION_BASE_URL") or None,
        "TRANSCRIPTION_API_KEY": env.get("TRANSCRIPTION_API_KEY") or None,
        "TRANSCRIPTION_MODEL": env.get("TRANSCRIPTION_MODEL") or "whisper-1",
        # A file's text longer than this many tokens (~4 characters each) is "truncate"d (the
        # model gets the beginning, and the chip and the document block say so) or "refuse"d.
        "ATTACHMENT_MAX_TOKENS": int(env.get("ATTACHMENT_MAX_TOKENS") or 32_000),
        "ATTACHMENT_OVERFLOW": (env.get("ATTACHMENT_OVERFLOW") or "truncate").strip().lower(),
    }


DEFAULTS = {
    # What a person sends (MAX_MESSAGE_CHARS), and what a reply's text and thought process may
    # hold (from the upstream, which is ended there with the text kept, or in an import).
    # Rendering costs about 10 microseconds per character: these bound each message's render.
    "MAX_MESSAGE_CHARS": 10_000,
    # The most people a group room holds (a partner room holds 2, solo 1).
    "ROOM_MAX_PEOPLE": 20,
    "MAX_REPLY_CHARS": 100_000,
    "MAX_REASONING_CHARS": 200_000,
    # A live reply looks alive while its worker refreshes it (Redis: every quarter of this,
    # in seconds); the reaper of any worker ends the replies no worker writes, checking every
    # REPLY_REAPER_INTERVAL seconds (a reply is ended at its second check).
    "REPLY_LIVE_TTL": 30.0,
    # Markdown is rendered in RENDER_WORKERS processes (started on first need), at most
    # RENDER_TIMEOUT seconds per text (past it, the text is shown unrendered), and cached up
    # to RENDER_CACHE_CHARS characters (texts and their HTML).
    "RENDER_WORKERS": 1,
    "RENDER_TIMEOUT": 2.0,
    "RENDER_CACHE_CHARS": 16_000_000,
    "REPLY_REAPER_INTERVAL": 15.0,
    # The model catalog (metering/catalog.py): how often the upstream's /models is read again
    # (0: never, only DEFAULT_MODEL is offered), and how soon after a failure.
    "CATALOG_REFRESH": 3600.0,
    "CATALOG_RETRY": 60.0,
    # Limits on starting replies (metering/quotas.py), per person; the per-address one stops a
    # person from escaping theirs by clearing cookies. Budgets: None is none; per UTC day.
    "RATE_LIMIT_PER_MINUTE": 20,
    "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": 60,
    "CONCURRENT_GENERATIONS": 3,
    "DAILY_TOKEN_BUDGET": None,
    "DAILY_COST_BUDGET": None,
    # The same per address, until accounts exist (a fresh cookie must not reset them).
    # Budgets unset (None): the server's budget above, as for one person.
    "CONCURRENT_GENERATIONS_PER_ADDRESS": 6,
    "DAILY_TOKEN_BUDGET_PER_ADDRESS": None,
    "DAILY_COST_BUDGET_PER_ADDRESS": None,
    "UPSTREAM_CONNECT_TIMEOUT": 10.0,
    # Longest silence we accept from the upstream between two bytes once it has answered.
    "UPSTREAM_READ_TIMEOUT": 120.0,
    # How long token frames are coalesced before they go to the browser (seconds).
    "SSE_COALESCE": 0.03,
    "SSE_KEEPALIVE": 15.0,
    # Open SSE connections (conversation event channels and reply streams together), per
    # person and per address: each holds a file descriptor and a task for as long as it is
    # open. Past either, a new one is refused (429).
    "SSE_MAX_PER_PERSON": 24,
    "SSE_MAX_PER_ADDRESS": 64,
    # How often a streaming reply's text so far is written to the database (seconds),
    # so that a crash loses at most this much.
    "PARTIAL_SAVE_INTERVAL": 3.0,
    "DEMO_TOKEN_DELAY": 0.02,
    "RUN_MIGRATIONS": True,
    # A deleted message can be brought back this long (seconds); then its text is purged.
    "MESSAGE_UNDO_SECONDS": 600,
    # The window of the action limits (seconds): limits are per minute.
    "CHAT_ACTIONS_RATE_WINDOW": 60.0,
    # Every request that writes (web/write_limits.py), per person per window; imports and the
    # full export also count against HEAVY_RATE_LIMIT. Each address may do
    # WRITE_ADDRESS_FACTOR times a person's, so a fresh cookie gains little.
    "WRITE_RATE_LIMIT": 60,
    "HEAVY_RATE_LIMIT": 6,
    "WRITE_ADDRESS_FACTOR": 4,
    "WRITE_RATE_WINDOW": 60.0,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # None ("auto"): Secure when the request came over HTTPS (behind a proxy: its
    # X-Forwarded-Proto, believed only from TRUSTED_PROXIES). true/false force it.
    "SESSION_COOKIE_SECURE": None,
    # Reverse proxies whose forwarded headers are believed (web/proxies.py): addresses or
    # networks, comma separated. Empty: none, the socket's peer is the client.
    "TRUSTED_PROXIES": "",
    "SESSION_COOKIE_HTTPONLY": True,
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 365,
    "PASSWORD_MIN_LENGTH": 10,
    # Argon2id: argon2-cffi's defaults (RFC 9106's low-memory choice: 3 passes, 64 MiB, 4
    # lanes). Raising them makes each account's hash be redone at its next sign-in.
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "ARGON2_PARALLELISM": 4,
    # Failed sign-ins (accounts/throttle.py): free per name (x4 per address), then locks of
    # growing length from the first to the longest; a name quiet this long starts over.
    "SIGN_IN_FREE_FAILURES": 5,
    "SIGN_IN_LOCK_SECONDS": 2.0,
    "SIGN_IN_MAX_LOCK_SECONDS": 900.0,
    "SIGN_IN_FORGET_SECONDS": 3600.0,
    # Files: at most this many per message (and per batch upload); text is extracted in
    # EXTRACT_WORKERS processes, at most EXTRACT_TIMEOUT seconds per file; a PDF may have
    # PDF_MAX_PAGES pages; an image may decode to MAX_IMAGE_PIXELS pixels (a PNG of a few
    # kilobytes can claim gigapixels); a DOCX may unpack to DOCX_MAX_UNPACKED bytes.
    "MAX_FILES_PER_MESSAGE": 10,
    "EXTRACT_WORKERS": 1,
    "EXTRACT_TIMEOUT": 120.0,
    "PDF_MAX_PAGES": 500,
    "MAX_IMAGE_PIXELS": 40_000_000,
    "DOCX_MAX_UNPACKED": 200 * 1024 * 1024,
    "TRANSCRIPTION_TIMEOUT": 120.0,
    # A file uploaded but never sent is forgotten after this many hours.
    "STAGED_FILE_HOURS": 24,
}
