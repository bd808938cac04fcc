-- The published zone per origin: its serial and content, so a restart keeps
-- the serial when nothing changed and moves it forward when something did.
CREATE TABLE zone_state (
    zone        TEXT    PRIMARY KEY NOT NULL,
    serial      INTEGER NOT NULL,
    content     TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
