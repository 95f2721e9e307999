//! Starting the import of a resolved record: `start` (SPEC section 4: the
//! job the metadata names, exactly once in effect), and create mode
//! (section 10): `preflight` checks the file, `create` finds or creates the
//! job by a name derived from the object and uploads the file to it,
//! `parts` imports a drop by its plan (section 14), and `slot` finds the job
//! holding the account's one import slot (section 13). What `track/` needs
//! too of a drop (its names, its plan, its cutting, the listing of a pool's
//! jobs) is in `drops/`. Each takes what `resolve` found and returns a
//! `Started` job or a `Failure` carrying what was known.

pub mod create;
pub mod parts;
pub mod preflight;
pub mod slot;
pub mod start;
