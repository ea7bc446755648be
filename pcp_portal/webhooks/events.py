"""The webhook events, by name (no imports: settings name EVENT_CHOICES for the schema's enum)."""

EVENTS = {
    "session.created": "A session was added to a course.",
    "session.updated": "A session changed (time, venue, title…).",
    "session.cancelled": "A session was cancelled.",
    "session.deleted": "A session was deleted.",
    "enrollment.created": "An official was enrolled in a course.",
    "enrollment.withdrawn": "An enrolment was withdrawn.",
    "enrollment.reinstated": "A withdrawn enrolment was reinstated.",
    "enrollment.updated": "An enrolment changed otherwise.",
    "enrollment.deleted": "An enrolment was deleted.",
    "attendance.changed": "Attendance at one session changed (batched per session).",
    "official.updated": "An official was added or changed.",
    "official.deleted": "An official was deleted.",
    "certificate.issued": "A certificate of completion was issued.",
    "official.merged": "An official was merged into another record (`data.merged_into`); it is also deleted.",
}
EVENT_CHOICES = [(name, name) for name in EVENTS]
