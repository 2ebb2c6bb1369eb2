"""Words the pages share: markdown escaping, the generic error, force names and labels.

No Streamlit here: these are plain functions of their arguments, used by ``ui.session`` and by
the components alike.
"""

from __future__ import annotations

import re

GENERIC_ERROR = "Something went wrong; the details are in the server log."

CITY = "E23000034"
MET = "E23000001"
FORCES: dict[str, str] = {CITY: "City of London Police", MET: "Metropolitan Police Service"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")


def md(text: object) -> str:
    """Escape text for ``st.markdown`` so names never turn into formatting, links or LaTeX."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


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
