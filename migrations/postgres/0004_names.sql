-- The zone's own names written through the API, and when hosts left roles.
-- Mirrors ../sqlite/0004_names.sql; keep the two in step (same tables,
-- same columns, same constraints). Times are milliseconds since the Unix
-- epoch. Names are absolute and lowercase (`_dmarc.lists.example.test.`).

-- Static records added through the API (the policy's stay in the policy):
-- one row per record. `data` is the RDATA in presentation format, names in
-- it absolute, so it reads back without an origin.
CREATE TABLE api_records (
    owner  TEXT    NOT NULL CHECK (owner <> ''),
    rtype  TEXT    NOT NULL CHECK (rtype <> ''),   -- `TXT`, `MX`, `TYPE65280`
    ttl    BIGINT  NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),
    data   TEXT    NOT NULL,
    PRIMARY KEY (owner, rtype, data)
);

-- Aliases: a name published as a CNAME to a host's own name. `host` is not a
-- foreign key: an alias outlives its host (a mapping, not a pool). `set_at`
-- and `actor` say who last set or moved it, when known.
CREATE TABLE aliases (
    owner   TEXT    PRIMARY KEY NOT NULL CHECK (owner <> ''),
    host    TEXT    NOT NULL CHECK (host <> ''),
    set_at  BIGINT,
    actor   TEXT
);

-- When a host last left a role, so the SPF keeps listing it for
-- `keep_after_leave`. Not a foreign key: a removed host's queue may still
-- hold mail.
CREATE TABLE departures (
    host     TEXT    NOT NULL CHECK (host <> ''),
    role     TEXT    NOT NULL CHECK (role <> ''),
    left_ms  BIGINT  NOT NULL,
    PRIMARY KEY (host, role)
);
