"""Course reminders: find what is due, record it in the ledger, claim it, send it, complete it.

Where things are:

* `planning` — what is due and who gets it: `dispatch()`, the rows each due reminder is missing,
  `preview()` for the preview_reminders command.
* `changes` — a session moved or cancelled after reminders went out: `notify_change()`.
* `ledger` — the ReminderDelivery rows: keys, the REASON_* texts, handing rows to the workers,
  the claim and its completion, staff sending failed rows again, opt-out links, the session panel.
* `delivery` — sending a claimed batch over one SMTP connection, the checks at the claim, which
  mail-server errors are retried and after how long.
* `messages` — the e-mail and the Telegram message in the official's language, dates in Phnom
  Penh time, the .ics file (attached to the e-mail, a signed link behind Telegram's button).
* `channels` — e-mail and Telegram: each sends one row and says whether to retry, fail, or move
  on to the official's next channel; the official's route (preferred channel, then fallback);
  the Telegram link made by `/start <signed token>` and undone by `/stop` or a blocked bot.

One ledger row per (official, session, kind, key) whatever the channel: the row records which
channel delivered it (`channel`) and where (`email`: the address, or the Telegram chat). A row
tried on Telegram whose bot was blocked (403) switches the official back to e-mail and goes on
by e-mail in the same claim; a 429 is waited out once when short, or becomes the row's
`next_attempt_at` when Telegram asks for longer.

This package is the public face: callers import the names below from `participants.reminders`;
participants.tasks holds the Celery adapters that call it, and it imports nothing from them.

The flow, and who relies on what:

* `dispatch()` runs from Celery beat every few minutes (participants.tasks.dispatch_reminders).
  It finds sessions whose reminder time has come (Course.reminder_offsets_hours, default 48 h
  and 2 h before the start) and that have not started, and writes one ReminderDelivery row per
  enrolled, not-withdrawn official who has none yet for that reminder: an anti-join (NOT
  EXISTS) against the ledger picks exactly the missing (official, session, kind, key), so an
  official enrolled late gets the reminder whoever withdrew meanwhile, and the bulk INSERT …
  ON CONFLICT DO NOTHING with the ledger's unique constraint makes a second dispatcher, or the
  same one run twice, a no-op. It then queues the rows to send, by id, in batches. A dispatcher
  that was down catches up: for each session only the nearest due reminder is made (the 48 h
  one is not sent 1 hour before), and nothing is made for a session that already started.
* Tasks are never parked in the broker with a countdown: Redis re-delivers a message not
  acknowledged within its visibility timeout, a classic cause of duplicate e-mails. The
  dispatcher finds due work in the database instead: new rows, rows whose back-off after a
  transient failure has passed (`next_attempt_at`), rows whose task was lost (queued long ago)
  and rows whose worker died (a claim older than REMINDER_CLAIM_TIMEOUT_SECONDS).
* `deliver_batch()` (one `send_deliveries` task, REMINDER_SEND_BATCH_SIZE rows) claims its rows
  with one conditional UPDATE (each row on its own condition: pending, or sending with an
  expired claim → sending, with the batch's fresh token; a row another worker holds is simply
  not won), reads them back with what may have changed since dispatch, opens ONE SMTP
  connection, and row by row either records why it is not sent (see "Checked again at the
  claim") or sends it and records that row's outcome at once (sent, retry later, failed) where
  the token still matches. A dropped connection is reopened and the row tried once more on the
  new one; when the server cannot be reached the rest of the batch is recorded as a transient
  failure without knocking on the door again. A worker killed mid-batch leaves the rest of its
  batch claimed: the dispatcher queues it again after REMINDER_CLAIM_TIMEOUT_SECONDS.

Checked again at the claim. A row was written when its reminder fell due; by the time a worker
holds it the official may have withdrawn or opted out, the session may have been cancelled or
moved (a reminder's key names the start time it was computed for). The worker checks these on
the rows it has just won, read once for the batch right after the claim and before any message
is built, and marks a row skipped with one of the REASON_* texts (ledger; staff read them on the
session page, in their language). A change committed while the batch is being sent (well under a
second for 50 messages on a healthy server) is not seen by that batch.

The SMTP gap — which side we chose: AT LEAST ONCE.
Between the mail server accepting the message (250 after DATA) and our UPDATE marking the row
sent there is a gap no program can close. A worker killed inside it leaves the row claimed
but not sent; after REMINDER_CLAIM_TIMEOUT_SECONDS the dispatcher re-queues it and the
message goes out again. We prefer a rare duplicate to a silently missing reminder (a missed
session costs more than a second e-mail), and we make the duplicate harmless: every attempt of
one row carries the same Message-ID (<reminder-<row id>@host>), which mail stores and clients
use to fold duplicates. The gap is a few milliseconds wide; a kill anywhere else (before the
claim, while connecting, during RCPT, …) sends exactly once. tests/reminders/test_delivery.py
test_a_worker_dying_after_the_server_accepted_sends_again_with_the_same_message_id states it.

Mail-server failures: 4xx replies and connection errors are transient. The row goes back to
pending with the error as its reason and `next_attempt_at` after an exponential back-off
(REMINDER_RETRY_BACKOFF_SECONDS, doubled each try, capped at
REMINDER_RETRY_BACKOFF_MAX_SECONDS); the dispatcher queues it again once that time has passed,
for as long as the reminder is useful: when the session starts the row is closed as skipped
(REASON_STARTED). An outage of any length therefore loses nothing that can still be read in
time. 5xx replies are permanent: the row says failed and why; staff see it on the session page
and send it again, one row or all failed rows of a session or a course at once.

Changes after reminders went out: moving or cancelling a session sends one update or
cancellation per official (`notify_change`). A change notice also stands in for every reminder
of the new time that falls due within REMINDER_NOTICE_SUPERSEDES_HOURS after it: those are
written to the ledger as skipped (REASON_COVERED_BY_NOTICE), so a moved session does not send
"the session moved" and, seconds later, "48 hours before".
"""

from participants.reminders.changes import notify_change, on_session_changed, session_saved
from participants.reminders.channels import (
    Channels,
    Message,
    Sent,
    classify_smtp_error,
    send_along,
    telegram_enabled,
    telegram_link,
    telegram_unlink,
    telegram_update,
)
from participants.reminders.delivery import (
    DeliverResult,
    Outcome,
    backoff_seconds,
    deliver,
    deliver_batch,
    skip_reason,
)
from participants.reminders.ledger import (
    OPT_OUT_SALT,
    REASON_CANCELLED,
    REASON_COVERED_BY_NOTICE,
    REASON_MOVED,
    REASON_NO_EMAIL,
    REASON_NO_START,
    REASON_OPTED_OUT,
    REASON_STARTED,
    REASON_WITHDRAWN,
    REASONS,
    Delivery,
    Kind,
    Status,
    claim,
    claim_batch,
    failed_to_resend,
    official_from_opt_out_token,
    opt_out,
    opt_out_token,
    reason_display,
    reminder_key,
    resend,
    resend_failed_of_course,
    resend_failed_of_session,
    schedule_fingerprint,
    session_panel,
)
from participants.reminders.messages import (
    build_ics,
    build_message,
    build_telegram,
    calendar_token,
    delivery_from_calendar_token,
    format_when,
    message_context,
    telegram_link_url,
)
from participants.reminders.planning import (
    BULK_BATCH,
    QUEUE_CHUNK,
    TARGET_CHUNK,
    DispatchResult,
    PlannedReminder,
    Target,
    dispatch,
    due_reminders,
    max_offset_hours,
    preview,
)

__all__ = [
    "BULK_BATCH",
    "OPT_OUT_SALT",
    "QUEUE_CHUNK",
    "REASONS",
    "REASON_CANCELLED",
    "REASON_COVERED_BY_NOTICE",
    "REASON_MOVED",
    "REASON_NO_EMAIL",
    "REASON_NO_START",
    "REASON_OPTED_OUT",
    "REASON_STARTED",
    "REASON_WITHDRAWN",
    "TARGET_CHUNK",
    "Channels",
    "DeliverResult",
    "Delivery",
    "DispatchResult",
    "Kind",
    "Message",
    "Outcome",
    "PlannedReminder",
    "Sent",
    "Status",
    "Target",
    "backoff_seconds",
    "build_ics",
    "build_message",
    "build_telegram",
    "calendar_token",
    "claim",
    "claim_batch",
    "classify_smtp_error",
    "deliver",
    "deliver_batch",
    "delivery_from_calendar_token",
    "dispatch",
    "due_reminders",
    "failed_to_resend",
    "format_when",
    "max_offset_hours",
    "message_context",
    "notify_change",
    "official_from_opt_out_token",
    "on_session_changed",
    "opt_out",
    "opt_out_token",
    "preview",
    "reason_display",
    "reminder_key",
    "resend",
    "resend_failed_of_course",
    "resend_failed_of_session",
    "schedule_fingerprint",
    "send_along",
    "session_panel",
    "session_saved",
    "skip_reason",
    "telegram_enabled",
    "telegram_link",
    "telegram_link_url",
    "telegram_unlink",
    "telegram_update",
]
