"""Hypothesis strategies shared by several test modules: postcodes as people type them."""

from __future__ import annotations

from hypothesis import strategies as st

LETTER = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGIT = st.sampled_from("0123456789")
SPACES = st.lists(st.sampled_from([" ", "  ", "\t", "\u00a0", "\u2003", "\n"]), max_size=2).map(
    "".join
)


@st.composite
def outward_codes(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["A9", "A99", "AA9", "AA99", "A9A", "AA9A"]))
    return "".join(draw(LETTER if ch == "A" else DIGIT) for ch in shape)


@st.composite
def postcodes(draw: st.DrawFn) -> str:
    """A canonical, well-formed UK postcode (existing or not)."""
    return f"{draw(outward_codes())} {draw(DIGIT)}{draw(LETTER)}{draw(LETTER)}"


@st.composite
def typed_variants(draw: st.DrawFn, canonical: str) -> str:
    """The canonical postcode as a person might type it: any case, any spacing anywhere."""
    chars = [ch for ch in canonical if ch != " "]
    out = [draw(SPACES)]
    for ch in chars:
        out.append(ch.lower() if draw(st.booleans()) else ch)
        out.append(draw(SPACES))
    return "".join(out)
