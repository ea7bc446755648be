"""End to end: a real Celery worker on Redis, a real SMTP server on loopback, real Chromium.

Course 3's pre-test links go out before its first session, each official answers on a phone-sized
screen (one in Khmer), the post-test links go out after the last session, the officials answer
again, and the results page shows the paired gain counted here by hand. Where beat would run the
dispatcher, the test calls sending.dispatch() with the time it pretends it is.
"""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from participants.services import enrollment_create
from participants.surveys import sending, services
from participants.surveys.models import Invitation, Response
from participants.surveys.tasks import send_survey_links
from tests.conftest import screenshot
from tests.factories import CourseFactory, OfficialFactory, SessionFactory
from tests.reminders.conftest import wait_for

from .conftest import make_test

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

HOUR = datetime.timedelta(hours=1)
PHONE = {"width": 390, "height": 844}
# What each official ticks, by option position: (Q1 single, Q2 multiple). Scores: Q1 2 points for
# option 2, Q2 3 points for exactly options 1 and 3.
PRE = {0: (1, [1]), 1: (2, [1]), 2: (2, [1, 3])}  # 0, 2, 5 points
POST = {0: (2, [1, 3]), 1: (2, [1, 3]), 2: (2, [1])}  # 5, 5, 2 points
# Gains 5, 3, −3: mean pre 7/3, mean post 12/3, mean gain 5/3 = 1.67.
EXPECTED_MEAN_GAIN = "1.67"


def _all_sent(instrument):
    return lambda: (
        not Invitation.objects.filter(
            instrument=instrument, status__in=[Invitation.Status.PENDING, Invitation.Status.SENDING]
        ).exists()
    )


def _link_for(smtp_server, official, instrument) -> str:
    """The official's link to `instrument`, read from the mail the server received."""
    for message in smtp_server.messages:
        if str(message["To"]) != official.email:
            continue
        link = next(line.strip() for line in message.get_content().splitlines() if "/survey/" in line)
        if services.open_link(link.rsplit("/survey/", 1)[1].strip("/")) == (instrument, official):
            return link
    raise AssertionError(f"no link to {instrument} for {official.email}")


def _answer_on_a_phone(new_page, live_server, link: str, choices, *, khmer: bool, name: str) -> None:
    page = new_page(viewport=PHONE, locale="km" if khmer else "en")
    path = link.split("/survey/", 1)[1]
    page.goto(f"{live_server.url}/survey/{path}")
    if khmer:
        assert page.locator("html").get_attribute("lang") == "km" or page.locator(".survey[lang=km]").count()
        assert page.get_by_text("ក្រសួងណាដឹកនាំគោលនយោបាយឧស្សាហកម្ម?").is_visible()
    single, multiple = choices
    fieldsets = page.locator("fieldset")
    fieldsets.nth(0).locator("input").nth(single - 1).check()
    for n in multiple:
        fieldsets.nth(1).locator("input").nth(n - 1).check()
    fieldsets.nth(2).locator("input").nth(3).check()
    fieldsets.nth(3).locator("textarea").fill("ព័ត៌មាន" if khmer else "A policy note")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    screenshot(page, f"survey-{name}")
    page.locator("button[type=submit].primary").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".message.success, .messages .message").count() >= 1


def test_course_3_pre_and_post_tests_go_out_once_are_answered_on_phones_and_give_the_paired_gain(
    celery_worker, smtp_server, new_page, live_server, staff_client
):
    course = CourseFactory(number=3)
    officials = [
        OfficialFactory(preferred_language="km", sex="female"),
        OfficialFactory(preferred_language="en", sex="male"),
        OfficialFactory(preferred_language="en", sex="female"),
    ]
    for official in officials:
        enrollment_create(official=official, course=course)
    now = timezone.now()
    SessionFactory(course=course, starts_at=now + 40 * HOUR, ends_at=now + 43 * HOUR)
    SessionFactory(course=course, starts_at=now + 64 * HOUR, ends_at=now + 67 * HOUR)
    pre = make_test(course, title="Before course 3")
    post = make_test(course, kind="post", pre_test=pre, title="After course 3")
    celery_worker.start()

    first = sending.dispatch(now=now)
    second = sending.dispatch(now=now)  # a second beat
    send_survey_links.delay(first.queued_ids)  # the broker delivering the same batch twice
    wait_for(_all_sent(pre), what="every pre-test link sent")
    time.sleep(1)  # any duplicate would arrive now
    assert first.created == 3 and second.created == 0
    assert smtp_server.to_addresses() == sorted(o.email for o in officials)
    assert not Invitation.objects.filter(instrument=post).exists()  # not before the last session

    for index, official in enumerate(officials):
        link = _link_for(smtp_server, official, pre)
        khmer = official.preferred_language == "km"
        _answer_on_a_phone(new_page, live_server, link, PRE[index], khmer=khmer, name=f"pre-{index}")
    assert sorted(Response.objects.filter(instrument=pre).values_list("score", flat=True)) == [0, 2, 5]

    after = now + 68 * HOUR
    sending.dispatch(now=after)
    assert sending.dispatch(now=after).created == 0
    wait_for(_all_sent(post), what="every post-test link sent")
    time.sleep(1)
    assert len(smtp_server.messages) == 6
    for index, official in enumerate(officials):
        link = _link_for(smtp_server, official, post)
        khmer = official.preferred_language == "km"
        _answer_on_a_phone(new_page, live_server, link, POST[index], khmer=khmer, name=f"post-{index}")

    page = staff_client.get(f"/surveys/{post.pk}/results/").content.decode()
    assert f'<dd class="mean-gain">{EXPECTED_MEAN_GAIN}</dd>' in page
    assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}


def test_killing_the_worker_mid_batch_sends_each_link_once(celery_worker, smtp_server):
    course = CourseFactory()
    officials = [OfficialFactory(preferred_language=lang) for lang in ["km", "en"] * 4]
    for official in officials:
        enrollment_create(official=official, course=course)
    now = timezone.now()
    SessionFactory(course=course, starts_at=now - 5 * HOUR, ends_at=now - 2 * HOUR)
    post = make_test(course, kind="post", title="After")
    smtp_server.rcpt_delay = 0.4  # each send dawdles in RCPT, before the message is accepted
    celery_worker.start()

    sending.dispatch()
    wait_for(lambda: smtp_server.rcpt_count >= 3, what="the third send to begin")
    celery_worker.kill()  # SIGKILL in the middle of the third conversation
    assert len(smtp_server.messages) == 2
    assert Invitation.objects.filter(instrument=post, status="sending").count() == 6

    smtp_server.rcpt_delay = 0
    celery_worker.start()
    time.sleep(3.2)  # the claims time out (REMINDER_CLAIM_TIMEOUT_SECONDS=3) …
    assert sending.dispatch().queued == 6  # … and the dispatcher takes them up again
    wait_for(_all_sent(post), what="every link sent")
    time.sleep(1)
    assert smtp_server.to_addresses() == sorted(o.email for o in officials)
