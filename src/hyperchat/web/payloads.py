"""A JSON body read like a form, so that one view serves both representations."""

from typing import Any

from hyperchat.web.errors import BadRequest


class Fields:
    """`get(name, default, type)` over a JSON object, as werkzeug's MultiDict offers."""

    def __init__(self, payload: Any):
        if not isinstance(payload, dict):
            raise BadRequest("Send a JSON object.")
        self.payload = payload

    def get(self, name: str, default: Any = None, type: Any = None) -> Any:
        value = self.payload.get(name, default)
        if type is None or value is None or value is default:
            return value
        if type is int and (isinstance(value, bool) or not isinstance(value, int | str)):
            return default
        try:
            return type(value)
        except (TypeError, ValueError):
            return default
