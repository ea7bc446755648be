"""Import officials from a CSV or .xlsx file, with the same preview as the upload page (--dry-run)."""

from participants.imports.commands import ImportCommand


class Command(ImportCommand):
    help = __doc__
    kind = "officials"
