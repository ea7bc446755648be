"""The programme, the project under it, its course series and each course's dated sessions."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pcp_portal.db import AuditedHistory, HistoryWithIPAddress, ReferenceRecordModel, TimeStampedModel


class Programme(ReferenceRecordModel, TimeStampedModel):
    """A UNIDO Programme for Country Partnership, e.g. PCP Cambodia 2018-2023."""

    REFERENCE_FIELDS = (
        "name",
        "short_name",
        "country",
        "start_year",
        "end_year",
        "joint_declaration_date",
        "joint_declaration_place",
        "signatories",
        "focus_areas",
        "cross_cutting_areas",
        "revised_document_date",
        "revised_focus_areas",
        "revised_cross_cutting_areas",
        "funding_partners",
        "description",
    )

    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    country = models.CharField(_("country"), max_length=100)
    start_year = models.PositiveSmallIntegerField(_("first year"))
    end_year = models.PositiveSmallIntegerField(_("last year"))
    joint_declaration_date = models.DateField(_("joint declaration signed on"), null=True, blank=True)
    joint_declaration_place = models.CharField(_("joint declaration place"), max_length=200, blank=True)
    signatories = models.JSONField(_("signatories"), default=list, blank=True)
    focus_areas = models.JSONField(_("priority areas"), default=list, blank=True)
    cross_cutting_areas = models.JSONField(_("cross-cutting areas"), default=list, blank=True)
    revised_document_date = models.DateField(_("revised programme document signed on"), null=True, blank=True)
    revised_focus_areas = models.JSONField(_("revised focus areas"), default=list, blank=True)
    revised_cross_cutting_areas = models.JSONField(_("revised cross-cutting areas"), default=list, blank=True)
    funding_partners = models.JSONField(_("funding partners"), default=list, blank=True)
    description = models.TextField(_("description"), blank=True)
    # The portal's own, like Project.title_km: the public record has no Khmer programme name.
    name_km = models.CharField(_("name (Khmer)"), max_length=200, blank=True)
    short_name_km = models.CharField(_("short name (Khmer)"), max_length=60, blank=True)
    description_km = models.TextField(_("description (Khmer)"), blank=True)

    class Meta:
        ordering = ["start_year", "name"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.CheckConstraint(condition=Q(end_year__gte=F("start_year")), name="programme_period_order"),
        ]

    def __str__(self) -> str:
        return self.name

    def title_in(self, language: str) -> str:
        """The full name in `language`; English when there is no Khmer one."""
        return self.name_km if language == "km" and self.name_km else self.name

    def label_in(self, language: str) -> str:
        return self.title_in(language)

    def short_name_in(self, language: str) -> str:
        if language == "km" and (self.short_name_km or self.name_km):
            return self.short_name_km or self.name_km
        return self.short_name or self.name

    def description_in(self, language: str) -> str:
        return self.description_km if language == "km" and self.description_km else self.description

    @property
    def period(self) -> str:
        return f"{self.start_year}–{self.end_year}"


class Project(ReferenceRecordModel, TimeStampedModel):
    """A UNIDO project under a programme, e.g. the ROK-funded institutional capacity-building project."""

    REFERENCE_FIELDS = (
        "programme",
        "title",
        "short_title",
        "unido_project_number",
        "implementing_agency",
        "national_partner",
        "donor",
        "partners",
        "counterparts",
        "start_date",
        "end_date",
        "budget_usd",
        "description",
    )

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="projects")
    title = models.CharField(_("title"), max_length=400)
    short_title = models.CharField(_("short title"), max_length=120, blank=True)
    # The Khmer fields are the portal's own, not the public record's (which has no Khmer titles):
    # they are not reference fields, so the loader neither writes nor compares them.
    title_km = models.CharField(_("title (Khmer)"), max_length=400, blank=True)
    short_title_km = models.CharField(_("short title (Khmer)"), max_length=120, blank=True)
    unido_project_number = models.CharField(_("UNIDO project number"), max_length=40, blank=True)
    implementing_agency = models.CharField(_("implementing agency"), max_length=200, blank=True)
    national_partner = models.CharField(_("national partner"), max_length=200, blank=True)
    donor = models.CharField(_("donor"), max_length=200, blank=True)
    partners = models.JSONField(_("partners"), default=list, blank=True)
    counterparts = models.JSONField(_("government counterparts"), default=list, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    budget_usd = models.DecimalField(
        _("budget (USD)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    description_km = models.TextField(_("description (Khmer)"), blank=True)

    class Meta:
        ordering = ["programme", "title"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="project_dates_order",
            ),
            models.CheckConstraint(
                condition=Q(budget_usd__isnull=True) | Q(budget_usd__gte=0),
                name="project_budget_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.short_title or self.title

    def title_in(self, language: str) -> str:
        """The full title in `language`; English when there is no Khmer one."""
        return self.title_km if language == "km" and self.title_km else self.title

    def label_in(self, language: str) -> str:
        """What `str()` shows, in `language`: the short title if there is one, English as fallback."""
        if language == "km" and (self.short_title_km or self.title_km):
            return self.short_title_km or self.title_km
        return str(self)

    def description_in(self, language: str) -> str:
        return self.description_km if language == "km" and self.description_km else self.description


# Reminders (participants/reminders/): hours before a session's start; the dispatcher only
# looks this far ahead, so an offset can never exceed it.
REMINDER_MAX_OFFSET_HOURS = 24 * 14


def default_reminder_offsets() -> list[int]:
    return [48, 2]


def validate_reminder_offsets(value) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not all(
        isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= REMINDER_MAX_OFFSET_HOURS for h in value
    ):
        raise ValidationError(
            _("Give a list of whole hours between 1 and %(max)s, e.g. [48, 2]."),
            params={"max": REMINDER_MAX_OFFSET_HOURS},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Each reminder time may appear only once."))


class Course(ReferenceRecordModel, TimeStampedModel):
    """One course of a project's series. Unknown facts stay blank and are shown as unknown.

    `status`, `cancelled_at` and `cancellation_reason` are the portal's own facts, not the public
    record's: they are not reference fields, so the loader neither writes nor compares them.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    REFERENCE_FIELDS = (
        "project",
        "number",
        "title",
        "topic",
        "venue",
        "start_date",
        "end_date",
        "partners",
        "reported_participants",
        "description",
    )

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="courses")
    number = models.PositiveSmallIntegerField(_("number in the series"))
    title = models.CharField(_("title"), max_length=300, blank=True)
    # The portal's own, like Project.title_km: not reference fields.
    title_km = models.CharField(_("title (Khmer)"), max_length=300, blank=True)
    topic = models.TextField(_("topic"), blank=True)
    venue = models.CharField(_("venue"), max_length=300, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    partners = models.JSONField(_("partners"), default=list, blank=True)
    reported_participants = models.PositiveIntegerField(
        _("participants (public record)"),
        null=True,
        blank=True,
        help_text=_("The number of participants stated in public sources, if any."),
    )
    description = models.TextField(_("description"), blank=True)
    description_km = models.TextField(_("description (Khmer)"), blank=True)
    completion_threshold = models.DecimalField(
        _("completion threshold"),
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Share of held sessions to attend for completion; blank uses the portal default (0.75)."),
    )
    reminder_offsets_hours = models.JSONField(
        _("reminder times (hours before each session)"),
        default=default_reminder_offsets,
        blank=True,
        validators=[validate_reminder_offsets],
        help_text=_(
            "E-mail reminders go out this many hours before each session, e.g. [48, 2]; [] sends none."
        ),
    )

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancellation_reason = models.TextField(_("reason for cancellation"), blank=True)

    history = AuditedHistory(bases=[HistoryWithIPAddress])

    class Meta:
        ordering = ["project", "number"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="course_number_unique_per_project"),
            models.CheckConstraint(condition=Q(number__gte=1), name="course_number_positive"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="course_dates_order",
                violation_error_message=_("A course must end on or after its first day."),
            ),
            models.CheckConstraint(
                condition=Q(completion_threshold__isnull=True)
                | (Q(completion_threshold__gt=0) & Q(completion_threshold__lte=1)),
                name="course_completion_threshold_share",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "cancelled"]), name="course_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled") | Q(cancelled_at__isnull=True),
                name="course_cancelled_at_only_when_cancelled",
            ),
        ]

    def __str__(self) -> str:
        # English title: exports and logs use str(); pages show label_in(the page's language).
        return self.label_in("en")

    def title_in(self, language: str) -> str:
        """The title in `language`; English when there is no Khmer one (blank when neither is known)."""
        return self.title_km if language == "km" and self.title_km else self.title

    def label_in(self, language: str) -> str:
        title = self.title_in(language) or _("title not on public record")
        return f"{_('Course')} {self.number}: {title}"

    def description_in(self, language: str) -> str:
        return self.description_km if language == "km" and self.description_km else self.description

    @property
    def effective_completion_threshold(self) -> float:
        if self.completion_threshold is not None:
            return float(self.completion_threshold)
        return settings.PCP_COMPLETION_THRESHOLD

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED


class Session(TimeStampedModel):
    """A dated sitting of a course. `starts_at` may be unknown while a session is being planned."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    title = models.CharField(_("title"), max_length=300)
    title_km = models.CharField(_("title (Khmer)"), max_length=300, blank=True)
    topic = models.TextField(_("topic"), blank=True)
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True, db_index=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    venue = models.CharField(_("venue"), max_length=300, blank=True)
    venue_km = models.CharField(_("venue (Khmer)"), max_length=300, blank=True)
    facilitators = models.TextField(_("facilitators"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancellation_reason = models.TextField(_("reason for cancellation"), blank=True)
    is_demo = models.BooleanField(_("synthetic demo data"), default=False, db_index=True)
    # iCalendar's SEQUENCE: calendars that subscribed to a feed replace their copy of the event
    # only when this grows, so services.session_update and session_cancel raise it with each
    # change of time, venue or status, and nothing else writes it.
    sequence = models.PositiveIntegerField(_("calendar revision"), default=0, editable=False)

    history = AuditedHistory(bases=[HistoryWithIPAddress])

    class Meta:
        ordering = ["course", "starts_at", "id"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(starts_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message=_("A session must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(starts_at__isnull=False), name="session_end_needs_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "cancelled"]), name="session_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled") | Q(cancelled_at__isnull=True),
                name="session_cancelled_at_only_when_cancelled",
            ),
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.starts_at).strftime("%Y-%m-%d %H:%M") if self.starts_at else "?"
        return f"{self.title} ({when})"

    def title_in(self, language: str) -> str:
        """The title in `language`; English when there is no Khmer one."""
        return self.title_km if language == "km" and self.title_km else self.title

    def label_in(self, language: str) -> str:
        return self.title_in(language)

    def venue_in(self, language: str) -> str:
        return self.venue_km if language == "km" and self.venue_km else self.venue

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def is_held(self) -> bool:
        """A session counts as held once it has started and was not cancelled (see selectors)."""
        return not self.is_cancelled and self.starts_at is not None and self.starts_at <= timezone.now()


class SeriesCompletionRule(TimeStampedModel):
    """How many of a project's courses (its series) an official must complete to complete the series.

    No row, or a row with `min_courses` blank, is the default: every course of the series that has
    been held. A course not held yet never counts against anyone: the number required is capped
    at the courses held so far (participants.series applies the rule). Changes keep their history.
    """

    project = models.OneToOneField(
        Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="completion_rule"
    )
    min_courses = models.PositiveSmallIntegerField(
        _("courses to complete"),
        null=True,
        blank=True,
        help_text=_("Blank: every course of the series that has been held."),
    )

    history = HistoricalRecords(bases=[HistoryWithIPAddress])

    class Meta:
        verbose_name = _("series completion rule")
        verbose_name_plural = _("series completion rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_courses__isnull=True) | Q(min_courses__gte=1),
                name="series_rule_min_courses_positive",
                violation_error_message=_("At least one course must be required."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project}: {self.describe()}"

    def describe(self) -> str:
        return series_rule_text(self.min_courses, self.project.courses.count())


def series_rule_text(min_courses: int | None, courses: int) -> str:
    """The rule in words, as the series page and the definitions say it."""
    if min_courses is None:
        return str(_("every course of the series that has been held"))
    return str(_("%(min)s of the %(total)s courses of the series") % {"min": min_courses, "total": courses})


class CalendarFeedToken(TimeStampedModel):
    """A secret address at which a calendar application reads sessions as iCalendar.

    Only the SHA-256 of the secret is stored: the address is shown once, when it is made, and a
    database copy cannot be turned back into a working feed. A revoked or expired token answers
    exactly like one that never existed (courses.calendar.feed_token_lookup).
    """

    class Scope(models.TextChoices):
        PERSONAL = "personal", _("All sessions (personal)")
        COURSE = "course", _("One course")
        MINISTRY = "ministry", _("One ministry's officials")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="calendar_feed_tokens",
    )
    scope = models.CharField(_("feed"), max_length=20, choices=Scope.choices)
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    ministry = models.ForeignKey(
        "ministries.Ministry",
        verbose_name=_("ministry"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    label = models.CharField(_("label"), max_length=100, blank=True)
    # The feed finds its token by this hash (unique, so indexed); see the class docstring.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="personal", course__isnull=True, ministry__isnull=True)
                | Q(scope="course", course__isnull=False, ministry__isnull=True)
                | Q(scope="ministry", course__isnull=True, ministry__isnull=False),
                name="calendar_feed_token_scope_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} ({self.owner})"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


# --- the results framework ------------------------------------------------------------------------
# What a project (or the programme) means to achieve, with indicators, baselines and targets: the
# donor reports progress against it and UNIDO publishes it to IATI. Only the framework lives here;
# computed actuals are participants' figures (participants/results/), since they count officials.


class Result(TimeStampedModel):
    """One result of the framework's tree: impact above outcomes above outputs."""

    class Level(models.IntegerChoices):
        # The values are IATI's ResultType codes, so the export writes them as they are.
        OUTPUT = 1, _("Output")
        OUTCOME = 2, _("Outcome")
        IMPACT = 3, _("Impact")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="results")
    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        related_name="results",
        null=True,
        blank=True,
        help_text=_("Leave empty for a result of the whole programme."),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="children",
        null=True,
        blank=True,
        verbose_name=_("contributes to"),
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    title_en = models.CharField(_("title (English)"), max_length=300)
    title_km = models.CharField(_("title (Khmer)"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    history = HistoricalRecords(bases=[HistoryWithIPAddress])

    class Meta:
        ordering = ["-level", "position", "pk"]
        verbose_name = _("result")
        verbose_name_plural = _("results")
        constraints = [
            models.CheckConstraint(condition=Q(level__in=[1, 2, 3]), name="result_level_iati_code"),
        ]

    def __str__(self) -> str:
        return self.title_en

    def clean(self) -> None:
        errors = {}
        if self.project_id and self.programme_id and self.project.programme_id != self.programme_id:
            errors["project"] = _("This project belongs to another programme.")
        if self.parent_id:
            parent = self.parent
            # Walk up from the proposed parent: meeting this result again would close a loop.
            seen, node = set(), parent
            while node is not None and node.pk not in seen:
                if self.pk and node.pk == self.pk:
                    errors["parent"] = _(
                        "A result cannot contribute to itself or to one of its own sub-results."
                    )
                    break
                seen.add(node.pk)
                node = node.parent
            if "parent" not in errors:
                if parent.project_id not in (None, self.project_id):
                    errors["parent"] = _("The result it contributes to belongs to another project.")
                elif self.level is not None and parent.level <= self.level:
                    errors["parent"] = _(
                        "A result contributes to a result of a higher level (output → outcome → impact)."
                    )
        if errors:
            raise ValidationError(errors)


class Indicator(TimeStampedModel):
    """How a result is measured: a baseline, targets per period and where the actual comes from."""

    class Measure(models.IntegerChoices):
        # IATI IndicatorMeasure codes.
        UNIT = 1, _("Unit")
        PERCENTAGE = 2, _("Percentage")

    class Source(models.TextChoices):
        COMPUTED = "computed", _("Computed by the portal")
        ENTERED = "entered", _("Entered by hand, with evidence")

    class Definition(models.TextChoices):
        # Named figures of the reports, the series and the surveys; each is written once in
        # participants/results/actuals.py with the text a footnote shows.
        TRAINED = "trained", _("Officials trained")
        COMPLETED = "completed", _("Officials completing a course")
        SERIES_COMPLETED = "series_completed", _("Officials completing the series")
        WOMEN_SHARE = "women_share", _("Women's share of officials trained")
        MINISTRIES = "ministries", _("Ministries represented")
        ATTENDANCE_RATE = "attendance_rate", _("Attendance rate")
        KNOWLEDGE_GAIN = "knowledge_gain", _("Knowledge gain (pre-test to post-test)")

    PERCENTAGE_DEFINITIONS = ("women_share", "attendance_rate", "knowledge_gain")

    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="indicators")
    title_en = models.CharField(_("title (English)"), max_length=300)
    title_km = models.CharField(_("title (Khmer)"), max_length=300, blank=True)
    measure = models.PositiveSmallIntegerField(_("measure"), choices=Measure.choices, default=Measure.UNIT)
    ascending = models.BooleanField(_("higher is better"), default=True)
    baseline_year = models.PositiveSmallIntegerField(_("baseline year"), null=True, blank=True)
    baseline_value = models.DecimalField(
        _("baseline value"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    baseline_note = models.TextField(_("baseline note"), blank=True)
    source = models.CharField(_("source of the actual"), max_length=10, choices=Source.choices)
    definition = models.CharField(
        _("definition"),
        max_length=20,
        choices=Definition.choices,
        blank=True,
        help_text=_("For a computed indicator."),
    )
    course = models.ForeignKey(
        Course,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("only this course"),
    )
    ministry = models.ForeignKey(
        "ministries.Ministry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("only this ministry"),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    history = HistoricalRecords(bases=[HistoryWithIPAddress])

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.CheckConstraint(condition=Q(measure__in=[1, 2]), name="indicator_measure_iati_code"),
            models.CheckConstraint(
                condition=Q(source="computed", definition__gt="") | Q(source="entered", definition=""),
                name="indicator_definition_only_when_computed",
            ),
        ]

    def __str__(self) -> str:
        return self.title_en

    @property
    def is_percentage(self) -> bool:
        return self.measure == self.Measure.PERCENTAGE

    def clean(self) -> None:
        errors = {}
        if self.source == self.Source.COMPUTED and not self.definition:
            errors["definition"] = _("Choose how the portal computes this indicator.")
        if self.source == self.Source.ENTERED and (self.definition or self.course_id or self.ministry_id):
            errors["definition"] = _("An indicator entered by hand has no definition or filter.")
        if self.definition and self.measure is not None:
            wants_percentage = self.definition in self.PERCENTAGE_DEFINITIONS
            if wants_percentage != (self.measure == self.Measure.PERCENTAGE):
                errors["measure"] = (
                    _("This definition is a percentage.")
                    if wants_percentage
                    else _("This definition counts units.")
                )
        if (
            self.course_id
            and self.result_id
            and self.result.project_id
            and self.course.project_id != self.result.project_id
        ):
            errors["course"] = _("This course belongs to another project.")
        if self.definition == self.Definition.KNOWLEDGE_GAIN and not self.course_id:
            errors.setdefault(
                "course", _("Knowledge gain is measured on one course's tests: choose the course.")
            )
        if (
            self.definition == self.Definition.SERIES_COMPLETED
            and not self.course_id
            and not (self.result_id and self.result.project_id)
        ):
            errors.setdefault(
                "course",
                _(
                    "Series completion needs a series: put the indicator under a project's result, "
                    "or choose a course of it."
                ),
            )
        if self.is_percentage and self.baseline_value is not None and not 0 <= self.baseline_value <= 100:
            errors["baseline_value"] = _("A percentage lies between 0 and 100.")
        if self.baseline_value is not None and self.baseline_value < 0:
            errors.setdefault("baseline_value", _("A baseline cannot be negative."))
        if (self.baseline_value is None) != (self.baseline_year is None):
            errors["baseline_year"] = _("A baseline needs both its year and its value.")
        if errors:
            raise ValidationError(errors)


def evidence_path(instance, filename: str) -> str:
    return f"results/evidence/{instance.indicator_id}/{filename}"


class IndicatorPeriod(TimeStampedModel):
    """A target for one period, and (when entered by hand) its actual.

    A row is for everyone (no sex, no ministry), for one sex, or for one ministry's officials; never
    for one sex of one ministry, which the progress page and the IATI export have no place for.
    """

    class Sex(models.TextChoices):
        ALL = "", _("Everyone")
        FEMALE = "female", _("Women")
        MALE = "male", _("Men")

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="periods")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, blank=True, default="")
    ministry = models.ForeignKey(
        "ministries.Ministry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ministry"),
        help_text=_("Leave empty for a target of every ministry's officials."),
    )
    target_value = models.DecimalField(_("target"), max_digits=12, decimal_places=2)
    actual_value = models.DecimalField(
        _("actual (entered)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    actual_note = models.TextField(_("evidence note"), blank=True)
    actual_evidence = models.FileField(_("evidence attachment"), upload_to=evidence_path, blank=True)

    history = HistoricalRecords(bases=[HistoryWithIPAddress])

    class Meta:
        ordering = ["period_start", "period_end", "sex", "ministry_id"]
        verbose_name = _("target period")
        verbose_name_plural = _("target periods")
        constraints = [
            # The progress page and the IATI export find one target per period and sex, and the
            # page's ministry lines one per period and ministry.
            models.UniqueConstraint(
                fields=["indicator", "period_start", "period_end", "sex"],
                condition=Q(ministry__isnull=True),
                name="indicator_period_unique",
                violation_error_message=_("This indicator already has a target for this period and sex."),
            ),
            models.UniqueConstraint(
                fields=["indicator", "period_start", "period_end", "ministry"],
                condition=Q(ministry__isnull=False),
                name="indicator_period_ministry_unique",
                violation_error_message=_(
                    "This indicator already has a target for this period and ministry."
                ),
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="indicator_period_order"
            ),
            models.CheckConstraint(
                condition=Q(sex="") | Q(ministry__isnull=True), name="indicator_period_sex_or_ministry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} {self.period_start}–{self.period_end}"

    def clean(self) -> None:
        errors = {}
        if self.period_start and self.period_end and self.period_end < self.period_start:
            errors["period_end"] = _("A period ends on or after its start.")
        indicator = self.indicator if self.indicator_id else None
        project = indicator.result.project if indicator else None
        outside = project and (
            (project.start_date and self.period_start and self.period_start < project.start_date)
            or (project.end_date and self.period_end and self.period_end > project.end_date)
        )
        if outside:
            errors["period_start"] = _(
                "The period lies outside the project's dates (%(start)s – %(end)s)."
            ) % {
                "start": project.start_date or "?",
                "end": project.end_date or "?",
            }
        programme = indicator.result.programme if indicator and not project else None
        if programme and (
            (self.period_start and self.period_start.year < programme.start_year)
            or (self.period_end and self.period_end.year > programme.end_year)
        ):
            errors["period_start"] = _(
                "The period lies outside the programme's years (%(start)s – %(end)s)."
            ) % {
                "start": programme.start_year,
                "end": programme.end_year,
            }
        if (
            indicator
            and indicator.baseline_year
            and self.period_start
            and indicator.baseline_year > self.period_start.year
        ):
            errors["period_start"] = _(
                "The indicator's baseline year (%(year)s) is after this target's period."
            ) % {"year": indicator.baseline_year}
        for name in ("target_value", "actual_value"):
            value = getattr(self, name)
            if value is None:
                continue
            if value < 0:
                errors[name] = _("A value cannot be negative.")
            elif indicator and indicator.is_percentage and value > 100:
                errors[name] = _("A percentage lies between 0 and 100.")
        if (
            indicator
            and indicator.source == Indicator.Source.COMPUTED
            and (self.actual_value is not None or self.actual_note or self.actual_evidence)
        ):
            errors["actual_value"] = _(
                "The portal computes this indicator's actual: nothing is entered by hand."
            )
        if self.ministry_id:
            if self.sex:
                errors["ministry"] = _(
                    "A target is for everyone, for one sex or for one ministry: leave the sex empty "
                    "for a ministry's target."
                )
            elif indicator and indicator.ministry_id and indicator.ministry_id != self.ministry_id:
                errors["ministry"] = _(
                    "This indicator counts only the officials of %(ministry)s: a target for another "
                    "ministry could never be reached."
                ) % {"ministry": indicator.ministry.name_en}
            elif indicator and indicator.definition == Indicator.Definition.MINISTRIES:
                errors["ministry"] = _(
                    "Ministries represented is counted over all ministries, not per ministry."
                )
        if self.actual_value is not None and not self.actual_note.strip():
            errors["actual_note"] = _("An actual entered by hand needs a note saying where it comes from.")
        if errors:
            raise ValidationError(errors)
