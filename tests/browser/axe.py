"""axe-core in the browser tests: where the pinned copy lies, how it is run on a page, how its
findings are reported.

The Makefile fetches axe-core (AXE_CORE_VERSION, checked against its SHA-256) into var/ as a
test fixture; it is injected into the page through the DevTools protocol, so it is never served by
the portal and the page's Content-Security-Policy does not have to allow it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# WCAG 2.1 A and AA, and axe's best practices (headings in order, landmarks, one h1 ...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = ("critical", "serious")
SUMMARIES: list[Path] = []  # written this run; tests/browser/conftest.py names them at the end
IMPACTS = ("critical", "serious", "moderate", "minor")


def axe_core_version() -> str:
    """The version the Makefile pins: one place to change it."""
    match = re.search(r"^AXE_CORE_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "the Makefile names no AXE_CORE_VERSION"
    return match.group(1)


def axe_core_path() -> Path:
    return ROOT / "var" / f"axe-core-{axe_core_version()}" / "axe.min.js"


# Runs in the page; returns plain data (rule, impact, the selectors of the offending nodes).
RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    rule: v.id, impact: v.impact || "minor", help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary || "" })),
  }));
}"""


# WCAG 2.1's Reflow (1.4.10, AA), which axe does not test: at a phone's width the page itself must
# not scroll sideways (a wide table may, inside its own scrolling region). Returns the page's width
# and the elements that stick out of the screen outside any such region, widest first.
REFLOW = """() => {
  const width = window.innerWidth;
  const scrolls = (el) => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(el).overflowX);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.classList.length ? "." + Array.from(el.classList).join(".") : "");
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right <= width + 1 || box.width === 0) continue;
    let inside = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (scrolls(up)) { inside = true; break; }
    }
    if (!inside) wide.push([Math.round(box.right), name(el)]);
  }
  wide.sort((a, b) => b[0] - a[0]);
  return { width, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 3) };
}"""
REFLOW_MAX_WIDTH = 400  # the check applies to screens up to a phone's width


@dataclass
class Finding:
    rule: str
    impact: str
    help: str
    target: str
    summary: str
    page: str  # "GET /courses/ as mih_staff, km, 390x844"


# A page is its header (the same on most pages of one role) and the rest. Two pages whose header
# and rest were each checked already, in the same language and viewport, add nothing: axe judges
# each node by its own markup and styles. Left out of the comparison: what differs between two
# log-ins with the same rights (the CSRF token, the user's name), and what the header says of the
# page it is on (the address the language form returns to, the current link of the menu).
HEADER = re.compile(r'<header class="site-header">.*?</header>', re.DOTALL)
VOLATILE = (
    (re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*'), r"\1"),
    (re.compile(r'(<span class="user">)[^<]*'), r"\1"),
    (re.compile(r'(<input name="next" type="hidden" value=")[^"]*'), r"\1"),
    (re.compile(r' aria-current="page"'), ""),
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class AxeReport:
    """What axe found on every page checked, kept for the failure message and the summary file."""

    pages: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    same_as: dict[str, str] = field(default_factory=dict)  # page label -> where its content was checked
    _seen: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def already_checked(self, where: str, label: str, html: str) -> bool:
        """Whether the header and the rest of `html` were each checked on another page shown `where`."""
        for pattern, replacement in VOLATILE:
            html = pattern.sub(replacement, html)
        header = HEADER.search(html)
        keys = [
            (where, "header", _digest(header.group(0) if header else "")),
            (where, "content", _digest(HEADER.sub("", html))),
        ]
        if all(key in self._seen for key in keys):
            self.same_as[label] = self._seen[keys[1]]
            return True
        for key in keys:
            self._seen.setdefault(key, label)
        return False

    def check(self, page, label: str) -> None:
        """Run axe on `page`: the context's init script put it in every document."""
        self.pages.append(label)
        for violation in page.evaluate(RUN, TAGS):
            for node in violation["nodes"]:
                self.findings.append(
                    Finding(
                        violation["rule"],
                        violation["impact"],
                        violation["help"],
                        node["target"],
                        node["summary"],
                        label,
                    )
                )
        reflow = page.evaluate(REFLOW)
        if reflow["width"] <= REFLOW_MAX_WIDTH and reflow["scrollWidth"] > reflow["width"] + 1:
            widest = ", ".join(f"{target} to {right}px" for right, target in reflow["wide"]) or "—"
            self.findings.append(
                Finding(
                    "reflow",
                    "serious",
                    "WCAG 1.4.10 Reflow: the page must not scroll sideways on a phone",
                    reflow["wide"][0][1] if reflow["wide"] else "html",
                    f"the page is {reflow['scrollWidth']}px wide on a {reflow['width']}px screen; "
                    f"sticking out: {widest}",
                    label,
                )
            )

    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.impact in FAILING]

    def by_impact(self) -> Counter:
        counts = Counter(dict.fromkeys(IMPACTS, 0))
        counts.update(f.impact for f in self.findings)
        return counts

    def describe(self, findings: list[Finding]) -> str:
        lines = []
        for f in findings:
            reason = " ".join(f.summary.split())
            lines.append(f"{f.impact}: {f.rule} ({f.help}) at `{f.target}` on {f.page}\n    {reason}")
        return "\n".join(lines)

    def summary(self, version: str) -> str:
        counts = self.by_impact()
        lines = [
            f"axe-core {version}, tags {', '.join(TAGS)}",
            f"pages checked: {len(self.pages)} (page x role x language x viewport); "
            f"{len(self.same_as)} more reached whose header and content were each checked on another page",
            "violations (nodes) by impact: " + ", ".join(f"{i} {counts[i]}" for i in IMPACTS),
            "",
        ]
        by_rule = Counter((f.impact, f.rule, f.help) for f in self.findings)
        if by_rule:
            lines.append("by rule:")
            lines += [
                f"  {n:4d}  {impact:8s} {rule}: {help_}" for (impact, rule, help_), n in by_rule.most_common()
            ]
            lines += ["", "each finding:"]
            lines += [f"  {f.impact}: {f.rule} at `{f.target}` on {f.page}" for f in self.findings]
        lines += ["", "pages checked:"] + [f"  {label}" for label in self.pages]
        lines += ["", "pages whose header and content were each checked on another page:"]
        lines += [f"  {label}  (content as on: {checked})" for label, checked in self.same_as.items()]
        return "\n".join(lines) + "\n"
