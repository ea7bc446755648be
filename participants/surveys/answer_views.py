"""The public answering page: an official opens a personal signed link, no log-in."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from participants.surveys import services
from participants.surveys.models import Response


def _language(request, official) -> str:
    asked = request.GET.get("lang")
    return asked if asked in ("en", "km") else official.preferred_language


@require_http_methods(["GET", "POST"])
def answer(request, token: str):
    try:
        instrument, official = services.open_link(token)
    except services.BadLink:
        return render(
            request,
            "surveys/link_refused.html",
            {"message": _("This link is not valid. Use the link from your own e-mail, unchanged.")},
            status=404,
        )
    language = _language(request, official)
    with translation.override(language):
        is_open = services.is_open(instrument)
        answered = services.has_answered(instrument=instrument, official=official)
        errors: list[str] = []
        submitted = None
        if request.method == "POST":
            try:
                result = services.response_submit(instrument=instrument, official=official, data=request.POST)
            except ValidationError as error:
                errors = error.messages
                submitted = request.POST
            else:
                messages.success(
                    request,
                    _("Thank you: your answers are saved.")
                    if result.changed
                    else _("Your answers were already saved; nothing changed."),
                )
                return redirect(request.get_full_path())
        previous = {}
        if answered and not instrument.is_anonymous and submitted is None:
            response = Response.objects.filter(instrument=instrument, official=official).first()
            previous = response.answers if response else {}
        questions = []
        for question in instrument.questions.prefetch_related("choices"):
            key = str(question.pk)
            if submitted is not None:
                chosen = [v for v in submitted.getlist(f"q{question.pk}") if v]
            else:
                value = previous.get(key)
                chosen = (
                    [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])
                )
            questions.append(
                {
                    "question": question,
                    "text": question.text_for(language),
                    "chosen": chosen,
                    "choices": [(c, c.text_for(language)) for c in question.choices.all()],
                }
            )
        can_answer = is_open and not (answered and instrument.is_anonymous)
        return render(
            request,
            "surveys/answer.html",
            {
                "instrument": instrument,
                "title": instrument.title_for(language),
                "official": official,
                "questions": questions,
                "answered": answered,
                "is_open": is_open,
                "can_answer": can_answer,
                "errors": errors,
                "scale": range(1, 6),
                "language": language,
                "other_language": "en" if language == "km" else "km",
            },
            status=400 if errors else 200,
        )
