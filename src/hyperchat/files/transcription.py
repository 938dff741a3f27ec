"""Audio to text through the provider's OpenAI-compatible `POST {base}/audio/transcriptions`
(TRANSCRIPTION_BASE_URL, TRANSCRIPTION_API_KEY, TRANSCRIPTION_MODEL)."""

from pathlib import Path

import httpx

from hyperchat.files.extractors import ExtractionError
from hyperchat.upstream.client import tls_context

NOT_CONFIGURED = ("Audio transcription is not configured on this server: set "
                  "TRANSCRIPTION_BASE_URL (an OpenAI-compatible API), TRANSCRIPTION_API_KEY "
                  "and TRANSCRIPTION_MODEL.")
DEMO = (" The offline demo model cannot transcribe: it answers without any provider.")


class Transcriber:
    def __init__(self, base_url: str | None, api_key: str | None, model: str,
                 timeout: float, demo: bool = False) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key = api_key
        self.model = model
        self.demo = demo
        # The process's one TLS context: a new one per app costs each test, and each
        # worker's start, about 0.1 s of CPU.
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0),
                                         verify=tls_context())

    @property
    def available(self) -> bool:
        return self.base_url is not None

    def unavailable_reason(self) -> str:
        return NOT_CONFIGURED + (DEMO if self.demo else "")

    async def transcribe(self, path: Path, name: str, media_type: str) -> str:
        if not self.available:
            raise ExtractionError(self.unavailable_reason())
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            with path.open("rb") as audio:
                response = await self._client.post(
                    f"{self.base_url}/audio/transcriptions", headers=headers,
                    data={"model": self.model, "response_format": "json"},
                    files={"file": (name, audio, media_type)})
        except httpx.HTTPError as error:
            raise ExtractionError(f"The transcription service could not be reached "
                                  f"({type(error).__name__}).") from None
        if response.status_code != 200:
            raise ExtractionError(f"The transcription service refused this audio "
                                  f"(HTTP {response.status_code}: {_message(response)}).")
        try:
            text = response.json()["text"]
        except (ValueError, KeyError, TypeError):
            raise ExtractionError("The transcription service answered without a text.") \
                from None
        if not isinstance(text, str):
            raise ExtractionError("The transcription service answered without a text.")
        return text.strip()

    async def aclose(self) -> None:
        await self._client.aclose()


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict):
            return str(error.get("message"))[:300]
    except ValueError:
        pass
    return response.text[:300] or response.reason_phrase
