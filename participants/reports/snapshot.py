"""The whole-programme figures, computed in the background and read as one row ("as of" a time).

Why: the rollups made a whole-programme page sum one small row per enrolment, which still grows
with the record. With no filter, the dashboard, the programme and per-ministry reports and the API
summary show the same few hundred numbers to everyone; they are computed here by the very same
`figures.report_figures` (one definition) and stored serialised in `FiguresSnapshot`, with the
rows of `series._completion_counts` that the series figures of those pages are made from. Filtered
views (a course, a ministry, a date range, a series) stay live on the rollups.

When a page may read it (`stored_report`): the snapshot exists, it is younger than
PCP_FIGURES_SNAPSHOT_MAX_AGE_SECONDS (a refresh that keeps failing must not freeze the figures),
and the next session start has not passed (`valid_until`: from then on that session is held and
the figures move without any write). Otherwise the page computes live, as on a fresh install.

How it is kept fresh:

- Every change the rollups see (`rollups.refresh`, called in the transaction of each service that
  changes attendance, enrolments or officials) and every session change calls `figures_changed()`.
  After the commit, one statement asks whether a refresh request is still pending (an outbox task
  row with an id above the one the last refresh claimed); only if none is, it queues one through
  the transactional outbox. A burst of register saves thus queues one refresh, plus one for the
  saves committed after that refresh started.
- The refresh first claims every request so far (the highest outbox id, committed on its own),
  then computes. The check runs after the writer's commit, so either the pending request's refresh
  claims after that commit (and reads the change), or the claim was already visible to the check
  (and a new request is queued): a change committed during a refresh leads to another refresh.
- A refresh stores its result only if no later one has claimed since (`claimed_request`
  unchanged), so a slow older computation never overwrites a newer one.
- Beat runs the refresh every PCP_FIGURES_SNAPSHOT_INTERVAL_SECONDS as a safety net (a lost task,
  a session that started, a change written outside the services).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.models import Session
from participants import series
from participants.models import FiguresSnapshot
from participants.reports import figures as fig
from pcp_portal import outbox
from pcp_portal.models import OutboxEvent

KEY = "programme"
TASK = "participants.reports.tasks.refresh_figures_snapshot"
# Every grouping the whole-programme pages ask for, computed in one query.
GROUPS = ("programme", "course", "ministry", "ministry_name", "sex")
_SPLITS = ("officials", "enrolments", "trained", "completed")


# Serialising the figures ---------------------------------------------------------------------


def _figures_to_json(figures: fig.Figures) -> list:
    splits = [
        [getattr(figures, name).women, getattr(figures, name).men, getattr(figures, name).other]
        for name in _SPLITS
    ]
    return [*splits, figures.attended, figures.expected, figures.excused, figures.absent]


def _figures_from_json(data: list) -> fig.Figures:
    *splits, attended, expected, excused, absent = data
    return fig.Figures(
        **{name: fig.SexSplit(*values) for name, values in zip(_SPLITS, splits, strict=True)},
        attended=attended,
        expected=expected,
        excused=excused,
        absent=absent,
    )


def report_to_json(report: fig.Report) -> dict:
    reach = report.reach
    return {
        "groups": {
            group: [[list(key), _figures_to_json(figures)] for key, figures in grouped.items()]
            for group, grouped in report.groups.items()
        },
        "reach": [reach.courses, reach.sessions_held, reach.ministries_reached] if reach else None,
    }


def report_from_json(data: dict, groups, *, reach: bool, course_ids=None) -> fig.Report:
    chosen = set(course_ids) if course_ids is not None else None
    result = fig.Report(groups={})
    for group in groups:
        rows = data["groups"][group]
        result.groups[group] = {
            tuple(key): _figures_from_json(values)
            for key, values in rows
            if chosen is None or key[0] in chosen
        }
    if reach:
        result.reach = fig.Reach(*data["reach"])
    return result


# Reading -------------------------------------------------------------------------------------


def _answerable(filters: fig.ReportFilters, groups, reach: bool) -> bool:
    """Whether these figures are (a part of) the snapshot: no filter at all, or only a set of courses
    for the per-course figures (each course's figures depend on that course alone)."""
    if not set(groups) <= set(GROUPS):
        return False
    if filters == fig.ReportFilters():
        return True
    return (
        filters.course_ids is not None
        and fig.ReportFilters(course_ids=filters.course_ids) == filters
        and tuple(groups) == ("course",)
        and not reach
    )


def _plain(value):
    """A value of a SQL row as JSON keeps it (the counts come back as Decimal on some backends)."""
    return int(value) if isinstance(value, Decimal) else value


def stored_series_counts() -> list[tuple] | None:
    """The series' completion counts (`series._completion_counts` rows) from the snapshot (one
    query), or None when the page must count them live."""
    snapshot = FiguresSnapshot.objects.filter(key=KEY).first()
    if not is_valid(snapshot) or "series_counts" not in snapshot.payload:
        return None
    return [tuple(row) for row in snapshot.payload["series_counts"]]


def is_valid(snapshot: FiguresSnapshot | None, *, now=None) -> bool:
    if snapshot is None or snapshot.payload is None or snapshot.computed_at is None:
        return False
    now = now or timezone.now()
    max_age = datetime.timedelta(seconds=settings.PCP_FIGURES_SNAPSHOT_MAX_AGE_SECONDS)
    if now - snapshot.computed_at > max_age:
        return False
    return snapshot.valid_until is None or now < snapshot.valid_until


def stored_report(filters: fig.ReportFilters, groups, *, reach: bool = False) -> fig.Report | None:
    """The report from the snapshot (one query), or None when the page must compute it live."""
    if not _answerable(filters, groups, reach):
        return None
    snapshot = FiguresSnapshot.objects.filter(key=KEY).first()
    if not is_valid(snapshot):
        return None
    report = report_from_json(snapshot.payload, groups, reach=reach, course_ids=filters.course_ids)
    report.as_of = snapshot.computed_at
    return report


# Refreshing ----------------------------------------------------------------------------------


def _next_session_start(now) -> datetime.datetime | None:
    return (
        Session.objects.exclude(status=Session.Status.CANCELLED)
        .filter(starts_at__gt=now)
        .aggregate(first=Min("starts_at"))["first"]
    )


def refresh(*, now=None) -> bool:
    """Claim every refresh request so far, compute the figures live and store them, unless a later
    refresh claimed meanwhile. Returns whether it stored them. Run outside a transaction (the claim
    must be visible to writers before the computation reads)."""
    with transaction.atomic():
        snapshot, _created = FiguresSnapshot.objects.select_for_update().get_or_create(key=KEY)
        # Every outbox row so far, not only refresh requests: any request with a lower id that is
        # not visible yet was queued after its change had committed, so the computation reads it.
        latest = OutboxEvent.objects.aggregate(latest=Max("id"))["latest"] or 0
        claimed = max(latest, snapshot.claimed_request)
        FiguresSnapshot.objects.filter(pk=snapshot.pk).update(claimed_request=claimed)
    now = now or timezone.now()
    report = fig.report_figures(fig.ReportFilters(), GROUPS, reach=True, now=now, live=True)
    payload = report_to_json(report)
    # The series figures of the same pages, counted by the series' own statement.
    payload["series_counts"] = [[_plain(value) for value in row] for row in series._completion_counts(now)]
    stored = FiguresSnapshot.objects.filter(key=KEY, claimed_request=claimed).update(
        payload=payload, computed_at=now, valid_until=_next_session_start(now)
    )
    return bool(stored)


def _request_refresh() -> None:
    pending = OutboxEvent.objects.filter(
        topic=OutboxEvent.Topic.TASK, name=TASK, id__gt=_claimed_subquery()
    ).exists()
    if not pending:
        outbox.enqueue(TASK)


def _claimed_subquery():
    return Coalesce(Subquery(FiguresSnapshot.objects.filter(key=KEY).values("claimed_request")[:1]), Value(0))


def figures_changed() -> None:
    """Something the figures count changed in this transaction: after the commit, queue a refresh
    unless one is pending (one small query; a second call in the same transaction finds the
    request the first one queued)."""
    if not settings.PCP_FIGURES_SNAPSHOT_ON_CHANGE:
        return
    transaction.on_commit(_request_refresh, robust=True)
