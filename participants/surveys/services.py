"""Every write of surveys and tests: building an instrument, versioning it, answering it.

Answering is `response_submit`: it checks the link's official against the course, that the
instrument is open, and every answer against the questions, then stores one response per
official and instrument. The database settles a double tap (the Participation and Response
unique constraints); an identical repeat changes nothing.
"""

from __future__ import annotations

import dataclasses

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from participants.models import Enrollment, Official
from participants.surveys.models import (
    SCALE_MAX,
    SCALE_MIN,
    TEXT_ANSWER_MAX_LENGTH,
    AnonymousResponse,
    Choice,
    Instrument,
    Participation,
    Question,
    Response,
)

LINK_SALT = "participants.surveys.link"


# Links -------------------------------------------------------------------------------------------


def link_token(*, instrument: Instrument, official: Official) -> str:
    return signing.dumps({"i": instrument.pk, "o": official.pk}, salt=LINK_SALT, compress=True)


class BadLink(Exception):
    """A link that is tampered with, made for someone else, or for nothing that exists."""


def open_link(token: str) -> tuple[Instrument, Official]:
    """The instrument and official a personal link was signed for; BadLink otherwise.

    A link is refused too when its official is not (or no longer) enrolled in the course: a link
    forwarded to or forged for another official answers nothing.
    """
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature as error:
        raise BadLink from error
    if not isinstance(data, dict) or not isinstance(data.get("i"), int) or not isinstance(data.get("o"), int):
        raise BadLink
    instrument = Instrument.objects.select_related("course", "session").filter(pk=data["i"]).first()
    official = Official.objects.filter(pk=data["o"]).first()
    if instrument is None or official is None:
        raise BadLink
    if not Enrollment.objects.filter(
        official=official, course_id=instrument.course_id, status=Enrollment.Status.ENROLLED
    ).exists():
        raise BadLink
    return instrument, official


# Answering ---------------------------------------------------------------------------------------


def is_open(instrument: Instrument, now=None) -> bool:
    now = now or timezone.now()
    return instrument.closes_at is None or now < instrument.closes_at


def clean_answers(instrument: Instrument, data) -> dict[str, object]:
    """The answers of a submitted form (a QueryDict or a dict of lists), checked against the
    questions; ValidationError naming every problem. Keys are question ids as text."""
    errors: list[str] = []
    answers: dict[str, object] = {}
    for question in instrument.questions.prefetch_related("choices"):
        name = f"q{question.pk}"
        values = [
            v for v in (data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])) if v != ""
        ]
        label = question.text_for(get_language() or "en")
        if not values:
            if question.required:
                errors.append(_("Answer “%(question)s”.") % {"question": label})
            continue
        if question.has_choices:
            valid = {str(choice.pk) for choice in question.choices.all()}
            if any(value not in valid for value in values):
                errors.append(_("“%(question)s”: that option does not exist.") % {"question": label})
                continue
            if question.type == Question.Type.SINGLE and len(values) > 1:
                errors.append(_("“%(question)s”: choose one option only.") % {"question": label})
                continue
            answers[str(question.pk)] = sorted({int(value) for value in values})
        elif question.type == Question.Type.SCALE:
            try:
                number = int(values[0])
            except ValueError:
                number = 0
            if len(values) > 1 or not SCALE_MIN <= number <= SCALE_MAX:
                errors.append(
                    _("“%(question)s”: choose a value from %(low)d to %(high)d.")
                    % {"question": label, "low": SCALE_MIN, "high": SCALE_MAX}
                )
                continue
            answers[str(question.pk)] = number
        else:
            text = values[0].strip()
            if len(text) > TEXT_ANSWER_MAX_LENGTH:
                errors.append(
                    _("“%(question)s”: at most %(limit)d characters (this answer has %(count)d).")
                    % {"question": label, "limit": TEXT_ANSWER_MAX_LENGTH, "count": len(text)}
                )
                continue
            if text:
                answers[str(question.pk)] = text
            elif question.required:
                errors.append(_("Answer “%(question)s”.") % {"question": label})
    if errors:
        raise ValidationError(errors)
    return answers


def score(instrument: Instrument, answers: dict[str, object]) -> int | None:
    """A test's score: a question's points when the chosen options are exactly the correct ones."""
    if not instrument.is_test:
        return None
    total = 0
    for question in instrument.questions.prefetch_related("choices"):
        if not question.has_choices or not question.points:
            continue
        correct = sorted(choice.pk for choice in question.choices.all() if choice.is_correct)
        if correct and answers.get(str(question.pk)) == correct:
            total += question.points
    return total


def max_score(instrument: Instrument) -> int:
    return sum(q.points for q in instrument.questions.all() if q.has_choices)


@dataclasses.dataclass
class Submitted:
    created: bool  # a first answer (False: a change, or an identical repeat)
    changed: bool


def response_submit(*, instrument: Instrument, official: Official, data, now=None) -> Submitted:
    """Store the official's answers: one response per official and instrument, changeable until the
    instrument closes (identified ones; an anonymous answer cannot be found again to change it)."""
    now = now or timezone.now()
    if not is_open(instrument, now):
        raise ValidationError(_("This survey closed; answers are no longer accepted."))
    answers = clean_answers(instrument, data)
    points = score(instrument, answers)
    with transaction.atomic():
        try:
            with transaction.atomic():
                Participation.objects.create(instrument=instrument, official=official)
        except IntegrityError:
            first = False
        else:
            first = True
        if instrument.is_anonymous:
            if not first:
                # Nothing links the stored answer to this official, by design: it cannot be changed.
                raise ValidationError(_("You already answered. Anonymous answers cannot be changed."))
            AnonymousResponse.objects.create(instrument=instrument, answers=answers, score=points)
            return Submitted(created=True, changed=True)
        if first:
            Response.objects.create(
                instrument=instrument,
                official=official,
                answers=answers,
                score=points,
                submitted_at=now,
                changed_at=now,
            )
            return Submitted(created=True, changed=True)
        response = Response.objects.select_for_update().get(instrument=instrument, official=official)
        if response.answers == answers:
            return Submitted(created=False, changed=False)
        response.answers, response.score, response.changed_at = answers, points, now
        response.save(update_fields=["answers", "score", "changed_at"])
        return Submitted(created=False, changed=True)


def has_answered(*, instrument: Instrument, official: Official) -> bool:
    return Participation.objects.filter(instrument=instrument, official=official).exists()


# Building ----------------------------------------------------------------------------------------


def has_responses(instrument: Instrument) -> bool:
    return instrument.participations.exists()


def _refuse_if_answered(instrument: Instrument) -> None:
    if has_responses(instrument):
        raise ValidationError(
            _(
                "This instrument already has answers: changing its questions would make them "
                "incomparable. Make a new version instead."
            )
        )


def instrument_create(*, created_by=None, **fields) -> Instrument:
    instrument = Instrument(created_by=created_by, **fields)
    instrument.full_clean(exclude=["created_by", "previous"])
    _check_instrument(instrument)
    instrument.save()
    return instrument


def _check_instrument(instrument: Instrument) -> None:
    errors = {}
    if instrument.kind == Instrument.Kind.FEEDBACK and instrument.session_id is None:
        errors["session"] = _("Session feedback asks about one session: choose it.")
    if instrument.session_id and instrument.session.course_id != instrument.course_id:
        errors["session"] = _("That session belongs to another course.")
    if instrument.kind == Instrument.Kind.FOLLOW_UP and not instrument.follow_up_months:
        errors["follow_up_months"] = _("Say how many months after the course the follow-up goes out.")
    if instrument.pre_test_id:
        if instrument.kind != Instrument.Kind.POST_TEST:
            errors["pre_test"] = _("Only a post-test is paired with a pre-test.")
        elif instrument.pre_test.kind != Instrument.Kind.PRE_TEST:
            errors["pre_test"] = _("The paired instrument must be a pre-test.")
        elif instrument.pre_test.course_id != instrument.course_id:
            errors["pre_test"] = _("The pre-test must belong to the same course.")
    if errors:
        raise ValidationError(errors)


def instrument_update(*, instrument: Instrument, **fields) -> Instrument:
    """Titles and the closing time may always change; the kind, pairing and anonymity only before
    the first answer (they change what the answers mean)."""
    breaking = {"kind", "is_anonymous", "pre_test", "session", "follow_up_months"}
    for name, value in fields.items():
        current = getattr(instrument, name)
        if name in breaking and current != value:
            _refuse_if_answered(instrument)
        setattr(instrument, name, value)
    instrument.full_clean(exclude=["created_by", "previous"])
    _check_instrument(instrument)
    instrument.save()
    return instrument


def question_add(
    *,
    instrument: Instrument,
    type: str,
    text_en: str,
    text_km: str = "",
    points: int = 0,
    required: bool = True,
    choices: list[tuple[str, str, bool]] | None = None,
) -> Question:
    """A question at the end, with its options (English, Khmer, correct?) for a choice question."""
    _refuse_if_answered(instrument)
    choices = choices or []
    errors = []
    if type in (Question.Type.SINGLE, Question.Type.MULTIPLE):
        if len(choices) < 2:
            errors.append(_("A choice question needs at least two options."))
        if instrument.is_test and points and not any(correct for _en, _km, correct in choices):
            errors.append(_("Mark at least one option as correct, or give the question no points."))
        if type == Question.Type.SINGLE and sum(1 for *_texts, correct in choices if correct) > 1:
            errors.append(_("A single-choice question has one correct option."))
    elif choices:
        errors.append(_("Only choice questions have options."))
    if not instrument.is_test and points:
        errors.append(_("Only tests give points."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        last = instrument.questions.order_by("-position").values_list("position", flat=True).first() or 0
        question = Question(
            instrument=instrument,
            position=last + 1,
            type=type,
            text_en=text_en,
            text_km=text_km,
            points=points,
            required=required,
        )
        question.full_clean(exclude=["instrument"])
        question.save()
        Choice.objects.bulk_create(
            Choice(question=question, position=n, text_en=en, text_km=km, is_correct=correct)
            for n, (en, km, correct) in enumerate(choices, start=1)
        )
    return question


def question_delete(*, question: Question) -> None:
    _refuse_if_answered(question.instrument)
    question.delete()


def instrument_new_version(*, instrument: Instrument, created_by=None) -> Instrument:
    """A copy with every question and option, version + 1, to change freely; the old one closes now
    (if still open) so the two are never answered at the same time."""
    if hasattr(instrument, "next_version"):
        raise ValidationError(_("A newer version of this instrument already exists."))
    with transaction.atomic():
        copy = Instrument.objects.create(
            course=instrument.course,
            session=instrument.session,
            kind=instrument.kind,
            title_en=instrument.title_en,
            title_km=instrument.title_km,
            is_anonymous=instrument.is_anonymous,
            pre_test=instrument.pre_test,
            follow_up_months=instrument.follow_up_months,
            closes_at=instrument.closes_at,
            version=instrument.version + 1,
            previous=instrument,
            created_by=created_by,
        )
        for question in instrument.questions.prefetch_related("choices"):
            choices = list(question.choices.all())
            question.pk = None
            question.instrument = copy
            question.save()
            Choice.objects.bulk_create(
                Choice(
                    question=question,
                    position=c.position,
                    text_en=c.text_en,
                    text_km=c.text_km,
                    is_correct=c.is_correct,
                )
                for c in choices
            )
        if is_open(instrument):
            instrument.closes_at = timezone.now()
            instrument.save(update_fields=["closes_at", "updated_at"])
    return copy
