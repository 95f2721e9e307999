//! Starting the import of a resolved record: `start` (SPEC section 4: the
//! job the metadata names, exactly once in effect), and create mode
//! (section 10): `preflight` checks the file, `create` finds or creates the
//! job by a name derived from the object, `upload` puts the file to the
//! job's pre-signed URL. `jobs` lists a pool's jobs, `slot` finds the job
//! holding the account's one import slot (section 13). Each takes what `resolve` found and returns a
//! `Started` job or a `Failure` carrying what was known.

pub mod create;
pub mod jobs;
pub mod names;
pub mod parts;
pub mod preflight;
pub mod slot;
pub mod start;
