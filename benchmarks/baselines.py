"""The hand-written SQL the report benchmarks compare the portal with: the same figures, from the raw
tables, written the way a PostgreSQL engineer would write them for one ad-hoc question.

How they were chosen (benchmarks/RESULTS.md repeats it): each statement computes exactly what the
report shows (officials, enrolments, trained, completed, attended, expected, excused and absent,
per group and sex, plus the programme's reach), and nothing the report does not. Attendance is
aggregated once per enrolment in one hash aggregate over the held sessions' marks, the held
sessions are counted once per course, and the rest is joins on primary keys; no correlated
subquery (the earlier baseline counted a course's held sessions once per enrolment, which made it
about 20% slower than this one), no view, no index the portal does not have. `now()` and the
completion threshold are parameters, as in the portal.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

_FIGURES = """
WITH held AS (
    SELECT id, course_id FROM courses_session
    WHERE status <> 'cancelled' AND starts_at <= %(now)s
),
held_per_course AS (SELECT course_id, count(*) AS n FROM held GROUP BY course_id),
marks AS (
    SELECT a.enrollment_id,
           count(*) FILTER (WHERE a.status IN ('present', 'late')) AS attended,
           count(*) FILTER (WHERE a.status = 'excused') AS excused,
           count(*) FILTER (WHERE a.status = 'absent') AS absent
    FROM participants_attendance a JOIN held ON held.id = a.session_id
    GROUP BY a.enrollment_id
),
ef AS (
    SELECT e.course_id, e.official_id, e.ministry_id, e.ministry_name_en, e.ministry_acronym, o.sex,
           coalesce(hc.n, 0) AS held, coalesce(m.attended, 0) AS attended,
           coalesce(m.excused, 0) AS excused, coalesce(m.absent, 0) AS absent,
           (hc.n > 0 AND coalesce(m.attended, 0) * 100
                >= round(coalesce(c.completion_threshold, %(threshold)s) * 100) * hc.n)::int AS completed
    FROM participants_enrollment e
    JOIN participants_official o ON o.id = e.official_id
    JOIN courses_course c ON c.id = e.course_id
    LEFT JOIN held_per_course hc ON hc.course_id = e.course_id
    LEFT JOIN marks m ON m.enrollment_id = e.id
    WHERE e.status = 'enrolled'
)
"""
_AGGREGATES = """count(DISTINCT official_id), count(*),
       count(DISTINCT official_id) FILTER (WHERE attended > 0),
       sum(completed), sum(attended), sum(held), sum(excused), sum(absent)"""

# The programme report: per course and sex, per sex for the whole programme, and the reach.
PROGRAMME_SQL = f"""{_FIGURES}
SELECT course_id, sex, {_AGGREGATES} FROM ef GROUP BY GROUPING SETS ((course_id, sex), (sex))
UNION ALL
SELECT NULL, 'reach', count(DISTINCT course_id), (SELECT count(*) FROM held),
       count(DISTINCT ministry_id) FILTER (WHERE attended > 0), 0, 0, 0, 0, 0 FROM ef
"""

# The per-ministry report: per ministry and sex, and per name valid at the time and sex.
MINISTRY_SQL = f"""{_FIGURES}
SELECT ministry_id, ministry_name_en, ministry_acronym, sex, {_AGGREGATES} FROM ef
GROUP BY GROUPING SETS ((ministry_id, sex), (ministry_id, ministry_name_en, ministry_acronym, sex))
"""


def params() -> dict:
    """The parameters both statements take, with the portal's own threshold and the current time."""
    return {"now": timezone.now(), "threshold": settings.PCP_COMPLETION_THRESHOLD}
