"""benchmarks/RESULTS.md, where every benchmark records its figures in a section of its own, and the
line that names the machine they were measured on."""

import contextlib
import os
import platform

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


def machine() -> str:
    """The CPU model, the cores this process may use and the RAM, for a results section."""
    cpu = memory = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as handle:
        kib = next((int(line.split()[1]) for line in handle if line.startswith("MemTotal")), 0)
        memory = f"{kib / 1024 / 1024:.1f} GiB RAM"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return ", ".join(part for part in (cpu or platform.machine(), f"nproc {cores}", memory) if part)
