"""The opt-out page's Telegram section through real Chromium: the deep link an official opens, in
English and Khmer, with no axe-core violation (the site-wide sweep runs without a bot configured,
so it never sees this section)."""

import pytest

from participants import reminders
from tests.browser.axe import AxeReport
from tests.browser.test_accessibility import axe_source as axe_source_fixture
from tests.conftest import screenshot
from tests.factories import OfficialFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

axe_source = axe_source_fixture  # the sweep's fixture (axe-core read once), under its own name


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_telegram_link_on_the_opt_out_page_is_accessible(
    browser, live_server, axe_source, settings, language
):
    settings.PCP_TELEGRAM_BOT_TOKEN = "123:test"
    settings.PCP_TELEGRAM_BOT_USERNAME = "pcp_test_bot"
    official = OfficialFactory(preferred_language=language)
    context = browser.new_context(locale=language)
    context.add_init_script(axe_source)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/reminders/opt-out/{reminders.opt_out_token(official)}/")

    name = "Link Telegram" if language == "en" else "ភ្ជាប់ Telegram"
    link = page.get_by_role("link", name=name)
    assert link.get_attribute("href").startswith(f"https://t.me/pcp_test_bot?start={official.pk}_")
    report = AxeReport()
    report.check(page, f"opt-out page with Telegram, {language}")
    screenshot(page, f"telegram-link-{language}")
    context.close()
    assert report.failing() == [], report.describe(report.failing())
