"""The rollups: each enrolment's and each session's marks counted once, kept by the services.

The whole-programme pages (dashboard, course list, programme, ministry and sessions reports, the
API summary) sum these small rows instead of the attendance table (participants.reports.figures).

How they stay right:

- Every service that changes what they count calls `refresh()` in its own transaction, after its
  writes: the register (one row or many: the page, the full form, the API, imports), enrolling
  (one or in bulk), withdrawing and reinstating, an official's sex (one or in bulk), merging an
  official and undoing it, and a session cancelled or brought back (`on_session_changed`).
- `refresh()` recomputes the rows from the attendance with the reports' own counting
  (`figures.mark_counts_sql`), for the given enrolments and sessions only. `rebuild()` runs the
  very same statements over everything: `manage.py rebuild_rollups`, the data migration, and the
  property test that compares the two.
- *Held* depends on the clock: a session becomes held when its start passes, without any write.
  The rollups therefore count the marks at every session that is not cancelled, and the reports
  apply the held rule when they read: they count the held sessions per course from the sessions
  table (small) and take off the few marks at sessions not started yet. Completion, which depends
  on the number of held sessions, is decided there too. No periodic task, and no lag.
- Each refresh also tells the whole-programme snapshot (participants.reports.snapshot) that the
  figures moved: it is recomputed in the background after the commit.
- Concurrent writers: on PostgreSQL the rows to refresh (the sessions, then the enrolments' rollups,
  in id order) are locked first, so each refresh reads the attendance after the one before it
  committed. SQLite lets one writer in at a time.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from courses.models import Session
from participants.models import Attendance, Enrollment, EnrolmentRollup, Official, SessionRollup
from participants.reports.figures import mark_counts_sql
from participants.reports.snapshot import figures_changed

Selection = QuerySet | Iterable[int] | None


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _selection(selection: Selection) -> tuple[str, tuple] | None:
    """`IN (…)` for a queryset (as a subquery) or a list of ids; None when nothing is chosen."""
    if selection is None:
        return None
    if isinstance(selection, QuerySet):
        sql, params = selection.values("pk").order_by().query.sql_with_params()
        return f"IN ({sql})", tuple(params)
    ids = sorted({int(pk) for pk in selection})
    if not ids:
        return None
    return f"IN ({', '.join(['%s'] * len(ids))})", tuple(ids)


def _enrolment_upsert(where: str, params: tuple) -> tuple[str, tuple]:
    table = _q(EnrolmentRollup._meta.db_table)
    enrollment = _q(Enrollment._meta.db_table)
    official = _q(Official._meta.db_table)
    attendance = _q(Attendance._meta.db_table)
    session = _q(Session._meta.db_table)
    counts = ("attended", "late", "excused", "absent")
    copied = (
        "course_id",
        "official_id",
        "ministry_id",
        "ministry_name_en",
        "ministry_acronym",
        "sex",
        "active",
    )
    updates = ", ".join(f"{name} = excluded.{name}" for name in (*copied, *counts))
    # The marks at cancelled sessions never count; whether a session has started is the reader's
    # business (see the module docstring). Every chosen enrolment gets its row, zero or not.
    sql = f"""
    INSERT INTO {table} (enrollment_id, {", ".join(copied)}, {", ".join(counts)})
    SELECT e.id, e.course_id, e.official_id, e.ministry_id, e.ministry_name_en, e.ministry_acronym,
           o.sex, e.status = %s,
           {", ".join(f"COALESCE(m.{name}, 0)" for name in counts)}
    FROM {enrollment} e
    INNER JOIN {official} o ON o.id = e.official_id
    LEFT JOIN (
        SELECT a.enrollment_id, {mark_counts_sql("a")}
        FROM {attendance} a
        INNER JOIN {session} s ON s.id = a.session_id
        WHERE s.status <> %s {f"AND a.enrollment_id {where}" if where else ""}
        GROUP BY a.enrollment_id
    ) m ON m.enrollment_id = e.id
    WHERE 1 = 1 {f"AND e.id {where}" if where else ""}
    ON CONFLICT (enrollment_id) DO UPDATE SET {updates}"""
    return sql, (Enrollment.Status.ENROLLED, Session.Status.CANCELLED, *params, *params)


def _session_upsert(where: str, params: tuple) -> tuple[str, tuple]:
    table = _q(SessionRollup._meta.db_table)
    enrollment = _q(Enrollment._meta.db_table)
    official = _q(Official._meta.db_table)
    attendance = _q(Attendance._meta.db_table)
    counts = ("attended", "late", "excused", "absent")
    updates = ", ".join(f"{name} = excluded.{name}" for name in counts)
    # The groups stored before are sent again as zeros beside the recomputed ones, so a group whose
    # last mark went (a withdrawal, a change of sex, a merge) is set to zero rather than left stale.
    sql = f"""
    INSERT INTO {table} (session_id, sex, ministry_id, {", ".join(counts)})
    SELECT session_id, sex, ministry_id, {", ".join(f"SUM({name})" for name in counts)}
    FROM (
        SELECT a.session_id, o.sex, e.ministry_id, {mark_counts_sql("a")}
        FROM {attendance} a
        INNER JOIN {enrollment} e ON e.id = a.enrollment_id
        INNER JOIN {official} o ON o.id = e.official_id
        WHERE e.status = %s {f"AND a.session_id {where}" if where else ""}
        GROUP BY a.session_id, o.sex, e.ministry_id
        UNION ALL
        SELECT session_id, sex, ministry_id, 0, 0, 0, 0 FROM {table}
        {f"WHERE session_id {where}" if where else ""}
    ) t
    WHERE 1 = 1
    GROUP BY session_id, sex, ministry_id
    ON CONFLICT (session_id, sex, ministry_id) DO UPDATE SET {updates}"""
    return sql, (Enrollment.Status.ENROLLED, *params, *params)


def _lock(enrolments: tuple[str, tuple] | None, sessions: tuple[str, tuple] | None, cursor) -> None:
    if connection.vendor != "postgresql":
        return
    rollup, session = _q(EnrolmentRollup._meta.db_table), _q(Session._meta.db_table)
    if enrolments and sessions:
        cursor.execute(
            f"SELECT 1 FROM {session} s, {rollup} r WHERE s.id {sessions[0]} AND r.enrollment_id "
            f"{enrolments[0]} ORDER BY s.id, r.enrollment_id FOR UPDATE OF s, r",
            (*sessions[1], *enrolments[1]),
        )
    elif sessions:
        cursor.execute(f"SELECT 1 FROM {session} WHERE id {sessions[0]} ORDER BY id FOR UPDATE", sessions[1])
    elif enrolments:
        cursor.execute(
            f"SELECT 1 FROM {rollup} WHERE enrollment_id {enrolments[0]} ORDER BY enrollment_id FOR UPDATE",
            enrolments[1],
        )


def refresh(*, enrollments: Selection = None, sessions: Selection = None) -> None:
    """Recompute the rollups of these enrolments and sessions (querysets or ids), in the caller's
    transaction: at most three statements (the lock, one upsert per table), whatever their number."""
    chosen_enrolments, chosen_sessions = _selection(enrollments), _selection(sessions)
    # What the rollups count moved, so the whole-programme snapshot is refreshed after the commit.
    figures_changed()
    with connection.cursor() as cursor:
        _lock(chosen_enrolments, chosen_sessions, cursor)
        if chosen_enrolments:
            cursor.execute(*_enrolment_upsert(*chosen_enrolments))
        if chosen_sessions:
            cursor.execute(*_session_upsert(*chosen_sessions))


def refresh_officials(official_ids: Iterable[int]) -> None:
    """After a change of these officials (sex, a merge): their enrolments and the sessions they
    were marked at."""
    official_ids = sorted(set(official_ids))
    if not official_ids:
        return
    refresh(
        enrollments=Enrollment.objects.filter(official_id__in=official_ids),
        sessions=Session.objects.filter(
            pk__in=Attendance.objects.filter(enrollment__official_id__in=official_ids).values("session_id")
        ),
    )


def refresh_enrolments_and_their_sessions(enrollment_ids: Iterable[int]) -> None:
    """After an enrolment is withdrawn or reinstated: it, and the sessions it was marked at."""
    enrollment_ids = sorted(set(enrollment_ids))
    refresh(
        enrollments=enrollment_ids,
        sessions=Session.objects.filter(
            pk__in=Attendance.objects.filter(enrollment_id__in=enrollment_ids).values("session_id")
        ),
    )


def on_session_changed(sender, *, session, previous, **kwargs) -> None:
    """A session cancelled (or brought back): the marks at it stop (or start) counting for each
    enrolment marked there. A new time changes nothing stored: the held rule is applied on reading.
    Any change (a new session, a new time) moves the whole-programme snapshot's expiry, though."""
    figures_changed()
    if previous is None or previous.get("status") == session.status:
        return
    refresh(enrollments=Enrollment.objects.filter(attendances__session=session))


def rebuild() -> None:
    """Every rollup from scratch, with the statements `refresh` uses (the caller's transaction).
    It does not queue a snapshot refresh: the data migration runs it before that table exists."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_q(SessionRollup._meta.db_table)}")
        cursor.execute(f"DELETE FROM {_q(EnrolmentRollup._meta.db_table)}")
        cursor.execute(*_enrolment_upsert("", ()))
        cursor.execute(*_session_upsert("", ()))
