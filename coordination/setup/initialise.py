"""``crossforce init``: migrate the database and make sure reference data is loaded and active.

Safe to run any number of times: each step checks before it writes, and a run that finds
everything in place changes nothing and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from coordination.caseload.weights import seed_case_weights
from coordination.core.db import current_revision, get_engine, session_scope, upgrade
from coordination.core.settings import Settings
from coordination.reference import boundaries
from coordination.register import rules


@dataclass
class InitReport:
    """What ``initialise`` did, in lines for people.

    Attributes
    ----------
    lines
        One line per step, in order.
    changed
        Whether anything in the database changed.
    active_set
        Name of the active boundary set at the end.
    """

    lines: list[str] = field(default_factory=list)
    changed: bool = False
    active_set: str | None = None


def london_default_checksum(directory_version: str) -> str:
    """Return the checksum recorded for a London default built from a postcode directory.

    The default is a pure function of the directory's version, so its checksum is too.
    """
    return hashlib.sha256(f"london-default:{directory_version}".encode()).hexdigest()


def initialise(
    *,
    settings: Settings,
    actor: str,
    progress: Callable[[str], None] | None = None,
) -> InitReport:
    """Migrate, seed forces, load and activate reference data, and warm the resolver cache.

    Parameters
    ----------
    settings
        Database URL, reference pack, cache directory and resolver distances.
    actor
        Who is running it (recorded on every change).
    progress
        Called with each line as it happens (the CLI prints them).

    Returns
    -------
    InitReport
        What was done; a second run reports that nothing changed.

    Raises
    ------
    PackValidationError
        ``settings.reference_dir`` is not a usable pack.
    ConflictError
        The pack is new but a set with its name already exists (load it under another name with
        ``crossforce data load``).
    """
    report = InitReport()

    def say(line: str) -> None:
        report.lines.append(line)
        if progress is not None:
            progress(line)

    engine = get_engine(settings.database_url_effective)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before != after:
        report.changed = True
        say(f"Database migrated to revision {after} (was {before or 'empty'})")
    else:
        say(f"Database already at revision {after}")

    with session_scope(engine) as session:
        seeded = boundaries.seed_forces(session, actor=actor)
        seeded_rules = rules.seed_rules(session, actor=actor)
        seeded_weights = seed_case_weights(session, actor=actor)
    if seeded:
        report.changed = True
        say(f"Forces: {seeded} added or updated")
    else:
        say("Forces already up to date")
    if seeded_rules or seeded_weights:
        report.changed = True
        say(f"Defaults: {seeded_rules} responsibility rules, {seeded_weights} case weights added")

    if settings.reference_dir is not None:
        _ensure_pack(settings, actor, report, say)
    else:
        _ensure_default(settings, actor, report, say)

    with session_scope(engine) as session:
        active = boundaries.get_active(session)
        if active is None:
            # Only reachable when sets exist but none is active and no pack was named: the
            # operator deactivated on purpose or loaded sets by hand; init does not guess.
            say("No boundary set is active: run `crossforce data activate NAME`")
            return _finish(report, say)
        report.active_set = active.name
        cache = boundaries.resolver_cache_path(settings, active)
        cached = cache.exists()
        if not cached:
            say(f"Preparing the resolver for {active.name} (once per boundary set)…")
        boundaries.get_resolver(session, settings=settings)
    say(f"Resolver {'already cached' if cached else 'cached'} at {cache}")
    return _finish(report, say)


def _finish(report: InitReport, say: Callable[[str], None]) -> InitReport:
    if not report.changed:
        say("Nothing changed: the database and reference data were already up to date")
    return report


def _ensure_pack(
    settings: Settings, actor: str, report: InitReport, say: Callable[[str], None]
) -> None:
    from geo.pack import pack_checksum, read_pack

    if settings.reference_dir is None:
        raise RuntimeError("settings.reference_dir is missing")
    path = settings.reference_dir
    checksum = pack_checksum(path)
    engine = get_engine(settings.database_url_effective)
    with session_scope(engine) as session:
        stored = boundaries.find_by_checksum(session, checksum)
    if stored is None:
        say(f"Reading reference pack {path}…")
        layers = read_pack(path)
        with session_scope(engine) as session:
            stored = boundaries.store_layers(session, actor=actor, layers=layers, checksum=checksum)
        report.changed = True
        say(
            f"Loaded boundary set {stored.name}: {stored.n_forces} forces, "
            f"{stored.n_districts} districts, {stored.n_wards} wards"
        )
    else:
        say(f"Reference pack already loaded as boundary set {stored.name}")

    with session_scope(engine) as session:
        active = boundaries.get_active(session)
        if active is None or (active.approximate and active.name != stored.name):
            boundaries.activate(session, actor=actor, name=stored.name)
            report.changed = True
            replaced = f" (replacing approximate {active.name})" if active is not None else ""
            say(f"Activated boundary set {stored.name}{replaced}")
        elif active.name == stored.name:
            say(f"Boundary set {stored.name} is active")
        else:
            # An official set chosen by the operator stays: init never overrides that choice.
            say(
                f"Boundary set {active.name} stays active; activate {stored.name} with "
                f"`crossforce data activate {stored.name}`"
            )


def _ensure_default(
    settings: Settings, actor: str, report: InitReport, say: Callable[[str], None]
) -> None:
    engine = get_engine(settings.database_url_effective)
    with session_scope(engine) as session:
        sets = boundaries.list_sets(session)
    if sets:
        say(f"Boundary sets already loaded: {', '.join(s.name for s in sets)}")
        return

    from geo.london_default import build_london_default
    from geo.postcodes import PostcodeDirectory

    say(
        "No reference pack (CROSSFORCE_REFERENCE_DIR unset): building the approximate London "
        "default from the postcode directory…"
    )
    directory = PostcodeDirectory.load(settings.cache_dir)
    layers = build_london_default(directory)
    with session_scope(engine) as session:
        stored = boundaries.store_layers(
            session,
            actor=actor,
            layers=layers,
            checksum=london_default_checksum(directory.version),
        )
        boundaries.activate(session, actor=actor, name=stored.name)
    report.changed = True
    say(
        f"Loaded and activated approximate boundary set {stored.name} "
        f"({stored.n_districts} districts)"
    )
