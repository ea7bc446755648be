"""Surveys in the admin, read-only: instruments are built, versioned and sent from their own pages
(participants/surveys/views.py), whose services keep versions comparable and sending exactly-once."""

from django.contrib import admin

from participants.surveys.models import (
    AnonymousResponse,
    Choice,
    Instrument,
    Invitation,
    Participation,
    Question,
    Response,
)
from pcp_portal.admin import ReadOnlyAdmin


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    list_display = ("title_en", "kind", "course", "session", "version", "closes_at")
    list_filter = ("kind",)
    search_fields = ("title_en", "title_km", "course__title")
    list_select_related = ("course", "session")


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    list_display = ("instrument", "position", "type", "text_en")
    list_filter = ("type",)
    search_fields = ("text_en", "text_km", "instrument__title_en")
    list_select_related = ("instrument",)


@admin.register(Choice)
class ChoiceAdmin(ReadOnlyAdmin):
    list_display = ("question", "position", "text_en")
    search_fields = ("text_en", "text_km", "question__text_en")
    list_select_related = ("question",)


@admin.register(Participation)
class ParticipationAdmin(ReadOnlyAdmin):
    list_display = ("instrument", "official")
    search_fields = (
        "instrument__title_en",
        "official__family_name",
        "official__given_name",
        "official__name_km",
    )
    list_select_related = ("instrument", "official")


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ("instrument", "official", "score", "submitted_at", "changed_at")
    search_fields = (
        "instrument__title_en",
        "official__family_name",
        "official__given_name",
        "official__name_km",
    )
    list_select_related = ("instrument", "official")


# Anonymous answers keep nothing that points to a person, and the admin adds nothing either.
@admin.register(AnonymousResponse)
class AnonymousResponseAdmin(ReadOnlyAdmin):
    list_display = ("pk", "instrument", "score")
    search_fields = ("instrument__title_en", "instrument__title_km")
    list_select_related = ("instrument",)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("instrument", "official", "key", "status", "channel", "attempts", "sent_at")
    list_filter = ("key", "status", "channel")
    search_fields = ("instrument__title_en", "official__family_name", "official__given_name", "reason")
    list_select_related = ("instrument", "official")
    exclude = ("claim_token",)
