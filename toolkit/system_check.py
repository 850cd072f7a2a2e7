"""Warn, in plain words, about system packages the PDFs need: `python -m toolkit.system_check`."""

from __future__ import annotations

import ctypes.util
import shutil
import subprocess
import sys

# (what to look for with fc-list, the Debian package that brings it, what it is for)
FONTS = (
    ("DejaVu Serif", "fonts-dejavu-core", "Latin, Cyrillic and Greek letters"),
    ("Amiri", "fonts-hosny-amiri", "Arabic names and letters"),
    ("WenQuanYi Micro Hei", "fonts-wqy-microhei", "Chinese names and letters"),
    ("Lohit Devanagari", "fonts-lohit-deva", "names in Devanagari (Hindi, Marathi, Nepali)"),
)
LIBRARIES = (
    ("harfbuzz-subset", "libharfbuzz-subset0", "fast PDF rendering with small files"),
    ("pango-1.0", "libpango-1.0-0", "any PDF at all"),
)


def problems() -> list[str]:
    """What is missing, each with the package that fixes it."""
    found = []
    for library, package, purpose in LIBRARIES:
        if ctypes.util.find_library(library) is None:
            found.append(
                f"missing library {library} (needed for {purpose}): apt-get install {package}"
            )
    if shutil.which("fc-list") is None:
        found.append("fc-list not found, cannot check fonts: apt-get install fontconfig")
        return found
    families = subprocess.run(
        ["fc-list", ":", "family"], capture_output=True, text=True, check=False
    ).stdout
    for family, package, purpose in FONTS:
        if family not in families:
            found.append(f"missing font {family} ({purpose}): apt-get install {package}")
    return found


def main() -> int:
    """Print each problem; always succeed, so a missing font never stops the app starting."""
    for problem in problems():
        print(f"WARNING: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
