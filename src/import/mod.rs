//! Starting the import of a resolved record: `start` (SPEC section 4: the
//! job the metadata names, exactly once in effect), and create mode
//! (section 10): `create` takes a drop in, `preflight` checks the file, `job`
//! owns the lifecycle of a drop's job (found by a name derived from the
//! object, or created, uploaded to, started), `single` imports a drop of
//! one part without a plan, `parts` a drop by its plan (section 14), and
//! `slot` finds the job
//! holding the account's one import slot (section 13). What `track/` needs
//! too of a drop (its names, its plan, its cutting, the listing of a pool's
//! jobs) is in `drops/`. Each takes what `resolve` found and returns a
//! `Started` job or a `Failure` carrying what was known.

pub mod create;
pub mod job;
pub mod parts;
pub mod preflight;
pub mod single;
pub mod slot;
pub mod start;
