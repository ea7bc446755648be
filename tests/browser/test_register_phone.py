"""The register as MIH staff use it at the door: on a 390 px phone, and by keyboard alone in Khmer.

On the phone a screen holds 8 or more officials, one line each, with status buttons of at least
44 x 44 px and the note opening on demand. By keyboard, every tab stop and every row shows a focus
ring with at least 3:1 contrast against what lies behind it (WCAG 1.4.11), and a screen reader
hears each save with the official's name, and "Mark all present" once.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from participants.models import Attendance
from tests.conftest import screenshot
from tests.factories import CourseFactory, EnrollmentFactory, MinistryFactory, OfficialFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
KEYS = {"present": "p", "late": "l", "excused": "e", "absent": "a"}

# The focus indicator of the focused element and its contrast with what lies just outside it,
# sampled on its four sides (the outline is drawn outside the element, over its surroundings). A
# radio button is hidden; its label carries the ring.
FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const next = el.nextElementSibling;
  const ring = el.matches("input[type=radio]") && next && next.tagName === "LABEL" ? next : el;
  const style = getComputedStyle(ring);
  const rgb = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const luminance = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const backdrop = (x, y) => {
    const under = document.elementsFromPoint(x, y).find((e) => e !== ring && !ring.contains(e));
    for (let node = under; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const color = rgb(style.outlineColor);
  const width = parseFloat(style.outlineWidth) || 0;
  const name = ring.textContent || ring.getAttribute("aria-label") || ring.id || ring.tagName;
  const label = name.trim().slice(0, 40);
  if (style.outlineStyle === "none" || width < 2 || !color || color.a === 0) return { label, ratio: 0 };
  const r = ring.getBoundingClientRect();
  const d = (parseFloat(style.outlineOffset) || 0) + width / 2;
  // Midpoints of the sides' parts on the screen (a tall table's sides run past it).
  const midY = (Math.max(r.top, 0) + Math.min(r.bottom, innerHeight)) / 2;
  const midX = (Math.max(r.left, 0) + Math.min(r.right, innerWidth)) / 2;
  const points = [[r.left - d, midY], [r.right + d, midY], [midX, r.top - d], [midX, r.bottom + d]]
    .filter(([x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight);
  let ratio = Infinity;
  for (const [x, y] of points) {
    const [a, b] = [luminance(color), luminance(backdrop(x, y))].sort((p, q) => q - p);
    ratio = Math.min(ratio, (a + 0.05) / (b + 0.05));
  }
  return { label, ratio: points.length ? ratio : 0, width };
}"""


@pytest.fixture
def register_of_23():
    course = CourseFactory(number=3, title="Standards and Quality Infrastructure")
    misti = MinistryFactory(
        name_en="Ministry of Industry, Science, Technology and Innovation",
        name_km="ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍",
        acronym="MISTI",
    )
    for n in range(23):
        if n % 6 == 5:  # known by the Khmer name alone
            official = OfficialFactory(family_name="", given_name="", name_km=f"ចាន់ សុភាព {n}", ministry=misti)
        else:
            official = OfficialFactory(family_name=f"Chan{n:02d}", given_name="Sreymom", ministry=misti)
        EnrollmentFactory(course=course, official=official)
    return SessionFactory(course=course, title="Metrology in practice")


def _wait_until_saved(page):
    page.wait_for_function(
        "() => !document.querySelector('tr.row-saving, tr.row-unsaved')"
        " && document.querySelector('[data-count=unsaved]').textContent === '0'"
    )


def _assert_focus_visible(page, where: str) -> dict:
    ring = page.evaluate(FOCUS_RING)
    assert ring is not None, f"nothing has the focus ({where})"
    assert ring["ratio"] >= 3, f"focus ring of {ring['label']!r} has contrast {ring['ratio']:.2f}:1 ({where})"
    return ring


def _rows_in_view(page) -> int:
    """Scroll the first row just under the sticky counts; count the rows wholly on the screen."""
    return page.evaluate(
        """() => {
          const counts = document.getElementById("register-counts");
          const rows = Array.from(document.querySelectorAll("tr.register-row"));
          window.scrollTo(0, rows[0].getBoundingClientRect().top + scrollY - counts.offsetHeight);
          const top = counts.getBoundingClientRect().bottom;
          return rows.filter((row) => {
            const r = row.getBoundingClientRect();
            return r.top >= top - 1 && r.bottom <= innerHeight + 1;
          }).length;
        }"""
    )


@pytest.mark.parametrize("locale", ["en", "km"])
def test_on_a_390px_phone_a_screen_holds_8_rows_of_one_line_with_44px_status_buttons(
    new_page, staff, register_of_23, locale
):
    page = new_page(staff, locale=locale, viewport=PHONE)
    page.goto(page.base_url + reverse("session_detail", args=[register_of_23.pk]))
    rows = page.locator("tr.register-row")
    assert rows.count() == 23
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    visible = _rows_in_view(page)
    assert visible >= 8, f"{visible} rows on a 390 x 844 screen"
    page.screenshot(path=str(screenshot_path(f"register-phone-{locale}")))  # the screen as staff see it

    sizes = page.evaluate(
        """() => Array.from(document.querySelectorAll("tr.register-row")).map((row) => {
          const labels = row.querySelectorAll(".status-choices label");
          const boxes = Array.from(labels, (l) => l.getBoundingClientRect());
          const name = row.querySelector("th").getBoundingClientRect();
          return { labels: boxes.map((r) => [r.width, r.height, r.top, r.left]),
                   name: [name.top, name.bottom, name.right] };
        })"""
    )
    for n, row in enumerate(sizes):
        assert len(row["labels"]) == 4
        assert all(w >= 44 and h >= 44 for w, h, _top, _left in row["labels"]), f"row {n}: {row['labels']}"
        assert len({round(top) for _w, _h, top, _left in row["labels"]}) == 1, f"row {n}: the buttons wrap"
        # One line: the name beside the buttons (left of them, level with them), not above them.
        _w, height, top, left = row["labels"][0]
        name_top, name_bottom, name_right = row["name"]
        assert name_right <= left and name_top < top + height and name_bottom > top, f"row {n}: {row}"
    # The sticky counts stay on the screen while the rows scroll under them.
    rows.nth(20).scroll_into_view_if_needed()
    assert page.locator("#register-counts").evaluate("e => e.getBoundingClientRect().top") >= -1


def test_on_a_phone_the_note_opens_on_demand_and_is_saved(new_page, staff, register_of_23):
    page = new_page(staff, viewport=PHONE)
    page.goto(page.base_url + reverse("session_detail", args=[register_of_23.pk]))
    row = page.locator("tr.register-row").nth(2)
    note = row.locator("input.row-note")
    assert not note.is_visible()
    row.locator("label.choice-excused").click()
    toggle = row.locator("button.note-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true" and note.is_visible()
    assert page.evaluate("() => document.activeElement.classList.contains('row-note')")
    note.fill("mission abroad")
    note.press("Enter")
    _wait_until_saved(page)
    # The note is queued (an IndexedDB write) a moment after Enter, so the page may look idle
    # just before it sends it: wait for the database, a while, not for one look at the page.
    for _ in range(100):
        attendance = Attendance.objects.get(session=register_of_23)
        if attendance.note:
            break
        time.sleep(0.1)
    assert (attendance.status, attendance.note) == ("excused", "mission abroad")
    page.screenshot(path=str(screenshot_path("register-phone-note-open")))


def test_a_keyboard_alone_marks_a_register_of_23_in_khmer_with_the_focus_always_visible(
    new_page, staff, register_of_23
):
    page = new_page(staff, locale="km")
    page.goto(page.base_url + reverse("session_detail", args=[register_of_23.pk]))
    first_radio = page.locator("tr.register-row").first.locator("input[type=radio]").first

    # From the top of the page, Tab through every stop to the register, each with a visible ring:
    # the skip link, the header on its dark blue, the page's links and buttons, the scrolling table.
    stops = []
    for _ in range(60):
        page.keyboard.press("Tab")
        stops.append(_assert_focus_visible(page, f"tab stop {len(stops) + 1}")["label"])
        if first_radio.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail(f"the register is not reached by Tab: {stops}")
    assert "រំលងទៅខ្លឹមសារ" in stops[0]  # "Skip to content", first

    # Each row by its key; the focus moves to the next row by itself. The first row alone, to hear
    # its save said with the official's name and the status: "CHAN00 Sreymom: Excused. Saved".
    expected = {}
    rows = page.locator("tr.register-row")
    statuses = list(KEYS)
    for n in range(20):
        status = statuses[(n * 3 + 2) % 4]
        expected[rows.nth(n).get_attribute("data-enrollment")] = status
        page.keyboard.press(KEYS[status])
        _assert_focus_visible(page, f"after row {n + 1}")
        if n == 0:
            _wait_until_saved(page)
            label = rows.first.locator("input:checked + label .choice-full").inner_text()
            words = f"{rows.first.get_attribute('data-name')}: {label}. បានរក្សាទុក"  # "Saved"
            page.wait_for_function(
                "w => document.getElementById('register-announcer').textContent === w", arg=words
            )
    _wait_until_saved(page)

    # Back to "Mark all present" by keyboard: the last three rows, announced once.
    for _ in range(80):
        page.keyboard.press("Shift+Tab")
        _assert_focus_visible(page, "back to Mark all present")
        if page.evaluate("() => document.activeElement.id") == "mark-all-present":
            break
    page.keyboard.press("Enter")
    _wait_until_saved(page)
    page.wait_for_function("() => document.getElementById('register-announcer').textContent.includes('3')")
    assert page.locator("#register-announcer").text_content() == "បានកត់ត្រាថាមានវត្តមាន៖ 3 នាក់។ បានរក្សាទុកទាំងអស់។"

    saved = dict(Attendance.objects.filter(session=register_of_23).values_list("enrollment_id", "status"))
    assert len(saved) == 23
    assert {str(k): v for k, v in saved.items() if str(k) in expected} == expected
    assert sorted(v for k, v in saved.items() if str(k) not in expected) == ["present"] * 3
    screenshot(page, "register-keyboard-km")


def screenshot_path(name: str):
    from tests.conftest import SCREENSHOT_DIR

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR / f"{name}.png"
