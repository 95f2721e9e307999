//! The end of a record's path: the events it publishes to EventBridge
//! (`events`), and how the records of an invocation become its answer
//! (`outcome`): a summary, `batchItemFailures`, the direct response, or the
//! invocation's error, so that a delivery that must come again does; a
//! queued message that waits gets its visibility set (`visibility`); every
//! record and completed job is counted in CloudWatch metrics (`metrics`).

pub mod events;
pub mod metrics;
pub mod outcome;
pub mod visibility;

pub use events::{
    completed, groups_added, publish, start_failed, started, Completion, Event, JobStart,
    COMPLETED, GROUPS_ADDED, STARTED, START_FAILED,
};
