"""benchmarks/RESULTS.md, where every benchmark records its figures in a section of its own."""

import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def write_section(heading: str, text: str) -> None:
    """Replace the section that starts with `heading` by `text` (which starts with it), in place,
    or add it at the end when RESULTS.md has none yet."""
    with open(RESULTS, encoding="utf-8") as handle:
        current = handle.read()
    if heading in current:
        before, _sep, after = current.partition(heading)
        following = after.find("\n## ")
        rest = after[following + 1 :] if following != -1 else ""
        current = before.rstrip("\n") + "\n\n" + text.strip("\n") + "\n" + ("\n" + rest if rest else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text.strip("\n") + "\n"
    with open(RESULTS, "w", encoding="utf-8") as handle:
        handle.write(current)
