import pytest
from tests.fake_upstream import Tokens

@pytest.mark.browser
def test_probe(page, fake):
    fake.enqueue(Tokens([f"t{i:02d} " for i in range(20)], interval=0.05, model="openai/gpt-4o-mini-2024-07-18"))
    page.fill("#composer-input", "hello")
    page.press("#composer-input", "Enter")
    page.wait_for_selector("article.message.assistant")
    for _ in range(15):
        print(repr(page.inner_text("article.message.assistant .message-content")))
        page.wait_for_timeout(100)
    page.wait_for_selector('article.message.assistant .message-body[data-status="complete"]')
    print(page.inner_html("#thread"))
