-- The published zone per origin: its serial and content, so a restart keeps
-- the serial when nothing changed and moves it forward when something did.
-- Mirrors ../sqlite/0001_zone_state.sql.
CREATE TABLE zone_state (
    zone        TEXT    PRIMARY KEY NOT NULL,
    serial      BIGINT  NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
    content     TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);
