-- The farm: hosts, their assignments, the fail-static flag and the event log.
-- Mirrors ../sqlite/0002_farm.sql; keep the two in step (same tables, same
-- columns, same constraints). Times are milliseconds since the Unix epoch.
-- Lists and label maps are JSON text (not jsonb: the store binds the same
-- text to both backends).

CREATE TABLE hosts (
    name        TEXT    PRIMARY KEY NOT NULL CHECK (name <> ''),
    addresses   TEXT    NOT NULL DEFAULT '[]',  -- JSON array of IP strings
    eligible    TEXT    NOT NULL DEFAULT '[]',  -- JSON array of role names
    labels      TEXT    NOT NULL DEFAULT '{}',  -- JSON object, string values
    is_static   BOOLEAN NOT NULL DEFAULT FALSE,
    pinned      BOOLEAN NOT NULL DEFAULT FALSE,
    cordoned    BOOLEAN NOT NULL DEFAULT FALSE,
    dead        BOOLEAN NOT NULL DEFAULT FALSE,
    token_hash  TEXT
);

-- One row per host at most; a host without one is active in no role.
CREATE TABLE assignments (
    host              TEXT    PRIMARY KEY NOT NULL
                              REFERENCES hosts (name) ON DELETE CASCADE,
    role              TEXT,
    phase             TEXT    NOT NULL CHECK (phase IN ('active', 'draining')),
    drain_to          TEXT,
    drain_started_ms  BIGINT,
    drain_actor       TEXT,
    drain_reason      TEXT,
    since_ms          BIGINT  NOT NULL,
    last_moved_ms     BIGINT,
    CHECK (
        (phase = 'active' AND drain_to IS NULL AND drain_started_ms IS NULL
            AND drain_actor IS NULL AND drain_reason IS NULL)
        OR (phase = 'draining' AND drain_started_ms IS NOT NULL
            AND drain_actor IS NOT NULL AND drain_reason IS NOT NULL)
    )
);

-- Farm-wide flags: exactly one row.
CREATE TABLE farm_state (
    id     BIGINT  PRIMARY KEY CHECK (id = 1),
    panic  BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO farm_state (id, panic) VALUES (1, FALSE);

-- The event log. Ids only grow, so readers page with "after id". `host` is
-- not a foreign key: events outlive hosts.
CREATE TABLE events (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms      BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind <> ''),
    host       TEXT,
    from_role  TEXT,
    to_role    TEXT,
    actor      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    serial     BIGINT  CHECK (serial BETWEEN 0 AND 4294967295)
);
CREATE INDEX events_by_host ON events (host, id);
CREATE INDEX events_by_time ON events (at_ms);
