"""URL rules whose URL builders are compiled when first used, not when the app is made.

Werkzeug compiles two Python functions per rule (through `ast` and `compile`) as the rule is
added: about 2.5 ms per rule, a quarter of a second for this app's routes, paid by every
worker at start and by every test that makes an app. Most rules are only ever matched,
never built with `url_for`; matching does not use the builders.
"""

from collections.abc import Callable

from quart.routing import QuartRule
from werkzeug.routing import Rule


class LazyBuilderRule(QuartRule):
    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compiled: Callable[..., tuple[str, str]] | None = None

        def build(rule: Rule, **values) -> tuple[str, str]:
            nonlocal compiled
            if compiled is None:
                compiled = Rule._compile_builder(rule, append_unknown)
            return compiled(rule, **values)

        return build
