"""Helpers for the accounts tests: sign up, sign in and read who a client is."""

PASSWORD = "correct horse battery"


async def token_of(client) -> str:
    response = await client.get("/api/v1/auth/me")
    return (await response.get_json())["csrf_token"]


async def register(client, username: str, password: str = PASSWORD, **extra):
    return await client.post("/api/v1/auth/register",
                             json={"username": username, "password": password, **extra},
                             headers={"X-CSRF-Token": await token_of(client)})


async def login(client, username: str, password: str = PASSWORD, **extra):
    return await client.post("/api/v1/auth/login",
                             json={"username": username, "password": password, **extra},
                             headers={"X-CSRF-Token": await token_of(client)})


async def me(client) -> dict:
    return await (await client.get("/api/v1/auth/me")).get_json()

