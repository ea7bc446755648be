"""The results of an instrument, one definition each: the results page and its exports read these,
and so can the results framework's computed indicators (knowledge gain, satisfaction).

* response rate: officials enrolled (not withdrawn) in the course who answered / all of them,
  by sex and by ministry at enrolment.
* scores (tests): mean and distribution of every stored score.
* paired gain: for a post-test paired with a pre-test, only the officials who answered both
  (identified instruments only: an anonymous answer cannot be paired); gain = post − pre.
* scales: per 1–5 question, how many answered, the mean and the count of each value.
* free text: every text answer; names only for staff, and never for an anonymous instrument.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

from django.db.models import Exists, OuterRef

from participants.models import Enrollment, Sex
from participants.surveys.models import AnonymousResponse, Instrument, Participation, Question, Response


@dataclasses.dataclass
class RateRow:
    label: str
    eligible: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.eligible if self.eligible else None


def response_rates(instrument: Instrument) -> dict[str, list[RateRow]]:
    """{"total": [row], "sex": rows, "ministry": rows}; one query."""
    rows = (
        Enrollment.objects.filter(course_id=instrument.course_id, status=Enrollment.Status.ENROLLED)
        .annotate(
            answered=Exists(
                Participation.objects.filter(instrument_id=instrument.pk, official_id=OuterRef("official_id"))
            )
        )
        .values_list("official__sex", "ministry_name_en", "answered")
    )
    by_sex: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_ministry: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    total = [0, 0]
    for sex, ministry, answered in rows:
        for counts in (by_sex[sex], by_ministry[ministry], total):
            counts[0] += 1
            counts[1] += int(answered)
    sex_labels = dict(Sex.choices)
    return {
        "total": [RateRow("", *total)],
        "sex": [RateRow(str(sex_labels[s]), *by_sex[s]) for s in Sex.values if s in by_sex],
        "ministry": [RateRow(name, *counts) for name, counts in sorted(by_ministry.items())],
    }


def _answer_rows(instrument: Instrument) -> list[dict]:
    model = AnonymousResponse if instrument.is_anonymous else Response
    return list(model.objects.filter(instrument=instrument).values("answers", "score"))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclasses.dataclass
class Scores:
    count: int
    mean: float | None
    max_score: int
    distribution: list[tuple[int, int]]  # (score, how many), by score


def scores(instrument: Instrument) -> Scores | None:
    if not instrument.is_test:
        return None
    values = [row["score"] for row in _answer_rows(instrument) if row["score"] is not None]
    return Scores(len(values), _mean(values), max_score(instrument), sorted(Counter(values).items()))


@dataclasses.dataclass
class PairedGain:
    pairs: list[tuple[object, int, int, int]]  # (official, pre score, post score, gain)
    mean_pre: float | None
    mean_post: float | None
    mean_gain: float | None
    distribution: list[tuple[int, int]]  # (gain, how many), by gain


def paired_gain(post: Instrument) -> PairedGain | None:
    """Pre and post scores of the officials who answered both; None when there is nothing to pair."""
    pre = post.pre_test
    if post.kind != Instrument.Kind.POST_TEST or pre is None or pre.is_anonymous or post.is_anonymous:
        return None
    pre_scores = dict(
        Response.objects.filter(instrument=pre, score__isnull=False).values_list("official_id", "score")
    )
    pairs = [
        (
            response.official,
            pre_scores[response.official_id],
            response.score,
            response.score - pre_scores[response.official_id],
        )
        for response in Response.objects.filter(
            instrument=post, score__isnull=False, official_id__in=list(pre_scores)
        )
        .select_related("official")
        .order_by("official__family_name", "official__given_name", "official_id")
    ]
    gains = [gain for *_scores, gain in pairs]
    return PairedGain(
        pairs=pairs,
        mean_pre=_mean([pair[1] for pair in pairs]),
        mean_post=_mean([pair[2] for pair in pairs]),
        mean_gain=_mean(gains),
        distribution=sorted(Counter(gains).items()),
    )


def max_score(instrument: Instrument) -> int:
    """The points a perfect answer scores: every choice question's points (scales and text score none)."""
    return sum(q.points for q in instrument.questions.all() if q.has_choices)


@dataclasses.dataclass
class GainRow:
    """One official's pair of a course's knowledge tests, as shares of each test's maximum."""

    official_id: int
    sex: str
    pre_share: float
    post_share: float

    @property
    def gain_points(self) -> float:
        """The gain in percentage points: tests of different lengths are comparable."""
        return (self.post_share - self.pre_share) * 100


def course_knowledge_gains(
    course_id: int, *, answered_from=None, answered_to=None, ministry_id: int | None = None
) -> list[GainRow]:
    """The pairs of `paired_gain` for every post-test of a course, each score as a share of its
    test's maximum, for the results framework's knowledge-gain indicator.

    `answered_from`/`answered_to` (aware datetimes) keep the post-tests first answered within them;
    `ministry_id` the officials whose enrolment in the course names that ministry. Four queries
    whatever the number of answers: the post-tests with their pre-tests, their questions, the
    pre-test scores and the post-test scores.
    """
    posts = list(
        Instrument.objects.filter(
            course_id=course_id,
            kind=Instrument.Kind.POST_TEST,
            is_anonymous=False,
            pre_test__isnull=False,
            pre_test__is_anonymous=False,
        ).select_related("pre_test")
    )
    if not posts:
        return []
    tests = {post.pk: post for post in posts} | {post.pre_test_id: post.pre_test for post in posts}
    questions = defaultdict(list)
    for question in Question.objects.filter(instrument_id__in=list(tests)):
        questions[question.instrument_id].append(question)
    maxima = {pk: sum(q.points for q in questions[pk] if q.has_choices) for pk in tests}
    pre_scores = {
        (instrument_id, official_id): score
        for instrument_id, official_id, score in Response.objects.filter(
            instrument_id__in=[post.pre_test_id for post in posts], score__isnull=False
        ).values_list("instrument_id", "official_id", "score")
    }
    answered = Response.objects.filter(instrument__in=posts, score__isnull=False)
    if answered_from is not None:
        answered = answered.filter(submitted_at__gte=answered_from)
    if answered_to is not None:
        answered = answered.filter(submitted_at__lt=answered_to)
    if ministry_id is not None:
        answered = answered.filter(
            Exists(
                Enrollment.objects.filter(
                    official_id=OuterRef("official_id"), course_id=course_id, ministry_id=ministry_id
                )
            )
        )
    pre_of = {post.pk: post.pre_test_id for post in posts}
    rows = []
    for instrument_id, official_id, sex, score in answered.values_list(
        "instrument_id", "official_id", "official__sex", "score"
    ).order_by("official_id", "instrument_id"):
        pre_id = pre_of[instrument_id]
        pre = pre_scores.get((pre_id, official_id))
        if pre is None or not maxima[pre_id] or not maxima[instrument_id]:
            continue
        rows.append(GainRow(official_id, sex, pre / maxima[pre_id], score / maxima[instrument_id]))
    return rows


@dataclasses.dataclass
class QuestionSummary:
    question: Question
    count: int
    mean: float | None = None  # scales
    distribution: list[tuple[str, int]] = dataclasses.field(default_factory=list)  # (value or option, n)
    texts: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (name or "", text)


def question_summaries(instrument: Instrument, *, with_names: bool) -> list[QuestionSummary]:
    """Every question with what its answers add up to. `with_names`: staff reading an identified
    instrument see who wrote each free-text answer; nobody does for an anonymous one."""
    questions = list(instrument.questions.prefetch_related("choices"))
    if instrument.is_anonymous:
        rows = [(None, row["answers"]) for row in _answer_rows(instrument)]
    else:
        rows = [
            (response.official, response.answers)
            for response in Response.objects.filter(instrument=instrument)
            .select_related("official")
            .order_by("official__family_name", "official__given_name", "official_id")
        ]
    summaries = []
    for question in questions:
        key = str(question.pk)
        given = [(official, answers[key]) for official, answers in rows if key in answers]
        summary = QuestionSummary(question=question, count=len(given))
        if question.type == Question.Type.SCALE:
            values = [int(value) for _o, value in given]
            summary.mean = _mean(values)
            counts = Counter(values)
            summary.distribution = [(str(n), counts.get(n, 0)) for n in range(1, 6)]
        elif question.has_choices:
            counts = Counter(choice_id for _o, value in given for choice_id in value)
            summary.distribution = [
                (choice.text_en, counts.get(choice.pk, 0)) for choice in question.choices.all()
            ]
        else:
            show = with_names and not instrument.is_anonymous
            summary.texts = [
                (official.full_name if show and official else "", text) for official, text in given
            ]
        summaries.append(summary)
    return summaries


def satisfaction(instrument: Instrument) -> float | None:
    """The mean of every 1–5 answer of the instrument: the satisfaction indicator of feedback."""
    keys = [
        str(pk) for pk in instrument.questions.filter(type=Question.Type.SCALE).values_list("pk", flat=True)
    ]
    values = [
        int(row["answers"][key]) for row in _answer_rows(instrument) for key in keys if key in row["answers"]
    ]
    return _mean(values)
