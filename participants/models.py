"""Officials, their enrolments in courses and their attendance at sessions."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ministries.models import ACRONYM_MAX_LENGTH, NAME_MAX_LENGTH
from pcp_portal.db import AuditedHistory, HistoryWithIPAddress, TimeStampedModel
from pcp_portal.text import name_key, phone_key


class Sex(models.TextChoices):
    # Reports split every figure of people by women, men and the rest (not stated / other).
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other / not stated")


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    KHMER = "km", _("Khmer")


def official_search_keys(official) -> tuple[str, str]:
    """The official's search columns: the names family-first, given-first and in Khmer, each with
    no spaces (so "chan dara" and "dara chan" both match), joined by a space no key contains; and
    the phone's digits (no +855, no trunk 0) with the lower-cased e-mail."""
    family, given = official.family_name or "", official.given_name or ""
    names = (name_key(f"{family}{given}"), name_key(f"{given}{family}"), name_key(official.name_km))
    contact = (phone_key(official.phone), (official.email or "").strip().lower())
    return " ".join(dict.fromkeys(key for key in names if key)), " ".join(part for part in contact if part)


class Channel(models.TextChoices):
    """Where a message to an official goes (participants.reminders.channels sends by each)."""

    EMAIL = "email", _("E-mail")
    TELEGRAM = "telegram", _("Telegram")


class Official(TimeStampedModel):
    # A name in either script will do (official_has_a_name): many officials sign in Khmer only.
    family_name = models.CharField(_("family name (Latin script)"), max_length=100, blank=True)
    given_name = models.CharField(_("given name (Latin script)"), max_length=100, blank=True)
    name_km = models.CharField(_("full name (Khmer script)"), max_length=200, blank=True)
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.OTHER)
    position = models.CharField(_("position"), max_length=200, blank=True)
    ministry = models.ForeignKey(
        "ministries.Ministry", verbose_name=_("ministry"), on_delete=models.PROTECT, related_name="officials"
    )
    department = models.ForeignKey(
        "ministries.Department",
        verbose_name=_("department"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="officials",
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.KHMER
    )
    is_demo = models.BooleanField(_("synthetic demo data"), default=False, db_index=True)
    reminders_opt_out_at = models.DateTimeField(
        _("opted out of e-mail reminders at"),
        null=True,
        blank=True,
        help_text=_("Set by the opt-out link in every reminder; the dispatcher sends nothing while set."),
    )
    # What the portal's search compares (participants/search.py), written by save() from the fields
    # above: the names as pcp_portal.text.name_key reads them, and the phone's digits with the
    # e-mail. Stored so that PostgreSQL's trigram index and SQLite's LIKE find the same officials.
    search_names = models.CharField(max_length=620, blank=True, editable=False)
    search_contact = models.CharField(max_length=300, blank=True, editable=False)
    # Telegram is chosen by the official, never typed in: /start with a signed link stores the
    # chat and makes Telegram the first channel; /stop, or the bot blocked, makes it e-mail again.
    reminder_channel = models.CharField(
        _("reminder channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    reminder_fallback = models.CharField(
        _("fallback channel"),
        max_length=10,
        choices=Channel.choices,
        blank=True,
        default=Channel.EMAIL,
        help_text=_("Where a message goes when the first channel cannot take it; empty for none."),
    )
    telegram_chat_id = models.BigIntegerField(_("Telegram chat"), null=True, blank=True, unique=True)
    telegram_linked_at = models.DateTimeField(_("Telegram linked at"), null=True, blank=True)

    # The search columns are derived from the fields the history already keeps, so they stay out
    # of it (a restored or migrated history would otherwise hold keys nobody refills).
    history = AuditedHistory(bases=[HistoryWithIPAddress], excluded_fields=["search_names", "search_contact"])

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        verbose_name = _("official")
        verbose_name_plural = _("officials")
        constraints = [
            # One official per e-mail address, whatever its case; imports match people on it.
            models.UniqueConstraint(Lower("email"), name="official_email_unique_ci", condition=~Q(email="")),
            models.CheckConstraint(
                condition=Q(sex__in=["female", "male", "other"]), name="official_sex_valid"
            ),
            models.CheckConstraint(
                condition=Q(preferred_language__in=["en", "km"]), name="official_language_valid"
            ),
            models.CheckConstraint(
                condition=~Q(family_name="") | ~Q(given_name="") | ~Q(name_km=""), name="official_has_a_name"
            ),
            models.CheckConstraint(
                condition=Q(reminder_channel__in=["email", "telegram"])
                & Q(reminder_fallback__in=["", "email", "telegram"]),
                name="official_channels_valid",
            ),
        ]
        indexes = [models.Index(fields=["ministry", "sex"], name="official_ministry_sex")]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs) -> None:
        self.search_names, self.search_contact = official_search_keys(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_names", "search_contact"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not (self.family_name.strip() or self.given_name.strip() or self.name_km.strip()):
            raise ValidationError({"family_name": _("Give a name in Latin or Khmer script.")})

    @property
    def latin_name(self) -> str:
        """The name in Latin script, family name first (Cambodian convention); empty if none is known."""
        return " ".join(part for part in (self.family_name.upper(), self.given_name) if part)

    @property
    def full_name(self) -> str:
        """The name to show wherever one name is shown: the Latin one, else the Khmer one."""
        return self.latin_name or self.name_km

    @property
    def khmer_name_beside(self) -> str:
        """The Khmer name to show beside full_name: empty when full_name already is the Khmer name."""
        return self.name_km if self.latin_name else ""


class Enrollment(TimeStampedModel):
    """An official's place in a course, with the ministry and position held when enrolled.

    The snapshot fields are never rewritten: a 2019 enrolment keeps "Ministry of Industry and
    Handicraft" after the ministry became MISTI, and the position held then.
    """

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    official = models.ForeignKey(Official, on_delete=models.PROTECT, related_name="enrollments")
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ENROLLED)
    enrolled_on = models.DateField(_("enrolled on"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)
    ministry = models.ForeignKey(
        "ministries.Ministry",
        verbose_name=_("ministry at enrolment"),
        on_delete=models.PROTECT,
        related_name="enrollments",
    )
    # The snapshot holds whatever the ministry and the official hold: the same lengths.
    ministry_name_en = models.CharField(_("ministry name at enrolment (English)"), max_length=NAME_MAX_LENGTH)
    ministry_name_km = models.CharField(
        _("ministry name at enrolment (Khmer)"), max_length=NAME_MAX_LENGTH, blank=True
    )
    ministry_acronym = models.CharField(
        _("ministry acronym at enrolment"), max_length=ACRONYM_MAX_LENGTH, blank=True
    )
    position = models.CharField(
        _("position at enrolment"), max_length=Official._meta.get_field("position").max_length, blank=True
    )
    is_demo = models.BooleanField(_("synthetic demo data"), default=False, db_index=True)

    history = AuditedHistory(bases=[HistoryWithIPAddress])

    class Meta:
        ordering = ["course", "official__family_name", "official__given_name", "id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["official", "course"], name="enrollment_unique_official_course"),
            models.CheckConstraint(
                condition=Q(status__in=["enrolled", "withdrawn"]), name="enrollment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="withdrawn", withdrawn_at__isnull=False)
                | Q(status="enrolled", withdrawn_at__isnull=True),
                name="enrollment_withdrawn_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.official} — {self.course}"

    def ministry_name_in(self, language: str) -> str:
        """The ministry's name at enrolment in `language`; English when no Khmer one was recorded."""
        return self.ministry_name_km if language == "km" and self.ministry_name_km else self.ministry_name_en

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ENROLLED


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    LATE = "late", _("Late")
    EXCUSED = "excused", _("Excused")
    ABSENT = "absent", _("Absent")


class Attendance(TimeStampedModel):
    """One enrolled official at one session. `version` grows with each change (stale edits are refused)."""

    Status = AttendanceStatus
    # The longest note the register page, the API and the sign-in sheet import accept.
    NOTE_MAX_LENGTH = 500

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="attendances")
    session = models.ForeignKey("courses.Session", on_delete=models.PROTECT, related_name="attendances")
    status = models.CharField(_("status"), max_length=10, choices=AttendanceStatus.choices)
    note = models.CharField(_("note"), max_length=NOTE_MAX_LENGTH, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    version = models.PositiveIntegerField(_("version"), default=1)
    is_demo = models.BooleanField(_("synthetic demo data"), default=False, db_index=True)

    history = AuditedHistory(bases=[HistoryWithIPAddress])

    class Meta:
        ordering = ["session", "enrollment", "id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance records")
        constraints = [
            # The register relies on this: one row per official and session, whatever two browsers send.
            models.UniqueConstraint(
                fields=["enrollment", "session"], name="attendance_unique_enrollment_session"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["present", "late", "excused", "absent"]),
                name="attendance_status_valid",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="attendance_version_positive"),
        ]
        indexes = [
            # The course report and the per-session figures read a course's marks session by session
            # and need only these three columns: an index-only read of the course's own rows, whatever
            # the size of the rest of the record. It also serves the register's read by session (it
            # replaced an index on session and status).
            models.Index(fields=["session", "enrollment", "status"], name="attendance_session_enrol")
        ]

    def __str__(self) -> str:
        return f"{self.enrollment.official} @ {self.session}: {self.get_status_display()}"

    @property
    def attended(self) -> bool:
        return self.status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


class ReminderDelivery(models.Model):
    """The delivery ledger: one row per (official, session, kind, key), i.e. per e-mail that may go out.

    participants/reminders/ relies on the unique constraint (two dispatchers or a task
    delivered twice can never make a second row) and claims a row with a conditional UPDATE
    before the message is handed to the mail server. `key` tells apart the reminders of one
    session ("48h@202606011400": the offset and the start time it was computed for) and the
    changes ("cancel", or the fingerprint of the new schedule for an update).
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        UPDATE = "update", _("Schedule change")
        CANCELLATION = "cancellation", _("Cancellation")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    official = models.ForeignKey(Official, on_delete=models.CASCADE, related_name="reminder_deliveries")
    session = models.ForeignKey(
        "courses.Session", on_delete=models.CASCADE, related_name="reminder_deliveries"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    email = models.CharField(_("sent to"), max_length=254, blank=True)
    # The channel that delivered the row (or last tried it); one row whatever the channel, so the
    # unique constraint keeps "exactly once" across e-mail and Telegram.
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    language = models.CharField(_("language"), max_length=2, blank=True)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # Set after a transient failure (a 4xx reply, the mail server unreachable): the dispatcher
    # queues the row again once this time has passed, until the session starts.
    next_attempt_at = models.DateTimeField(_("next try at"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["session", "kind", "key", "official"]
        verbose_name = _("reminder delivery")
        verbose_name_plural = _("reminder deliveries")
        constraints = [
            # Exactly once: the dispatcher's bulk insert (ignore_conflicts) relies on this.
            models.UniqueConstraint(
                fields=["official", "session", "kind", "key"], name="reminder_delivery_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["reminder", "update", "cancellation"]),
                name="reminder_delivery_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed", "skipped"]),
                name="reminder_delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="reminder_delivery_sent_has_time"
            ),
        ]
        indexes = [
            # The dispatcher's re-queue scan and the session panel read these.
            models.Index(fields=["status", "queued_at"], name="reminder_delivery_status_q"),
            models.Index(fields=["session", "status"], name="reminder_delivery_session"),
            # The dispatcher's scan for transient failures whose back-off has passed.
            models.Index(fields=["status", "next_attempt_at"], name="reminder_delivery_retry"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key} → {self.official_id} @ {self.session_id}: {self.status}"


class ImportBatch(models.Model):
    """One uploaded file of officials, enrolments or attendance: its preview (the plan) and its outcome.

    The plan is stored when the file is previewed; confirming applies exactly that plan in one
    transaction (participants/imports/apply.py), so what a person read is what is written.
    """

    class Kind(models.TextChoices):
        OFFICIALS = "officials", _("Officials")
        ENROLMENTS = "enrolments", _("Enrolments")
        ATTENDANCE = "attendance", _("Attendance (sign-in sheet)")
        SIGNIN = "signin", _("Printed sign-in sheet (by row code)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        PREVIEWING = "previewing", _("Previewing")
        PREVIEWED = "previewed", _("Ready to confirm")
        APPLYING = "applying", _("Being applied in the background")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Failed, nothing changed")
        DISCARDED = "discarded", _("Discarded")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PREVIEWED)
    filename = models.CharField(_("file name"), max_length=255)
    checksum = models.CharField(_("SHA-256 of the file"), max_length=64, db_index=True)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    course = models.ForeignKey(
        "courses.Course",
        verbose_name=_("course"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    session = models.ForeignKey(
        "courses.Session",
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applied by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    # The choices made for the rows to decide when the import was confirmed; a background apply
    # (participants/imports/tasks.py) writes exactly these.
    decisions = models.JSONField(_("decisions at confirmation"), default=dict, blank=True)
    # The uploaded file, kept only until a worker has previewed it (the web request and the worker
    # share the database, not a disk); emptied once the preview is stored.
    upload = models.BinaryField(_("uploaded file"), blank=True, default=b"", editable=False)
    # The language of the person who uploaded (then confirmed) the file: the worker writes the
    # preview's and the apply's messages in it, as the page they read them on.
    language = models.CharField(_("language of its messages"), max_length=10, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["officials", "enrolments", "attendance", "signin"]),
                name="import_batch_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "queued",
                        "previewing",
                        "previewed",
                        "applying",
                        "applied",
                        "failed",
                        "discarded",
                    ]
                ),
                name="import_batch_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="applied") | Q(applied_at__isnull=False),
                name="import_batch_applied_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.filename} ({self.get_status_display()})"

    @property
    def is_working(self) -> bool:
        """A worker has (or will have) this batch in hand: the page follows its progress."""
        return self.status in (self.Status.QUEUED, self.Status.PREVIEWING, self.Status.APPLYING)

    @property
    def rows(self) -> list[dict]:
        """The whole plan, in file order, as plain rows: for small batches (the command's printout,
        tests). The pages and the apply read ImportRow in batches instead, so a 50,000-row plan
        is never in memory at once."""
        return list(self.plan_rows.order_by("index").values_list("plan", flat=True))


class ImportRow(models.Model):
    """One row of an import's plan (participants/imports/plan.py): what that line of the file
    will do, with everything the apply writes for it.

    A table, not one JSON document on the batch: the preview writes it a batch of rows at a time
    as the file is read and the apply reads it back the same way, so a worker's memory holds one
    batch of rows, not the file (a 50,000-row plan is tens of megabytes of JSON).
    """

    batch = models.ForeignKey(
        ImportBatch, verbose_name=_("import"), on_delete=models.CASCADE, related_name="plan_rows"
    )
    # The row's position in the plan: the preview's choices are keyed by it, and the apply pages
    # through the plan by it (keyset, with the unique constraint's index).
    index = models.PositiveIntegerField(_("position in the plan"))
    line = models.PositiveIntegerField(_("line in the file"))
    action = models.CharField(_("action"), max_length=10)
    plan = models.JSONField(_("planned row"))

    class Meta:
        ordering = ["batch", "index"]
        verbose_name = _("planned import row")
        verbose_name_plural = _("planned import rows")
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="import_row_unique_position"),
        ]
        indexes = [
            # The rows in error or to decide, which the page lists and the apply checks first.
            models.Index(fields=["batch", "action", "index"], name="import_row_by_action"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}: line {self.line} {self.action}"


class SignInCode(models.Model):
    """The short code printed beside an enrolled official on a session's sign-in sheet
    (participants/signin.py), typed back from the paper to mark that row and nobody else.

    Stored, not derived, so a sheet printed today and one printed tomorrow carry the same code, and
    unique across all sessions, so a code copied from another session's sheet is recognised as
    such instead of meaning someone else here. Made when a sheet or its template is first made.
    """

    session = models.ForeignKey(
        "courses.Session", verbose_name=_("session"), on_delete=models.CASCADE, related_name="+"
    )
    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrolment"), on_delete=models.CASCADE, related_name="signin_codes"
    )
    code = models.CharField(_("row code"), max_length=8, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["session", "code"]
        verbose_name = _("sign-in sheet row code")
        verbose_name_plural = _("sign-in sheet row codes")
        constraints = [
            # One code per official and session, however many copies of the sheet are printed at
            # once: sheet_codes() inserts with ignore_conflicts and reads back what stands.
            models.UniqueConstraint(fields=["session", "enrollment"], name="signin_code_unique_enrolment"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.session_id}/{self.enrollment_id})"


class ImportProgress(models.Model):
    """How far a worker is with one import: rows done of rows to do, in the current phase.

    A table of its own, not fields of ImportBatch: the apply holds the batch's row locked for its
    whole transaction (one apply at a time), and the progress is written beside it, from a second
    connection, while that transaction is still open (participants/imports/progress.py).
    """

    class Phase(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        READING = "reading", _("Reading the file")
        PLANNING = "planning", _("Checking the rows")
        APPLYING = "applying", _("Writing the rows")

    batch = models.OneToOneField(
        ImportBatch, on_delete=models.CASCADE, primary_key=True, related_name="progress"
    )
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.QUEUED)
    done = models.PositiveIntegerField(_("rows done"), default=0)
    total = models.PositiveIntegerField(_("rows to do"), default=0)
    started_at = models.DateTimeField(_("phase started at"), null=True, blank=True)
    # When a worker last reported: a batch left unlocked and silent this long is queued again.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("import progress")
        verbose_name_plural = _("import progress")

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.phase} {self.done}/{self.total}"


class Certificate(models.Model):
    """A certificate of completion (participants/certificates.py): of a course, issued once per
    enrolment, or of a series (a project's courses), issued once per official and series.

    The code is random (80 bits) and stored: the public verification page looks it up and says
    only whether it is genuine, for whom and which course or series. The holder's names and the
    course or series title are kept as issued, so a later correction does not change what a
    printed certificate says.

    A course certificate names its holder through the enrolment (a merge moves the enrolment, and
    the certificate with it); a series certificate has no enrolment, so it names the official.
    """

    enrollment = models.OneToOneField(
        Enrollment,
        verbose_name=_("enrolment"),
        on_delete=models.PROTECT,
        related_name="certificate",
        null=True,
        blank=True,
    )
    series = models.ForeignKey(
        "courses.Project",
        verbose_name=_("series"),
        on_delete=models.PROTECT,
        related_name="series_certificates",
        null=True,
        blank=True,
    )
    official = models.ForeignKey(
        Official,
        verbose_name=_("official"),
        on_delete=models.PROTECT,
        related_name="series_certificates",
        null=True,
        blank=True,
    )
    code = models.CharField(_("verification code"), max_length=24, unique=True)
    holder_name = models.CharField(_("holder's name (Latin script)"), max_length=220)
    holder_name_km = models.CharField(
        _("holder's name (Khmer script)"),
        max_length=Official._meta.get_field("name_km").max_length,
        blank=True,
    )
    # The course's title, or the series' for a series certificate.
    course_title = models.CharField(_("course"), max_length=400)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["enrollment__course", "holder_name", "id"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            # Of a course (its enrolment) or of a series (the series and its official), never both.
            models.CheckConstraint(
                condition=Q(enrollment__isnull=False, series__isnull=True, official__isnull=True)
                | Q(enrollment__isnull=True, series__isnull=False, official__isnull=False),
                name="certificate_of_a_course_or_a_series",
            ),
            # Issuing twice (two staff members, two tabs) makes one series certificate: the issuing
            # service relies on this, as course certificates rely on the one-to-one enrolment.
            models.UniqueConstraint(fields=["official", "series"], name="certificate_unique_official_series"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.holder_name} — {self.course_title}"

    @property
    def is_series(self) -> bool:
        return self.series_id is not None

    @property
    def holder_id(self) -> int:
        """The official the certificate was issued to."""
        return self.official_id if self.is_series else self.enrollment.official_id

    @property
    def certified_course_id(self) -> int | None:
        """The course a course certificate is for (None for a series certificate)."""
        return None if self.is_series else self.enrollment.course_id


class OfficialMerge(models.Model):
    """Two records of one person made one (participants/merging.py), recorded so it can be undone.

    `merged_official` is the record that went away (its row is deleted, so partners' copies get a
    deletion); `merged_data` holds that row as it was and `survivor_before` the survivor's fields
    before the chosen values were written. `moved` lists every row that changed hands (enrolments,
    attendance, reminder ledger rows, history rows) and every row the resolved conflicts removed,
    in full. `fingerprint` is the state of the survivor's record right after the merge: undo is
    refused once it differs (someone changed the record since, and undoing would lose that).
    """

    survivor = models.ForeignKey(
        Official, verbose_name=_("surviving official"), on_delete=models.PROTECT, related_name="merges"
    )
    merged_official_id = models.BigIntegerField(_("merged official's id"), db_index=True)
    merged_name = models.CharField(_("merged official's name"), max_length=220)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    merged_data = models.JSONField(_("merged official as it was"), default=dict)
    survivor_before = models.JSONField(_("surviving official before the merge"), default=dict)
    moved = models.JSONField(_("what moved"), default=dict)
    fingerprint = models.CharField(max_length=64, editable=False)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("merge of officials")
        verbose_name_plural = _("merges of officials")
        constraints = [
            # A merged-away id can be merged (and so deleted) once while not undone: a second tab's
            # merge of the same pair fails here even if it slipped past the row locks.
            models.UniqueConstraint(
                fields=["merged_official_id"],
                condition=Q(undone_at__isnull=True),
                name="official_merge_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merged_name} → {self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class EnrolmentRollup(models.Model):
    """One enrolment's marks, counted once so the whole-programme pages need not rescan attendance.

    Derived data, written only by participants.rollups (in the transaction of the change that moves
    it) and rebuilt from scratch by `manage.py rebuild_rollups`. The counts cover the marks at every
    session not cancelled; whether a session is *held* depends on the clock, so the reports apply
    it when they read (see participants.rollups). Sex and the ministry snapshot are copied here so a
    report groups these rows without joining the enrolments and the officials.
    """

    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, primary_key=True, related_name="rollup"
    )
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    official = models.ForeignKey(Official, on_delete=models.CASCADE, related_name="+")
    ministry = models.ForeignKey("ministries.Ministry", on_delete=models.CASCADE, related_name="+")
    ministry_name_en = models.CharField(max_length=NAME_MAX_LENGTH)
    ministry_acronym = models.CharField(max_length=ACRONYM_MAX_LENGTH, blank=True)
    sex = models.CharField(max_length=10)
    # Enrolled, not withdrawn: the only enrolments the figures count.
    active = models.BooleanField()
    attended = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    excused = models.PositiveIntegerField(default=0)
    absent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["enrollment"]
        verbose_name = _("enrolment rollup")
        verbose_name_plural = _("enrolment rollups")
        indexes = [
            # The reports read the active enrolments of a course (course report, course list page)
            # or of a ministry (ministry report).
            models.Index(fields=["course", "active"], name="enrolment_rollup_course"),
            models.Index(fields=["ministry", "active"], name="enrolment_rollup_ministry"),
            models.Index(fields=["official"], name="enrolment_rollup_official"),
        ]

    def __str__(self) -> str:
        return f"enrolment {self.enrollment_id}: {self.attended} attended"


class SessionRollup(models.Model):
    """One session's marks of active enrolments, per sex and ministry snapshot (the sessions report).

    Derived like EnrolmentRollup. A group whose last mark went keeps a row of zeros until the next
    rebuild: the sums are the same either way.
    """

    session = models.ForeignKey("courses.Session", on_delete=models.CASCADE, related_name="+")
    sex = models.CharField(max_length=10)
    ministry = models.ForeignKey("ministries.Ministry", on_delete=models.CASCADE, related_name="+")
    attended = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    excused = models.PositiveIntegerField(default=0)
    absent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["session", "sex", "ministry"]
        verbose_name = _("session rollup")
        verbose_name_plural = _("session rollups")
        constraints = [
            # The upsert that keeps these rows (participants.rollups) conflicts on this key.
            models.UniqueConstraint(fields=["session", "sex", "ministry"], name="session_rollup_unique_group")
        ]

    def __str__(self) -> str:
        return f"session {self.session_id}, {self.sex}, ministry {self.ministry_id}: {self.attended} attended"


class ExportJob(models.Model):
    """A report export too large for a web request, written to a file by a worker
    (participants/reports/jobs.py), downloaded from the exports page, then removed.

    The filters are kept as the report form's query (what the person chose), and the language, so
    the worker writes the same headers and rows the person would have got at once.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Being written")
        DONE = "done", _("Ready to download")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.CASCADE, related_name="+"
    )
    report = models.CharField(_("report"), max_length=20)
    format = models.CharField(_("format"), max_length=5)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    contact = models.BooleanField(_("with contact details"), default=False)
    language = models.CharField(_("language"), max_length=10, default="en")
    file_name = models.CharField(_("file name"), max_length=120)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    reason = models.TextField(_("why it failed"), blank=True, default="")
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    rows_total = models.PositiveIntegerField(_("rows to write"), default=0)
    # Relative to settings.PCP_EXPORT_DIR; empty until the file is complete.
    path = models.CharField(_("file path"), max_length=200, blank=True, default="")
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # A running job whose worker last reported long ago is failed by the cleanup (the worker died).
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("removed after"), db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        # The exports page lists one person's newest jobs.
        indexes = [models.Index(fields=["user", "-created_at"], name="exportjob_user_created")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.state})"

    @property
    def is_working(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class SelfCheckIn(models.Model):
    """An official who marked themselves present by scanning the session's QR code
    (participants/checkin/), kept so that staff can undo it and the register can say who recorded it.

    The attendance row itself is written through the register's service like any other mark;
    this row holds what it was before (`previous_version` 0: there was none), so undoing restores
    exactly that, and the version the check-in wrote (`version`), so an undo after a later change
    by staff is refused instead of overwriting it.
    """

    session = models.ForeignKey("courses.Session", on_delete=models.PROTECT, related_name="self_check_ins")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="self_check_ins")
    status = models.CharField(_("status"), max_length=10, choices=AttendanceStatus.choices)
    checked_in_at = models.DateTimeField(_("checked in at"))
    version = models.PositiveIntegerField(_("attendance version written"))
    previous_status = models.CharField(_("status before"), max_length=10, blank=True)
    previous_note = models.CharField(_("note before"), max_length=Attendance.NOTE_MAX_LENGTH, blank=True)
    previous_version = models.PositiveIntegerField(_("attendance version before"), default=0)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-checked_in_at", "-id"]
        verbose_name = _("self check-in")
        verbose_name_plural = _("self check-ins")
        constraints = [
            # One standing check-in per official and session: two phones tapping at once make one
            # (the service turns the second into "already checked in").
            models.UniqueConstraint(
                fields=["session", "enrollment"],
                condition=Q(undone_at__isnull=True),
                name="self_check_in_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} @ {self.session_id}: {self.status} {self.checked_in_at:%H:%M}"


class WalkIn(models.Model):
    """Someone at the door who is not enrolled and left a name, ministry and phone on the check-in
    page. Never enrolled by this alone: staff confirm (enrol and mark present) or dismiss."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for staff")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    session = models.ForeignKey("courses.Session", on_delete=models.PROTECT, related_name="walk_ins")
    name = models.CharField(_("name"), max_length=200)
    ministry = models.ForeignKey(
        "ministries.Ministry", verbose_name=_("ministry"), on_delete=models.PROTECT, related_name="+"
    )
    phone = models.CharField(_("phone"), max_length=40)
    arrived_at = models.DateTimeField(_("arrived at"))
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    official = models.ForeignKey(
        Official,
        verbose_name=_("official"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-arrived_at", "-id"]
        verbose_name = _("walk-in")
        verbose_name_plural = _("walk-ins")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "confirmed", "dismissed"]), name="walk_in_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.session_id} ({self.status})"


class FiguresSnapshot(models.Model):
    """The whole-programme figures (no filter) as last computed, so the pages that show them read
    one row instead of summing a rollup per enrolment. Derived data, written only by
    participants.reports.snapshot; a page reads it while it is valid and computes live otherwise.
    """

    key = models.CharField(max_length=40, unique=True)
    # The last refresh request (an outbox task row id) this computation covers: a request with a
    # higher id is still pending, and a computation that claimed less must not overwrite this one.
    claimed_request = models.BigIntegerField(default=0)
    payload = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # The next start of a session not cancelled: from then on that session is held, and the stored
    # figures are wrong without any write.
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("figures snapshot")
        verbose_name_plural = _("figures snapshots")

    def __str__(self) -> str:
        return f"{self.key} ({self.computed_at})"
