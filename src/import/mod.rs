//! Starting the import of a resolved record: `start` (SPEC section 4: the
//! job the metadata names, exactly once in effect), and create mode
//! (section 10): `preflight` checks the file, `create` finds or creates the
//! job by a name derived from the object, `upload` puts the file to the
//! job's pre-signed URL. Each takes what `resolve` found and returns a
//! `Started` job or a `Failure` carrying what was known.

pub mod create;
pub mod preflight;
pub mod start;
pub mod upload;
