"""Template helpers: citing the public record's sources and showing unknown facts as unknown."""

from urllib.parse import urlparse

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def cite(record, field):
    """Links to the sources that state `field` of a public-record row, or nothing."""
    urls = record.source_for(field) if hasattr(record, "source_for") else []
    if not urls:
        return ""
    links = format_html_join(
        ", ",
        '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>',
        ((url, urlparse(url).netloc or url) for url in urls),
    )
    return format_html('<span class="sources">[{} {}]</span>', _("source:"), links)


@register.filter
def or_unknown(value):
    if value in (None, "", [], {}):
        return format_html('<span class="unknown">{}</span>', _("not on public record"))
    return value
