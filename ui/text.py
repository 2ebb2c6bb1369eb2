"""Words the pages share: escaping for markdown and HTML, the generic error, force names, labels.

No Streamlit here: these are plain functions of their arguments, used by ``ui.session`` and by
the components alike.

Text that came from people or from loaded files (names, notes, reasons, titles, postcodes,
usernames, a pack's area names) reaches the page only through one of these, at the point where
the markdown or HTML is put together:

- :func:`md` for anything Streamlit renders as markdown (``st.markdown``, ``st.caption``,
  ``st.subheader``, ``st.success`` and the other alerts);
- :func:`code` for a value shown as inline code in such markdown (a PNC ID, a code);
- :func:`html_text` for text placed in HTML or SVG, should a page ever need it (none does: the
  network drawing is Graphviz DOT, quoted by ``ui.components.network.dot_quote``).

Nothing in ``ui`` calls ``st.html`` or passes ``unsafe_allow_html=True``, and pydeck tooltips
are ``text`` templates only (deck.gl sets them as text, where an ``html`` template would be
parsed); a test scans for both.
"""

from __future__ import annotations

import html
import re

GENERIC_ERROR = "Something went wrong; the details are in the server log."

CITY = "E23000034"
MET = "E23000001"
FORCES: dict[str, str] = {CITY: "City of London Police", MET: "Metropolitan Police Service"}

# Every ASCII punctuation character markdown, GitHub's extensions or Streamlit give a meaning:
# ``:`` starts Streamlit's colours, icons and emoji, ``=`` underlines a heading, ``&`` an entity.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&=:])")
# GitHub's autolinks (``www.x``, ``http://x``, ``a@b.c``) and Streamlit's ``:material/icon:`` are
# found in the text after escapes are read, so no backslash stops them: an invisible word joiner
# splits what they look for.
_AUTOLINK = re.compile(r"(?i)(?<=www)(?=\\\.)|(?<=:)(?=//|material/)|(?<=@)")
WORD_JOINER = "\u2060"
_BACKTICKS = re.compile(r"`+")


def md(text: object) -> str:
    """Escape text for Streamlit markdown: it shows as typed, never as formatting.

    Links, images, HTML, headings, lists, LaTeX, Streamlit's ``:red[...]`` colours and
    ``:emoji:`` codes, and GitHub's bare-URL and e-mail autolinks all show as plain text.

    Parameters
    ----------
    text
        Anything; it is shown as ``str(text)``.

    Returns
    -------
    str
        Markdown that renders as exactly that text.

    Examples
    --------
    >>> md("[x](javascript:alert(1))")
    '\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    return _AUTOLINK.sub(WORD_JOINER, escaped)


def code(text: object) -> str:
    """Inline code showing ``text`` as typed (a PNC ID, an ONS code), whatever it holds.

    The fence is one backtick longer than any run of backticks inside, so nothing in the text
    can close it early; a line break would end the span, so it becomes a space.
    """
    value = " ".join(str(text).splitlines())
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def html_text(text: object) -> str:
    """Escape text for HTML or SVG, in element content and in quoted attribute values alike."""
    return html.escape(str(text), quote=True)


def force_label(code: str | None) -> str:
    """A force's name with its code, e.g. ``City of London Police (E23000034)``."""
    if code is None:
        return "All forces"
    return f"{FORCES.get(code, code)} ({code})"


def role_label(role: str) -> str:
    """A role as people say it: ``offender_manager`` is ``offender manager``."""
    return role.replace("_", " ")


def with_article(word: str) -> str:
    """``an analyst``, ``a supervisor``."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
