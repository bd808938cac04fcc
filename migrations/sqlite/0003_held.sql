-- An assignment in phase 'active' is held (its agent reported holding the
-- role, or the host is static) or, with held = 0, arriving: given the role
-- and not yet published until its agent reports holding it. Rows written
-- before this column existed were published, so they start held.
-- Mirrored in ../postgres/0003_held.sql.
ALTER TABLE assignments ADD COLUMN held INTEGER NOT NULL DEFAULT 1 CHECK (held IN (0, 1));
