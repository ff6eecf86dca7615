-- DESIGN.md §2: a keyed hash (HMAC-SHA256 under a per-project key kept in the keychain) of each
-- secret's value, recorded by `secrets set`, so `validate` and the config gate can tell that two
-- envs hold the same value without opening the keychain. NULL: set before hashes were kept.
ALTER TABLE secrets ADD COLUMN value_hash TEXT;
