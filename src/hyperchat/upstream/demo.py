"""The offline demo model: an OpenAI-compatible endpoint served in-process.

It lets `make run` work with no key and no network. Replies are real SSE bytes in the
chat-completions wire format, streamed through httpx and the same parser a real provider
goes through, at a realistic pace, with usage at the end.
"""

import asyncio
import json
import re
import time
import uuid

import httpx

MODEL_ID = "hyperchat/demo"
BASE_URL = "http://hyperchat-demo.invalid/v1"

REPLY = """\
You asked:

> {question}

I am the **offline demo model** built into hyperchat, so I can't really answer yet, \
but everything you see (streaming, stopping, copying, voting, sharing) works exactly as \
it will with a real model.

To connect a real provider, restart hyperchat with an OpenAI-compatible endpoint:

```bash
# OpenRouter (hundreds of models)
OPENROUTER_API_KEY=sk-or-... make run

# or any local OpenAI-compatible server (Ollama, llama.cpp, vLLM)
OPENROUTER_BASE_URL=http://127.0.0.1:11434/v1 DEFAULT_MODEL=llama3.2 make run
```

| Setting | Meaning |
|---|---|
| `OPENROUTER_API_KEY` | your provider key |
| `OPENROUTER_BASE_URL` | the provider's `/v1` base URL |
| `DEFAULT_MODEL` | the model that answers |
"""


def reply_for(question: str) -> str:
    quoted = "\n> ".join(question.strip().splitlines()) or "(nothing)"
    return REPLY.format(question=quoted)


def tokens_of(text: str) -> list[str]:
    # Word-sized pieces keep whitespace attached, as real tokenizers roughly do.
    return re.findall(r"\s*\S+|\s+", text)


class _SSEStream(httpx.AsyncByteStream):
    def __init__(self, prompt_chars: int, question: str, delay: float):
        self.prompt_chars = prompt_chars
        self.question = question
        self.delay = delay

    async def __aiter__(self):
        gen_id = f"gen-demo-{uuid.uuid4().hex[:20]}"
        created = int(time.time())

        def chunk(**fields) -> bytes:
            payload = {"id": gen_id, "provider": "hyperchat", "model": MODEL_ID,
                       "object": "chat.completion.chunk", "created": created, **fields}
            return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"

        yield b": OPENROUTER PROCESSING\n\n"
        yield chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                              "finish_reason": None}])
        pieces = tokens_of(reply_for(self.question))
        for piece in pieces:
            await asyncio.sleep(self.delay)
            yield chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": piece},
                                  "finish_reason": None}])
        yield chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
        prompt_tokens = max(1, self.prompt_chars // 4)
        yield chunk(choices=[], usage={"prompt_tokens": prompt_tokens,
                                       "completion_tokens": len(pieces),
                                       "total_tokens": prompt_tokens + len(pieces), "cost": 0})
        yield b"data: [DONE]\n\n"


def _text(content) -> str:
    """A message's text: a string, or the text parts of a content-part array (the /v1 API)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return content if isinstance(content, str) else ""


class DemoTransport(httpx.AsyncBaseTransport):
    def __init__(self, token_delay: float = 0.02):
        self.token_delay = token_delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/models"):
            models = {"data": [{"id": MODEL_ID, "name": "hyperchat offline demo",
                                "context_length": 8192,
                                "pricing": {"prompt": "0", "completion": "0"}}]}
            return httpx.Response(200, json=models)
        if request.method != "POST" or not path.endswith("/chat/completions"):
            return httpx.Response(404, json={"error": {"code": 404, "message": "Not found"}})
        body = json.loads(await request.aread())
        messages = body.get("messages") or []
        question = next((_text(m.get("content")) for m in reversed(messages)
                         if m.get("role") == "user"), "")
        prompt_chars = sum(len(_text(m.get("content"))) for m in messages)
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"},
                              stream=_SSEStream(prompt_chars, question, self.token_delay))
