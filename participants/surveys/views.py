"""Staff pages: a course's surveys and tests, building one (English and Khmer side by side),
new versions, and the results with their exports."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from courses.models import Course
from participants.models import Enrollment
from participants.surveys import exports, selectors, services
from participants.surveys.forms import InstrumentForm, QuestionForm
from participants.surveys.models import Instrument, Question
from pcp_portal import roles
from pcp_portal.decorators import editor_required, reader_required


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@reader_required
@require_http_methods(["GET", "POST"])
def course_surveys(request, pk: int):
    course = get_object_or_404(Course, pk=pk)
    form = InstrumentForm(course=course)
    status = 200
    if request.method == "POST":
        if not roles.can_edit(request.user):
            raise PermissionDenied
        form = InstrumentForm(request.POST, course=course)
        if form.is_valid():
            try:
                instrument = services.instrument_create(
                    course=course, created_by=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("The instrument was created; now add its questions."))
                return redirect("survey_detail", pk=instrument.pk)
        status = 400
    instruments = (
        Instrument.objects.filter(course=course).select_related("session", "pre_test").order_by("kind", "id")
    )
    return render(
        request,
        "surveys/course_surveys.html",
        {"course": course, "instruments": instruments, "form": form},
        status=status,
    )


def _detail(request, instrument: Instrument, *, question_form=None, settings_form=None, status=200):
    answered = services.has_responses(instrument)
    return render(
        request,
        "surveys/instrument_detail.html",
        {
            "instrument": instrument,
            "course": instrument.course,
            "questions": instrument.questions.prefetch_related("choices"),
            "answered": answered,
            "max_score": services.max_score(instrument),
            "question_form": question_form or QuestionForm(),
            "settings_form": settings_form or InstrumentForm(instance=instrument, course=instrument.course),
            "newer": getattr(instrument, "next_version", None),
        },
        status=status,
    )


def _instrument(pk: int) -> Instrument:
    return get_object_or_404(Instrument.objects.select_related("course", "session", "pre_test"), pk=pk)


@reader_required
def survey_detail(request, pk: int):
    return _detail(request, _instrument(pk))


@editor_required
@require_POST
def survey_edit(request, pk: int):
    instrument = _instrument(pk)
    form = InstrumentForm(request.POST, instance=Instrument.objects.get(pk=pk), course=instrument.course)
    if form.is_valid():
        try:
            services.instrument_update(instrument=instrument, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("The instrument was saved."))
            return redirect("survey_detail", pk=pk)
    return _detail(request, _instrument(pk), settings_form=form, status=400)


@editor_required
@require_POST
def survey_question_add(request, pk: int):
    instrument = _instrument(pk)
    form = QuestionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.question_add(
                instrument=instrument,
                type=data["type"],
                text_en=data["text_en"],
                text_km=data["text_km"],
                points=data["points"],
                required=data["required"],
                choices=data["choices"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("The question was added."))
            return redirect("survey_detail", pk=pk)
    return _detail(request, instrument, question_form=form, status=400)


@editor_required
@require_POST
def survey_question_delete(request, pk: int):
    question = get_object_or_404(Question.objects.select_related("instrument"), pk=pk)
    try:
        services.question_delete(question=question)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The question was removed."))
    return redirect("survey_detail", pk=question.instrument_id)


@editor_required
@require_POST
def survey_new_version(request, pk: int):
    instrument = _instrument(pk)
    try:
        copy = services.instrument_new_version(instrument=instrument, created_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("survey_detail", pk=pk)
    messages.success(
        request, _("Version %(version)d was made; the previous version closed.") % {"version": copy.version}
    )
    return redirect("survey_detail", pk=copy.pk)


@reader_required
def survey_results(request, pk: int):
    instrument = _instrument(pk)
    with_names = roles.can_edit(request.user)
    return render(
        request,
        "surveys/results.html",
        {
            "instrument": instrument,
            "course": instrument.course,
            "rates": selectors.response_rates(instrument),
            "scores": selectors.scores(instrument),
            "gain": selectors.paired_gain(instrument),
            "summaries": selectors.question_summaries(instrument, with_names=with_names),
            "with_names": with_names and not instrument.is_anonymous,
        },
    )


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@reader_required
def survey_export(request, pk: int, fmt: str):
    instrument = _instrument(pk)
    if fmt not in EXPORT_TYPES:
        raise Http404
    with_names = roles.can_edit(request.user)
    render_file = exports.as_csv if fmt == "csv" else exports.as_xlsx
    response = HttpResponse(render_file(instrument, with_names=with_names), content_type=EXPORT_TYPES[fmt])
    name = f"pcp-survey-{instrument.pk}-v{instrument.version}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@editor_required
@require_http_methods(["GET", "POST"])
def survey_tablet(request, pk: int):
    """At the session on a shared tablet: staff open this page, each official picks their name and
    answers on the same personal page their link opens (so every rule of answering holds)."""
    instrument = _instrument(pk)
    enrolled = (
        Enrollment.objects.filter(course_id=instrument.course_id, status=Enrollment.Status.ENROLLED)
        .select_related("official")
        .order_by("official__family_name", "official__given_name", "official_id")
    )
    if request.method == "POST":
        picked = request.POST.get("official") or ""
        chosen = enrolled.filter(official_id=int(picked)).first() if picked.isdigit() else None
        if chosen is None:
            messages.error(request, _("Choose a name from the list of enrolled officials."))
            return redirect("survey_tablet", pk=pk)
        token = services.link_token(instrument=instrument, official=chosen.official)
        return redirect("survey_answer", token=token)
    answered = set(instrument.participations.values_list("official_id", flat=True))
    return render(
        request,
        "surveys/tablet.html",
        {
            "instrument": instrument,
            "officials": [(e.official, e.official_id in answered) for e in enrolled],
        },
    )
