"""A guest's data moves into an account at sign-up or sign-in, in one transaction.

Every table with an `owner` column is included (found from the models, so a table added
later is carried over without touching this file): conversations, and with them their
messages; usage records, feedback, edits, audit entries; the budget. Nothing is copied, so
nothing can be duplicated; a failure anywhere rolls every table back.
"""

from tortoise import Tortoise
from tortoise.transactions import in_transaction


def owned_models() -> list:
    models = Tortoise.apps.get("models", {}).values()
    return sorted((m for m in models if "owner" in m._meta.fields_map),
                  key=lambda m: m._meta.db_table)


async def merge_guest(guest: str, owner: str) -> dict[str, int]:
    """Give everything `guest` owns to `owner`; return rows moved per table. An owner-keyed
    row the account already has (its own budget) wins over the guest's, which is dropped."""
    moved: dict[str, int] = {}
    if not guest or guest == owner:
        return moved
    async with in_transaction():
        for model in owned_models():
            if model._meta.pk_attr == "owner":
                if await model.exists(owner=owner):
                    await model.filter(owner=guest).delete()
                    continue
            moved[model._meta.db_table] = await model.filter(owner=guest).update(owner=owner)
    return moved
