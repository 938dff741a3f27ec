"""The request and response models of the REST APIs for programs (views/message_api.py,
views/conversations_api.py, views/chat_api.py), validated at the edge by quart-schema with
pydantic and listed in /openapi.json.

Three shapes, each as its clients know it:
- the message actions (`/api/messages`, `/api/tasks`): snake_case in a
  `{"success": true, "data": ...}` envelope, errors `{"success": false, "error": "..."}`;
- the conversations (`/conversations/`): snake_case, errors `{"detail": "..."}`;
- the chat API (`/api/v1/chat`): camelCase, errors `{"detail": "..."}`.

A body is read by web/payloads.py first (strictly: UTF-8, storable text, JSON whatever its
Content-Type, an empty body as `{}`), then validated against its model; a refusal is a 400
naming the field (web/errors.py).
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, g, request

from hyperchat.chat import tasks
from hyperchat.chat.exports import iso
from hyperchat.store.schema import INT_MAX, Conversation, Message, Role

# ----------------------------------------------------------------------------- plumbing


def answers_json(bp: Blueprint, prefixes: tuple[str, ...], shape) -> None:
    """Every answer under `prefixes` is JSON, errors in `shape(status, message, field)`, even those
    raised before a view runs (a missing CSRF token, a limit, no such route)."""

    @bp.record_once
    def register(state) -> None:
        state.app.extensions.setdefault("error_shapes", {})[bp.name] = shape

    @bp.app_url_value_preprocessor
    def mark(_endpoint, _values) -> None:
        if request.path.startswith(prefixes):
            g.json_api = True


def envelope_error(_status: int, message: str, _field: str | None = None) -> dict:
    return {"success": False, "error": message}


def detail_error(_status: int, message: str, _field: str | None = None) -> dict:
    return {"detail": message}


class Request(BaseModel):
    # JSON's types as they are: "5" is not a number, 1 is not true.
    model_config = ConfigDict(strict=True)


ModelId = Field(default=None, max_length=200)
Title = Field(default=None, max_length=1000)  # cleaned to 1-200 characters by the domain

# ----------------------------------------------------------------------------- message actions


class RegenerateRequest(Request):
    temperature: float | None = Field(default=None, ge=0, le=2)
    model: str | None = ModelId


class TaskRef(BaseModel):
    task_id: int
    message_id: int  # the reply being written
    stream_url: str  # its text as it streams (SSE)


class TaskStarted(BaseModel):
    success: bool = True
    data: TaskRef


class EditRequest(Request):
    content: str
    trigger_regeneration: bool = True


class Edited(BaseModel):
    message_id: int  # the new version
    task_id: int | None  # its reply, or None: saved without one
    stream_url: str | None


class EditAnswer(BaseModel):
    success: bool = True
    operation: Literal["edit"] = "edit"
    data: Edited


class Deleted(BaseModel):
    message_id: int
    removed_ids: list[int]
    undo_url: str


class DeleteAnswer(BaseModel):
    success: bool = True
    operation: Literal["delete"] = "delete"
    data: Deleted


class FeedbackRequest(Request):
    feedback_type: Literal["upvote", "downvote"]
    # Free text, kept as the feedback's comment (what the page's feedback form calls it).
    reason: str | None = None
    reasons: list[str] = Field(default_factory=list, max_length=20)  # the page's chips


class FeedbackSaved(BaseModel):
    message_id: int
    feedback_type: Literal["upvote", "downvote"]
    reason: str
    reasons: list[str]


class FeedbackAnswer(BaseModel):
    success: bool = True
    data: FeedbackSaved


class TaskState(BaseModel):
    task_id: int
    message_id: int
    conversation_id: int
    regenerates: int | None
    status: Literal["pending", "in_progress", "completed", "failed"]
    progress: float
    error: str | None
    created_at: str
    started_at: str
    completed_at: str | None

    @classmethod
    def of(cls, task: tasks.Task) -> "TaskState":
        return cls(task_id=task.task_id, message_id=task.message_id,
                   conversation_id=task.conversation_id, regenerates=task.regenerates,
                   status=task.status, progress=task.progress, error=task.error,
                   created_at=iso(task.created_at), started_at=iso(task.started_at),
                   completed_at=iso(task.completed_at))


class TaskAnswer(BaseModel):
    success: bool = True
    data: TaskState


# ----------------------------------------------------------------------------- conversations


class ConversationCreate(Request):
    title: str | None = Title
    mode: Literal["solo", "partner", "group"] = "solo"
    with_ai: bool = True
    default_model_id: str | None = ModelId
    # Seed 002: the other people of a partner or group room, by username (accounts only).
    participant_usernames: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100)


class ConversationSummary(BaseModel):
    """A conversation with its settings, as PUT /conversations/<id> also answers."""

    id: int
    title: str
    mode: str
    with_ai: bool
    default_model_id: str | None
    archived: bool
    created_at: str
    updated_at: str
    participant_usernames: list[str] | None = None  # on creation, when people were added

    @classmethod
    def of(cls, conversation: Conversation,
           participants: list[str] | None = None) -> "ConversationSummary":
        return cls(id=conversation.id, title=conversation.title, mode=str(conversation.mode),
                   with_ai=conversation.with_ai,
                   default_model_id=conversation.default_model_id,
                   archived=conversation.archived, created_at=iso(conversation.created_at),
                   updated_at=iso(conversation.updated_at), participant_usernames=participants)


class ListQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=INT_MAX)


class ConversationMessageCreate(Request):
    content: str
    model: str | None = ModelId  # this message's model, over the conversation's default


class ConversationMessage(BaseModel):
    id: int
    conversation_id: int
    role: str
    author_type: Literal["user", "ai"]
    content: str
    model: str | None  # the model asked for this message (user messages), if any
    model_used: str | None  # the model that wrote it (replies)
    status: str
    error: str | None
    created_at: str

    @classmethod
    def of(cls, message: Message) -> "ConversationMessage":
        return cls(id=message.id, conversation_id=message.conversation_id,
                   role=str(message.role),
                   author_type="ai" if message.role == Role.ASSISTANT else "user",
                   content=message.content, model=message.model_override,
                   model_used=message.model_id_used, status=str(message.status),
                   error=message.error, created_at=iso(message.created_at))


# ----------------------------------------------------------------------------- chat (camelCase)


class ChatSend(Request):
    message: str
    conversationId: int | None = Field(default=None, ge=1, le=INT_MAX)
    model: str | None = ModelId
    stream: bool = False  # or `Accept: text/event-stream`


class ChatReply(BaseModel):
    conversationId: int
    title: str
    userMessageId: int
    messageId: int | None  # None: the conversation's AI is off (status "saved")
    response: str | None
    status: str  # complete, stopped, error; or saved
    error: str | None
    model: str | None
    promptTokens: int | None
    completionTokens: int | None


class ConversationStart(Request):
    title: str | None = Title
    firstMessage: str | None = None
    model: str | None = ModelId


class ConversationPatch(Request):
    title: str | None = Title
    archived: bool | None = None


class MessageV1(BaseModel):
    id: int
    role: str
    content: str
    status: str
    model: str | None
    error: str | None
    createdAt: str

    @classmethod
    def of(cls, message: Message) -> "MessageV1":
        return cls(id=message.id, role=str(message.role), content=message.content,
                   status=str(message.status), model=message.model_id_used,
                   error=message.error, createdAt=iso(message.created_at))


class ConversationV1(BaseModel):
    id: int
    title: str
    createdAt: str
    updatedAt: str
    lastActivityAt: str
    archived: bool
    deleted: bool
    messageCount: int
    messages: list[MessageV1] | None = None  # one conversation: its branch shown

    @classmethod
    def of(cls, conversation: Conversation, message_count: int,
           messages: list[Message] | None = None) -> "ConversationV1":
        return cls(id=conversation.id, title=conversation.title,
                   createdAt=iso(conversation.created_at),
                   updatedAt=iso(conversation.updated_at),
                   lastActivityAt=iso(conversation.last_activity_at),
                   archived=conversation.archived, deleted=conversation.deleted_at is not None,
                   messageCount=message_count,
                   messages=None if messages is None else [MessageV1.of(m) for m in messages])


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=1_000_000)
    pageSize: int = Field(default=20, ge=1, le=100)
    includeArchived: bool = False


class ConversationPage(BaseModel):
    conversations: list[ConversationV1]
    page: int
    pageSize: int
    total: int
    hasMore: bool


class DeleteQuery(BaseModel):
    permanent: bool = False


class SearchQuery(BaseModel):
    query: str = Field(min_length=1, max_length=500)
    limit: int = Field(default=20, ge=1, le=100)


class SearchHitV1(BaseModel):
    conversationId: int
    title: str
    messageId: int | None  # None: the title matched
    role: str | None
    snippet: str
    lastActivityAt: str


class SearchResults(BaseModel):
    query: str
    results: list[SearchHitV1]


class SessionStats(BaseModel):
    """A person's conversation and token counts (the sessions API's stats)."""

    active: int
    archived: int
    trash: int
    messages: int
    promptTokens: int
    completionTokens: int
    tokens: int


class Stats(SessionStats):
    """Seed 004's stats: the same counts and the total of conversations."""

    total: int
