"""Text on printed sheets: each word kept whole on its line.

WeasyPrint ignores `word-break: keep-all`, and the line breaker may cut a run of Khmer (written
without spaces between words) wherever a syllable ends. Wrapping each space-separated word in a
non-breaking span leaves the spaces as the only places a line can end, in either script.
"""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def whole_words(value) -> SafeString:
    words = str(value or "").split()
    return format_html_join(" ", '<span class="w">{}</span>', ((word,) for word in words))
