"""What `make bench` reads from the app's real pages, and the rule its capacity search applies:
a page that changed under the bench must fail here, not turn into a silent "n/a" there."""

from bench.capacity import P99_LIMIT, Step
from bench.run import Level, Sample, find

from tests.accounts_helpers import register, token_of

REPLY = "Hello from the fake"


async def test_the_bench_finds_the_new_api_key_on_the_account_page_and_it_works(app, client):
    assert (await register(client, "benchkey")).status_code == 201
    response = await client.post("/account/keys", form={
        "name": "bench", "csrf_token": await token_of(client)})
    assert response.status_code == 201
    key = find(await response.get_data(as_text=True)).new_key
    assert key
    models = await app.test_client().get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert models.status_code == 200


def step(added: list[float], direct: float = 2.0, text: str = REPLY, error: str | None = None,
         achieved: float = 10.0) -> Step:
    samples = [Sample(added_ms=a, text=text) for a in added]
    samples[-1].error = error
    level = Level(10, app=samples, direct=[Sample(added_ms=direct, text=REPLY)] * 5)
    return Step(10, replies=level, steady=level, achieved=achieved, app_cpu=0.5,
                machine_cpu=0.5, client_cpu=0.1, seconds=17.0)


def test_a_capacity_rate_holds_with_a_low_p99_every_reply_whole_no_error_and_on_time():
    assert step([10.0] * 100).failures(REPLY) == []
    # App-added is each sample minus the direct median (2 ms here).
    assert step([P99_LIMIT + 2.0] * 100).failures(REPLY) == []
    assert "TTFT p99" in step([P99_LIMIT + 3.0] * 100).failures(REPLY)[0]
    assert "not relayed whole" in step([10.0] * 100, text=REPLY[:-1]).failures(REPLY)[0]
    assert "errors" in step([10.0] * 100, error="TimeoutError: ").failures(REPLY)[0]
    assert "client started only" in step([10.0] * 100, achieved=9.0).failures(REPLY)[0]
