//! What `import/` and `track/` both need of a drop: the names of its jobs
//! and the hash that ties them together (`names`), its stored plan of parts
//! (`plan`, `PartPlan`), its cutting into parts (`cut`), and the listing of a
//! pool's jobs that finds a drop's jobs by name (`jobs`).

pub mod cut;
pub mod jobs;
pub mod names;
pub mod plan;
