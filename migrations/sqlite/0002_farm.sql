-- The farm: hosts, their assignments, the fail-static flag and the event log.
-- Mirrored in ../postgres/0002_farm.sql; keep the two in step (same tables,
-- same columns, same constraints). Times are milliseconds since the Unix
-- epoch. Booleans are 0/1. Lists and label maps are JSON text.

CREATE TABLE hosts (
    name        TEXT    PRIMARY KEY NOT NULL CHECK (name <> ''),
    addresses   TEXT    NOT NULL DEFAULT '[]',  -- JSON array of IP strings
    eligible    TEXT    NOT NULL DEFAULT '[]',  -- JSON array of role names
    labels      TEXT    NOT NULL DEFAULT '{}',  -- JSON object, string values
    is_static   INTEGER NOT NULL DEFAULT 0 CHECK (is_static IN (0, 1)),
    pinned      INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    cordoned    INTEGER NOT NULL DEFAULT 0 CHECK (cordoned IN (0, 1)),
    dead        INTEGER NOT NULL DEFAULT 0 CHECK (dead IN (0, 1)),
    token_hash  TEXT
);

-- One row per host at most; a host without one is active in no role.
CREATE TABLE assignments (
    host              TEXT    PRIMARY KEY NOT NULL
                              REFERENCES hosts (name) ON DELETE CASCADE,
    role              TEXT,
    phase             TEXT    NOT NULL CHECK (phase IN ('active', 'draining')),
    drain_to          TEXT,
    drain_started_ms  INTEGER,
    drain_actor       TEXT,
    drain_reason      TEXT,
    since_ms          INTEGER NOT NULL,
    last_moved_ms     INTEGER,
    CHECK (
        (phase = 'active' AND drain_to IS NULL AND drain_started_ms IS NULL
            AND drain_actor IS NULL AND drain_reason IS NULL)
        OR (phase = 'draining' AND drain_started_ms IS NOT NULL
            AND drain_actor IS NOT NULL AND drain_reason IS NOT NULL)
    )
);

-- Farm-wide flags: exactly one row.
CREATE TABLE farm_state (
    id     INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    panic  INTEGER NOT NULL DEFAULT 0 CHECK (panic IN (0, 1))
);
INSERT INTO farm_state (id, panic) VALUES (1, 0);

-- The event log. Ids only grow (AUTOINCREMENT: never reused), so readers
-- page with "after id". `host` is not a foreign key: events outlive hosts.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms      INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind <> ''),
    host       TEXT,
    from_role  TEXT,
    to_role    TEXT,
    actor      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    serial     INTEGER CHECK (serial BETWEEN 0 AND 4294967295)
);
CREATE INDEX events_by_host ON events (host, id);
CREATE INDEX events_by_time ON events (at_ms);
