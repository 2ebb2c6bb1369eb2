"""Text people typed, or a loaded pack named, shows as text on every page: never HTML or markdown.

Each test seeds one hostile text (an ``<img onerror>``, a ``<script>``, a ``javascript:`` link,
a markdown image) as an offender's name, an officer's display name, a handoff's reason, a
meeting's title and chair, a decision's note, a consultation's reason, and an area's name, then
opens the pages that show it. In every markdown element (markdown, captions, headings, alerts)
the text must be there escaped by ``ui.text.md`` and read back as typed, and never be there raw;
in HTML (``st.html``) it must be there escaped by ``ui.text.html_text``. Tables and select boxes
are plain text in Streamlit, so there it simply shows as typed.

The source scans at the end keep it so: no ``unsafe_allow_html``, ``st.html`` in one place only,
and pydeck tooltips as text templates.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from coordination.core.db import get_engine, session_scope
from coordination.models import Case, Handoff, Offender, User, UserCreate
from coordination.security.users import create_user
from tests.factories import CITY, seed_review_cases
from tests.support import REPO, apptest
from tests.support.database import copy_sqlite
from ui.text import html_text, md

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
LINK = "[click](javascript:alert(1))"
IMAGE = "![](http://example.invalid/x.png)"
PAYLOADS = pytest.mark.parametrize("payload", [IMG, SCRIPT, LINK, IMAGE])

#: Elements whose text Streamlit renders as markdown.
MARKDOWN_TYPES = frozenset(
    {"markdown", "caption", "title", "header", "subheader", "success", "info", "warning", "error"}
)
_MARKUP = frozenset("<[")  # an HTML tag, a link or an image
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def _unescaped_markup(value: str) -> set[str]:
    """The markup characters in ``value`` not escaped by a backslash (an odd run before them)."""
    found: set[str] = set()
    backslashes = 0
    for char in value:
        if char == "\\":
            backslashes += 1
            continue
        if char in _MARKUP and backslashes % 2 == 0:
            found.add(char)
        backslashes = 0
    return found


def shown_as_text(at: AppTest, payload: str) -> list[str]:
    """Assert ``payload`` is nowhere raw in markdown or HTML; return the elements showing it.

    Every markdown element that shows it holds it as ``md(payload)``, reads back as typed, and
    has no unescaped markup character at all (none of the pages' own markdown needs one there).
    """
    showing = []
    for node in at._tree:
        value = getattr(node, "value", None) if node.type in MARKDOWN_TYPES | {"html"} else None
        if not isinstance(value, str):
            continue
        if node.type == "html":
            # Text with nothing HTML would read (a markdown link) is the same escaped or not.
            assert payload not in value or html_text(payload) == payload, value
            if html_text(payload) in value:
                showing.append(value)
            continue
        # Inside a code span (``ui.text.code``) everything is literal, so only outside it.
        prose = _CODE_SPAN.sub("", value)
        assert payload not in prose, (node.type, value)
        if md(payload) in value:
            assert payload in apptest.as_read(prose), value
            assert not _unescaped_markup(prose), (node.type, value)
            showing.append(value)
    return showing


def _in_tables(at: AppTest, payload: str) -> bool:
    return any(
        payload in {str(v) for v in table.value.astype(str).to_numpy().ravel()}
        for table in at.dataframe
    )


# --- the seeded database -------------------------------------------------------------------------


@pytest.fixture
def hostile_env(
    request: pytest.FixtureRequest,
    app_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, dict[str, int]]]:
    """The review cases (``seed_review_cases``) with the payload put where people type text.

    The City supervisor ``cara.city`` is displayed as the payload; the pending-handoff case's
    person is called ``<payload> Quxworthy`` and its handoff gives the payload as its reason.
    """
    from coordination.core.settings import reset_settings_cache

    payload: str = request.param
    url = copy_sqlite(app_database_url, tmp_path / "crossforce.db")
    engine = get_engine(url)
    ids = seed_review_cases(engine)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == "cara.city")).one()
        user.display_name = payload
        case = session.get(Case, ids["handoff"])
        assert case is not None
        person = session.get(Offender, case.offender_id)
        assert person is not None
        person.first_name, person.last_name = payload, "Quxworthy"
        handoff = session.exec(select(Handoff).where(Handoff.case_id == ids["handoff"])).one()
        handoff.reason = payload
        session.add_all([user, person, handoff])
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", url)
    reset_settings_cache()
    try:
        yield payload, ids
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


HOSTILE = pytest.mark.parametrize("hostile_env", [IMG, SCRIPT, LINK, IMAGE], indirect=True)


# --- the pages -----------------------------------------------------------------------------------


@HOSTILE
def test_sidebar_shows_the_display_name_as_text(hostile_env: tuple[str, dict[str, int]]) -> None:
    payload, _ = hostile_env
    at = apptest.page(apptest.APP, user="cara.city")
    apptest.ok(at, errors=False)
    showing = shown_as_text(at, payload)
    assert any(value.startswith("Signed in as **") for value in showing), showing


@HOSTILE
def test_caseload_shows_names_and_reasons_as_text(hostile_env: tuple[str, dict[str, int]]) -> None:
    payload, ids = hostile_env
    at = apptest.page("caseload", user="cara.city")
    apptest.ok(at, errors=False)
    # The officer's own name in "Acting as …"; the person's name in the list, as typed.
    assert any("Acting as" in value for value in shown_as_text(at, payload))
    assert f"{payload} Quxworthy" in set(apptest.table(at, "PNC ID", "lives in")["name"])
    labels = at.selectbox(key="cl_case").options
    assert any(f"{payload} Quxworthy" in label for label in labels), labels

    at.selectbox(key="cl_case").set_value(ids["handoff"]).run()
    apptest.ok(at, errors=False)
    assert any(value.startswith("### ") for value in shown_as_text(at, payload))

    # The reason given to open the record is quoted back on the page.
    with Session(get_engine()) as s:
        case = s.get(Case, ids["handoff"])
        assert case is not None
        offender_id = case.offender_id
    at.text_input(key=f"cl_why_{offender_id}").set_value(payload)
    apptest.button(at, "Open record").click().run()
    apptest.ok(at, errors=False)
    showing = shown_as_text(at, payload)
    assert any(value.startswith("Record opened; reason given:") for value in showing), showing


@HOSTILE
def test_handoffs_show_the_reason_as_text(hostile_env: tuple[str, dict[str, int]]) -> None:
    payload, ids = hostile_env
    at = apptest.page("handoffs", user="cara.city")
    apptest.ok(at, errors=False)
    outgoing = apptest.table(apptest.tab(at, "Outgoing"), "handoff", "due")
    assert payload in set(outgoing["reason"])
    assert f"{payload} Quxworthy" in set(outgoing["offender"])
    (handoff_id,) = outgoing[outgoing["case"] == ids["handoff"]]["handoff"]
    at.selectbox(key="ho_pick").set_value(int(handoff_id)).run()
    apptest.ok(at, errors=False)
    showing = shown_as_text(at, payload)
    assert any(value.startswith("**Reason:**") for value in showing), showing


@HOSTILE
def test_joint_review_shows_titles_names_and_notes_as_text(
    hostile_env: tuple[str, dict[str, int]],
) -> None:
    payload, ids = hostile_env
    at = apptest.page("joint_review", user="cara.city")
    apptest.ok(at)
    at.text_input(key="jr_new_title").input(payload)
    at.text_input(key="jr_new_chair").input(payload)
    at.text_area(key="jr_new_attendees").input(f"{payload}\nMo Met")
    at.button(key="jr_create").click().run()
    apptest.ok(at)
    showing = shown_as_text(at, payload)
    # The flash line, the meeting's heading, and its chair and attendees.
    assert any(f"planned: {payload}." in apptest.as_read(v) for v in at.success.values)
    assert md(payload) in [s.value for s in at.subheader], [s.value for s in at.subheader]
    assert any(value.startswith("**Date:**") for value in showing), showing

    at.button(key="jr_generate").click().run()
    apptest.ok(at)
    at.toggle(key="jr_group").set_value(False).run()
    agenda = apptest.table(at, "reasons", "OGRS3 pts")
    assert f"{payload} Quxworthy" in set(agenda["offender"])
    picker = at.selectbox(key="jr_item")
    (index,) = [n for n, o in enumerate(picker.options) if o.endswith(f"(case {ids['handoff']})")]
    picker.select_index(index).run()
    apptest.ok(at)
    assert any(value.startswith("#### ") for value in shown_as_text(at, payload))

    at.selectbox(key="jr_kind").set_value("retain")
    at.text_area(key="jr_note").input(payload)
    at.button(key="jr_decide").click().run()
    apptest.ok(at)
    showing = shown_as_text(at, payload)
    assert any(apptest.as_read(v).startswith("Decision: Retain") for v in showing), showing

    # An action about the case, owned and described by the payload: plain text in the tables.
    at.text_input(key="jr_act_desc").input(payload)
    at.selectbox(key="jr_act_owner").set_value(payload)
    at.button(key="jr_add_action").click().run()
    apptest.ok(at)
    shown_as_text(at, payload)
    assert _in_tables(at, payload)


@HOSTILE
def test_audit_log_shows_typed_text_as_text(hostile_env: tuple[str, dict[str, int]]) -> None:
    payload, _ = hostile_env
    with session_scope(get_engine()) as s:
        create_user(
            s,
            actor="pytest",
            data=UserCreate(
                username="ada.admin", display_name="Ada Admin", force_code=CITY, role="admin"
            ),
        )
    at = apptest.page("audit", user="ada.admin")
    apptest.ok(at)
    at.text_input(key="audit_offender").set_value(payload).run()
    showing = shown_as_text(at, payload)
    assert any(apptest.as_read(v).startswith("Offender id ") for v in showing), showing


@PAYLOADS
def test_reference_data_shows_a_packs_names_as_text(
    payload: str, app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from coordination.reference import lookup as service

    hostile = SimpleNamespace(
        active=True,
        name=payload,
        vintage=payload,
        source=payload,
        approximate=True,
        coverage_note=payload,
        n_forces=1,
        n_districts=1,
        n_wards=1,
        loaded_at=None,
        loaded_by=payload,
        activated_at=None,
    )
    overview = service.ReferenceOverview(sets=[hostile], active=hostile, attribution=payload)  # type: ignore[list-item]
    monkeypatch.setattr(service, "reference_overview", lambda: overview)
    at = apptest.page("reference_data", user="pytest")
    apptest.ok(at)
    showing = shown_as_text(at, payload)
    assert any(apptest.as_read(v).startswith("Active boundary set:") for v in showing)
    assert any(apptest.as_read(v).startswith(f"{payload} is approximate.") for v in showing)
    assert any(c.value == md(payload) for c in at.caption)
    assert _in_tables(at, payload)


def _lookup_card(payload: str) -> None:
    from coordination.reference.lookup import LookupResult
    from geo.lookup import ForceRef, Named
    from ui.components.lookup_card import render_result

    # Name and code both hostile, and not equal (a code equal to its name is shown once).
    area = Named(f"{payload}0", payload)
    named = {"name": payload, "code": payload}
    render_result(
        LookupResult(
            query=payload,
            kind="postcode",
            postcode=None,
            easting=532500.0,
            northing=181500.0,
            lat=51.5,
            lon=-0.09,
            force=ForceRef(payload, payload, payload),
            district=area,
            bcu=area,
            ward=area,
            distance_to_boundary_m=12.0,
            nearest_other_force=area,
            near_boundary=True,
            method=payload,
            boundary_set=payload,
            approximate=False,
            warnings=[payload],
            directory={"district": named, "force": named},
            polygon={"district": named, "force": named, "method": payload},
        )
    )


@PAYLOADS
def test_lookup_card_shows_a_packs_names_and_the_query_as_text(payload: str) -> None:
    at = AppTest.from_function(_lookup_card, args=(payload,), default_timeout=apptest.TIMEOUT)
    at.run()
    apptest.ok(at, errors=False)
    showing = shown_as_text(at, payload)
    # The force heading, the caption with the query, the cards, the warning, the two sources.
    assert any(v.startswith("## ") for v in showing)
    assert any(v == md(payload) for v in (w.value for w in at.warning))
    assert any(v.startswith("**The two sources disagree:**") for v in showing)
    assert len(showing) >= 8, showing


@pytest.mark.parametrize("hostile_env", [IMG], indirect=True)
def test_network_page_escapes_names(
    hostile_env: tuple[str, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page draws exactly the DOT ``network_dot`` wrote (every node named like markup).

    ``network_dot`` quotes every name for DOT (property-tested in ``test_page_network``), and
    Graphviz labels are text, never HTML: a name cannot become markup or DOT syntax.
    """
    from ui.components import network

    drawn: list[str] = []
    real = network.network_dot

    def hostile(graph: Any) -> str:
        for node in graph.nodes:
            graph.nodes[node]["name"] = IMG
        drawn.append(real(graph))
        return drawn[-1]

    monkeypatch.setattr(network, "network_dot", hostile)
    at = apptest.page("network", user="cara.city")
    apptest.ok(at)
    assert drawn, "the seeded handoff makes a network to draw"
    (chart,) = at.get_by_key("net_drawing").get("graphviz_chart")
    assert chart.proto.spec == drawn[0]
    assert not at.get("html")


# --- the sources ---------------------------------------------------------------------------------


def _ui_sources() -> list[Path]:
    return [*sorted((REPO / "ui").rglob("*.py")), REPO / "app.py"]


def _raw_html(source: str) -> list[str]:
    """What in ``source`` puts HTML on a page: ``unsafe_allow_html``, components, ``.html()``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html":
            found.append("unsafe_allow_html")
        elif isinstance(node, ast.ImportFrom | ast.Import):
            # ``streamlit.components`` embeds any HTML and script in an iframe.
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            names = [f"{module}.{alias.name}".lstrip(".") for alias in node.names]
            found += [n for n in names if n.startswith("streamlit.components")]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "html"
        ):
            found.append(f"html({ast.unparse(node.args[0]) if node.args else ''})")
    return found


def test_the_html_scanner_finds_each_kind() -> None:
    planted = (
        "import streamlit.components.v1 as components\n"
        "from streamlit import components\n"
        "st.markdown(name, unsafe_allow_html=True)\n"
        "st.html(f'<b>{name}</b>')\n"
    )
    assert sorted(_raw_html(planted)) == [
        "html(f'<b>{name}</b>')",
        "streamlit.components",
        "streamlit.components.v1",
        "unsafe_allow_html",
    ]


def test_no_raw_html_anywhere_in_the_ui() -> None:
    """No ``unsafe_allow_html``, no components, no ``st.html``."""
    found = {
        path.relative_to(REPO).as_posix(): uses
        for path in _ui_sources()
        if (uses := _raw_html(path.read_text()))
    }
    assert found == {}


def _both_maps(postcode: str) -> None:
    from datetime import date
    from types import SimpleNamespace

    import streamlit as st

    from coordination.reference.lookup import MapData
    from ui.components.maps import build_deck, timeline_deck

    data = MapData(
        lat=51.5,
        lon=-0.09,
        force_lines=[],
        district_lines=[],
        ward_lines=[],
        click_cells=[],
        attribution="",
    )
    address = SimpleNamespace(
        id=1,
        easting=532500.0,
        northing=181500.0,
        postcode=postcode,
        valid_from=date(2024, 1, 1),
        valid_to=None,
    )
    st.pydeck_chart(build_deck(data), key="lookup")
    st.pydeck_chart(timeline_deck([address]), key="timeline")


def test_pydeck_tooltips_are_text_templates() -> None:
    """deck.gl sets a ``text`` tooltip as text; an ``html`` one would be parsed as HTML."""
    at = AppTest.from_function(_both_maps, args=(IMG,), default_timeout=apptest.TIMEOUT)
    at.run()
    apptest.ok(at)
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 2
    for chart in charts:
        assert set(json.loads(chart.proto.tooltip)) == {"text"}, chart.proto.tooltip
    for path in _ui_sources():
        assert not re.search(r"tooltip\s*=\s*\{[^}]*['\"]html['\"]", path.read_text()), path
