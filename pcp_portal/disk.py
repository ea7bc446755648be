"""Uploads, exports and temporary files that cannot fill the disk unnoticed.

Django writes an upload larger than FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file in
FILE_UPLOAD_TEMP_DIR. When that directory is short of space the upload used to die with ENOSPC
inside the parser: a bare 500, a half-written file, and nothing telling staff why.

SpaceCheckingTemporaryFileUploadHandler checks the free space first (the request's length plus
PCP_MIN_FREE_DISK_BYTES) and, should the disk still fill up while the file arrives (another
process writing), removes the partial file. Either way it stops the upload cleanly (the rest of
the body is read and dropped) and leaves the reason on the request: a view that takes uploads
shows it as a form error (`refused_upload`), and any other view answers 507 with the same
message (pcp_portal.degrade.DependencyFailureMiddleware).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import shutil
import tempfile

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

_REFUSED = "_pcp_upload_refused"
_HANDLES = "_pcp_handles_refused_upload"


def temp_dir() -> str:
    return settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir()


def free_bytes(path: str) -> int:
    return shutil.disk_usage(path).free


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def short_of_space(path: str, needed: int) -> str | None:
    """A message for staff when `path` has less than `needed` bytes plus the margin free."""
    free = free_bytes(path)
    if free >= needed + settings.PCP_MIN_FREE_DISK_BYTES:
        return None
    logger.warning("disk short of space: %s has %d bytes free, %d needed", path, free, needed)
    return _(
        "The server is short of disk space (%(free)s MB free, %(needed)s MB needed); nothing was saved. "
        "Try again later, or tell the portal's administrator."
    ) % {"free": _mb(free), "needed": _mb(needed + settings.PCP_MIN_FREE_DISK_BYTES)}


class ShortOfSpace(OSError):
    """Refused before writing: too little free space. pcp_portal.degrade answers 507 with the message."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.ENOSPC, message)
        self.message = message


def ensure_free_space(path: str | None = None, needed: int = 0) -> None:
    """Raise ShortOfSpace unless `path` (the temp directory) has `needed` bytes plus the margin free."""
    message = short_of_space(path or tempfile.gettempdir(), needed)
    if message:
        raise ShortOfSpace(message)


def refused_upload(request) -> str | None:
    """Why the request's upload was refused for lack of disk space, or None."""
    return getattr(request, _REFUSED, None)


def handles_refused_upload(view):
    """Marks a view that shows a refused upload itself (as a form error) instead of a 507 page."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        return view(*args, **kwargs)

    setattr(wrapped, _HANDLES, True)
    return wrapped


def view_handles_refused_upload(view_func) -> bool:
    return getattr(view_func, _HANDLES, False)


class SpaceCheckingTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_length = content_length
        return None

    def _refuse(self, message: str) -> None:
        self.discard()
        if self.request is not None:
            setattr(self.request, _REFUSED, message)
        raise StopUpload(connection_reset=False)

    def discard(self) -> None:
        """Close and remove the partial file (NamedTemporaryFile deletes itself on close)."""
        partial = getattr(self, "file", None)
        if partial is not None:
            # Closing flushes what is buffered, which fails again on a full disk; the file is
            # unlinked all the same.
            with contextlib.suppress(OSError):
                partial.close()
            del self.file

    def new_file(self, *args, **kwargs):
        message = short_of_space(temp_dir(), getattr(self, "request_length", 0) or 0)
        if message:
            self._refuse(message)
        try:
            super().new_file(*args, **kwargs)
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self._refuse(_ran_out_message())

    def receive_data_chunk(self, raw_data, start):
        try:
            self.file.write(raw_data)
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            logger.warning("disk full while receiving an upload into %s", temp_dir())
            self._refuse(_ran_out_message())

    def file_complete(self, file_size):
        try:
            self.file.flush()
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self._refuse(_ran_out_message())
        return super().file_complete(file_size)


def _ran_out_message() -> str:
    return _(
        "The server ran out of disk space while receiving this file; nothing was saved. "
        "Try again later, or tell the portal's administrator."
    )
