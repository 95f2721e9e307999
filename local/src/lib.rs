//! The local runner's library, for its binary (`src/main.rs`) and the
//! `events/` test (`tests/events_dir.rs`): seeds the emulator so that a
//! sample event succeeds, and runs the real handler on it. A crate of its
//! own, so the function's crate never depends on the emulator.

use cis_emulator::{valid_csv, Emulator, PutEventEntry, DEFAULT_CSV_HEADER};
use cognito_import_starter::model::WorkItem;
use cognito_import_starter::trigger::{self, Invocation};
use cognito_import_starter::{App, Config, ImportError};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

/// The user pool that seeded objects name when a sample does not.
pub const SAMPLE_POOL: &str = "us-east-1_EXAMPLE01";

/// Makes every object and job the event names exist, as a platform team
/// would have left them: an object (a valid CSV) whose metadata names a pool
/// and a job in `Created` with its CSV uploaded; in create mode the object
/// names only the pool. Track samples get a finished job.
pub fn seed_for(emulator: &Emulator, config: &Config, event: &Value) {
    let items = match trigger::parse(event) {
        Ok(Invocation::Summary(items)) => items,
        Ok(Invocation::Sqs(messages)) => messages.into_iter().flat_map(|m| m.items).collect(),
        Ok(Invocation::Direct(item)) => vec![item],
        Ok(Invocation::Track {
            user_pool_id,
            job_id,
            ..
        }) => {
            emulator.create_user_pool(&user_pool_id, "example-pool", DEFAULT_CSV_HEADER);
            emulator.insert_import_job(&user_pool_id, &job_id, "example-import", true);
            emulator.finish_job(
                &user_pool_id,
                &job_id,
                "Succeeded",
                98,
                1,
                1,
                "Import Job Completed Successfully.",
            );
            return;
        }
        Err(_) => return,
    };
    for item in items {
        seed_item(emulator, config, item);
    }
}

fn seed_item(emulator: &Emulator, config: &Config, item: WorkItem) {
    match item {
        WorkItem::Object(object) => {
            let pool_key = config.pool_id_metadata_key.as_str();
            let job_key = config.job_id_metadata_key.as_str();
            emulator.create_user_pool(SAMPLE_POOL, "example-pool", DEFAULT_CSV_HEADER);
            // Create mode (SPEC section 10): the object names only the pool.
            let job = config
                .cloudwatch_logs_role_arn
                .is_none()
                .then(|| emulator.create_import_job(SAMPLE_POOL, "example-import", true));
            let mut metadata = vec![(pool_key, SAMPLE_POOL)];
            if let Some(job) = &job {
                metadata.push((job_key, job.job_id.as_str()));
            }
            let body = valid_csv(&["jdoe", "asmith"]);
            match &object.version_id {
                Some(version) => {
                    emulator.create_bucket(&object.bucket, true);
                    emulator.put_object_version(
                        &object.bucket,
                        &object.key,
                        version,
                        body,
                        &metadata,
                    );
                }
                None => {
                    emulator.put_object(&object.bucket, &object.key, body, &metadata);
                }
            }
        }
        WorkItem::Ids {
            user_pool_id,
            job_id,
        } => {
            emulator.insert_import_job(user_pool_id.trim(), job_id.trim(), "example-import", true);
        }
        WorkItem::Ignored { .. } | WorkItem::Invalid { .. } => {}
    }
}

/// Runs the real handler on `event` and returns its result and the events
/// the emulator accepted during the call.
pub async fn invoke(
    app: &App,
    emulator: &Emulator,
    event: Value,
) -> (Result<Value, ImportError>, Vec<PutEventEntry>) {
    let before = emulator.events().len();
    let result = app
        .handle(LambdaEvent::new(event, Context::default()))
        .await;
    let events = emulator.events().into_iter().skip(before).collect();
    (result, events)
}
