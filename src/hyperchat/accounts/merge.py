"""A guest's data moves into an account at sign-up or sign-in, in one transaction.

Every table with an `owner` column is included (found from the models, so a table added
later is carried over without touching this file): conversations, and with them their
messages; usage records, feedback, edits, audit entries; the budget. Nothing is copied, so
nothing can be duplicated; a failure anywhere rolls every table back.
"""

from tortoise.models import Model
from tortoise.transactions import in_transaction

from hyperchat.store import schema


def owned_models() -> list[type[Model]]:
    """Every table with an `owner` column, in table-name order."""
    models = {m for m in vars(schema).values()
              if isinstance(m, type) and issubclass(m, Model) and m is not Model}
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
            table = model._meta.db_table
            if model._meta.pk_attr != "owner":
                moved[table] = await model.filter(owner=guest).update(owner=owner)
                continue
            # Keyed by owner (the budget): a key cannot be updated, so the row is re-made.
            rows = await model.filter(owner=guest).values()
            if rows and not await model.exists(owner=owner):
                await model.create(**{**rows[0], "owner": owner})
                moved[table] = 1
            await model.filter(owner=guest).delete()
        # Not an `owner` column, but an owner string all the same: who wrote each message.
        moved["message.author"] = await schema.Message.filter(author=guest).update(
            author=owner)
    return moved
