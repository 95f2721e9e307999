//! The local runner's library, for its binary (`src/main.rs`) and its tests
//! (`tests/`): seeds the emulator so that a sample event succeeds, runs the
//! real handler on it, and follows the jobs it started to their end
//! ([`follow`]). A crate of its own, so the function's crate never depends
//! on the emulator.

use cis_emulator::{
    valid_csv, Emulator, ImportRun, ObjectContent, PutEventEntry, DEFAULT_CSV_HEADER,
};
use cognito_import_starter::model::WorkItem;
use cognito_import_starter::trigger::{self, AddToGroups, Invocation};
use cognito_import_starter::{App, Config, ImportError};

pub mod queue;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

/// The user pool that seeded objects name when a sample does not.
pub const SAMPLE_POOL: &str = "us-east-1_EXAMPLE01";

/// The user already in [`SAMPLE_POOL`] when a "bad rows" sample is seeded:
/// its row in [`bad_rows_csv`] is skipped.
pub const EXISTING_USER: &str = "jdoe";

/// Makes every object and job the event names exist, as a platform team
/// would have left them: an object (a valid CSV) whose metadata names a pool
/// and a job in `Created` with that CSV uploaded; in create mode the object
/// names only the pool. An object whose file name starts with `bad-rows`
/// holds [`bad_rows_csv`] instead, and the pool already has
/// [`EXISTING_USER`]. Track samples get a finished job.
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
            // Cognito's per-user lines for the user skipped and the one that
            // failed (SPEC section 12), so that Track finds its log complete.
            emulator.put_log_events(
                &format!("/aws/cognito/userpools/{user_pool_id}/example-pool"),
                &format!("{job_id}/example-import"),
                &[
                    "[SKIPPED] Line Number 7 - The user already exists.",
                    "[FAILED] Line Number 42 - Invalid email address format.",
                ],
            );
            return;
        }
        Ok(Invocation::AddToGroups(request)) => {
            seed_groups_job(emulator, config, &request);
            return;
        }
        Err(_) => return,
    };
    for item in items {
        seed_item(emulator, config, item);
    }
}

/// An `AddToGroups` sample's job, finished: its object holds
/// [`groups_csv`] and its metadata names the job (so the object is the
/// job's), the pool has [`SAMPLE_GROUPS`] and the users the job created,
/// and the job's log holds a line for every row.
fn seed_groups_job(emulator: &Emulator, config: &Config, request: &AddToGroups) {
    let (pool, job) = (request.user_pool_id.as_str(), request.job_id.as_str());
    emulator.create_user_pool(pool, "example-pool", DEFAULT_CSV_HEADER);
    for group in SAMPLE_GROUPS {
        emulator.create_group(pool, group);
    }
    for user in ["ana", "ben", EXISTING_USER] {
        emulator.add_user(pool, user);
    }
    let metadata = [
        (config.pool_id_metadata_key.as_str(), pool),
        (config.job_id_metadata_key.as_str(), job),
    ];
    let object = &request.object;
    emulator.put_object(&object.bucket, &object.key, groups_csv(), &metadata);
    emulator.insert_import_job(pool, job, "example-import", true);
    emulator.finish_job(
        pool,
        job,
        "Succeeded",
        2,
        1,
        1,
        "Import Job Completed Successfully.",
    );
    emulator.put_log_events(
        &format!("/aws/cognito/userpools/{pool}/example-pool"),
        &format!("{job}/example-import"),
        &[
            "[SUCCEEDED] Line Number 1 - The import succeeded.",
            "[SUCCEEDED] Line Number 2 - The import succeeded.",
            "[SKIPPED] Line Number 3 - The user already exists.",
            "[FAILED] Line Number 4 - Invalid email address format.",
        ],
    );
}

fn seed_item(emulator: &Emulator, config: &Config, item: WorkItem) {
    match item {
        WorkItem::Object(object) => {
            let pool_key = config.pool_id_metadata_key.as_str();
            let job_key = config.job_id_metadata_key.as_str();
            emulator.create_user_pool(SAMPLE_POOL, "example-pool", DEFAULT_CSV_HEADER);
            let file_name = object.key.rsplit('/').next().unwrap_or_default();
            let hashes = file_name.starts_with("password-hashes");
            let body = if hashes {
                password_hashes_csv()
            } else if file_name.starts_with("groups") {
                emulator.add_user(SAMPLE_POOL, EXISTING_USER);
                for group in SAMPLE_GROUPS {
                    emulator.create_group(SAMPLE_POOL, group);
                }
                groups_csv()
            } else if file_name.starts_with("bad-rows") {
                emulator.add_user(SAMPLE_POOL, EXISTING_USER);
                bad_rows_csv()
            } else if is_parts_file(&object.key) {
                emulator.add_user(SAMPLE_POOL, EXISTING_USER);
                three_parts_csv()
            } else if file_name.starts_with("wave-") {
                // The queued drops: users of their own, so that each imports.
                let stem = file_name.trim_end_matches(".csv");
                valid_csv(&[&format!("{stem}-a"), &format!("{stem}-b")])
            } else {
                valid_csv(&["jdoe", "asmith"])
            };
            // Create mode (SPEC section 10): the object names only the pool.
            let job = config.cloudwatch_logs_role_arn.is_none().then(|| {
                let job = emulator.create_import_job(SAMPLE_POOL, "example-import", true);
                // The bytes "uploaded" before, so that the job can be run.
                emulator.set_job_csv(SAMPLE_POOL, &job.job_id, body.clone());
                if hashes {
                    emulator.set_job_password_algorithm(SAMPLE_POOL, &job.job_id, Some("BCRYPT"));
                }
                job
            });
            let mut metadata = vec![(pool_key, SAMPLE_POOL)];
            if hashes && job.is_none() {
                // Create mode: the metadata names the algorithm (SPEC section 15).
                metadata.push((config.password_algorithm_metadata_key.as_str(), "bcrypt"));
            }
            if let Some(job) = &job {
                metadata.push((job_key, job.job_id.as_str()));
            }
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
            let (pool_id, job_id) = (user_pool_id.trim(), job_id.trim());
            emulator.insert_import_job(pool_id, job_id, "example-import", true);
            emulator.set_job_csv(pool_id, job_id, valid_csv(&["jdoe", "asmith"]));
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

/// A file that passes the function's preflight (SPEC section 10) but not
/// all of Cognito's own checks, for [`SAMPLE_POOL`] with [`EXISTING_USER`]:
/// 6 data rows; lines 1, 4 and 6 import, line 2 is [`EXISTING_USER`]
/// (skipped), line 3 has a malformed email and line 5 a phone number not in
/// E.164 (both failed).
pub fn bad_rows_csv() -> String {
    let rows: [&[(&str, &str)]; 6] = [
        &[
            ("cognito:username", "mgarcia"),
            ("email", "mgarcia@example.com"),
            ("email_verified", "true"),
            ("name", "Garcia\\, Maria"),
        ],
        &[
            ("cognito:username", EXISTING_USER),
            ("email", "jdoe@example.com"),
            ("email_verified", "true"),
        ],
        &[
            ("cognito:username", "pchen"),
            ("email", "bad-email"),
            ("email_verified", "true"),
        ],
        &[
            ("cognito:username", "asmith"),
            ("email", "asmith@example.com"),
            ("email_verified", "true"),
        ],
        &[
            ("cognito:username", "lnguyen"),
            ("phone_number", "555-0100"),
            ("phone_number_verified", "true"),
        ],
        &[
            ("cognito:username", "rpatel"),
            ("phone_number", "+14155550123"),
            ("phone_number_verified", "true"),
        ],
    ];
    let mut text = DEFAULT_CSV_HEADER.join(",");
    for row in rows {
        let fields: Vec<&str> = DEFAULT_CSV_HEADER
            .iter()
            .map(|column| {
                let given = row.iter().find(|(name, _)| name == column);
                match (given, *column) {
                    (Some((_, value)), _) => value,
                    (None, "email_verified" | "phone_number_verified" | "cognito:mfa_enabled") => {
                        "false"
                    }
                    (None, _) => "",
                }
            })
            .collect();
        text.push('\n');
        text.push_str(&fields.join(","));
    }
    text.push('\n');
    text
}

/// Bcrypt hashes, as most web frameworks store them (cost 10), for the
/// "password hashes" sample (SPEC section 15).
const SAMPLE_BCRYPT: [&str; 2] = [
    "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
    "$2y$10$abcdefghijklmnopqrstuuFwq1Nw7/D7y2.QwT9oCyEJB.r5bR5Ua",
];

/// Four users with a `password_hash` column: `ana` and `cai` have bcrypt
/// hashes (created `CONFIRMED`, they sign in with their old passwords),
/// `ben` and `dev` none (created `RESET_REQUIRED`).
pub fn password_hashes_csv() -> String {
    let hashes = [SAMPLE_BCRYPT[0], "", SAMPLE_BCRYPT[1], ""];
    let users = ["ana", "ben", "cai", "dev"];
    let mut lines = valid_csv(&users)
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    lines[0].push_str(",password_hash");
    for (line, hash) in lines[1..].iter_mut().zip(hashes) {
        line.push(',');
        line.push_str(hash);
    }
    lines.join("\n") + "\n"
}

/// The groups [`SAMPLE_POOL`] has when the "groups" sample is seeded.
pub const SAMPLE_GROUPS: [&str; 3] = ["admins", "editors", "support"];

/// Four users with a `cognito:groups` column (SPEC section 17): `ana` in two
/// groups, `ben` in none, [`EXISTING_USER`] (skipped: it exists, and still
/// gets its group) and `dev`, whose malformed email fails its import, so it
/// gets no membership.
pub fn groups_csv() -> String {
    let groups = ["admins editors", "", "support", "editors"];
    let users = ["ana", "ben", EXISTING_USER, "dev"];
    let text = valid_csv(&users).replace("dev@example.com", "dev-at-example.com");
    let mut lines = text.lines().map(str::to_string).collect::<Vec<_>>();
    lines[0].push_str(",cognito:groups");
    for (line, names) in lines[1..].iter_mut().zip(groups) {
        line.push(',');
        line.push_str(names);
    }
    lines.join("\n") + "\n"
}

/// Each user of the job's uploaded CSV and the status its import gave it
/// (`None`: not created), in file order.
pub fn user_statuses(
    emulator: &Emulator,
    pool_id: &str,
    job_id: &str,
) -> Vec<(String, Option<String>)> {
    use cognito_import_starter::csv_check::lines::fields;
    let Some(csv) = emulator.uploaded_csv(pool_id, job_id) else {
        return Vec::new();
    };
    let mut lines = csv
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let Some(column) = lines
        .next()
        .and_then(|header| fields(header).position(|name| &*name == b"cognito:username"))
    else {
        return Vec::new();
    };
    lines
        .filter(|line| !line.is_empty())
        .filter_map(|line| fields(line).nth(column))
        .map(|name| {
            let name = String::from_utf8_lossy(&name).into_owned();
            let status = emulator.user_status(pool_id, &name);
            (name, status)
        })
        .collect()
}

/// A sample's file that is imported in parts (SPEC section 14): its name
/// starts with `three-parts`.
pub fn is_parts_file(key: &str) -> bool {
    key.rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with("three-parts"))
}

/// Whether a sample drops a file in parts: the local runner then uses
/// create mode and [`PARTS_DEMO_ROWS`] rows a part unless the environment
/// says otherwise.
pub fn drops_parts(event: &Value) -> bool {
    let items = match trigger::parse(event) {
        Ok(Invocation::Summary(items)) => items,
        Ok(Invocation::Sqs(messages)) => messages.into_iter().flat_map(|m| m.items).collect(),
        Ok(Invocation::Direct(item)) => vec![item],
        _ => Vec::new(),
    };
    items
        .iter()
        .any(|item| matches!(item, WorkItem::Object(o) if is_parts_file(&o.key)))
}

/// `PART_MAX_ROWS` of the parts demo: 9 rows make 3 parts.
pub const PARTS_DEMO_ROWS: &str = "3";

/// Nine users, three parts of three: line 5 (part 2) has a malformed email
/// (`[FAILED]`), line 8 (part 3) is [`EXISTING_USER`] (`[SKIPPED]`).
pub fn three_parts_csv() -> String {
    let users = [
        "ana",
        "ben",
        "cai",
        "dev",
        "eli",
        "fay",
        "gus",
        EXISTING_USER,
        "ivy",
    ];
    valid_csv(&users).replace("eli@example.com", "eli-at-example.com")
}

/// Where the function writes a job's result files unless `RESULTS_PREFIX`
/// says otherwise (SPEC section 12).
pub const DEFAULT_RESULTS_PREFIX: &str = "results/";

/// One started job followed to its end.
#[derive(Debug)]
pub struct Followed {
    pub user_pool_id: String,
    pub job_id: String,
    /// The emulated Cognito's run of the job (or why it could not run).
    pub run: Result<ImportRun, String>,
    /// The `Track` invocation sent to the handler.
    pub track_event: Value,
    pub track: Result<Value, ImportError>,
    /// The events the emulator accepted during `Track`.
    pub events: Vec<PutEventEntry>,
    /// The bucket of the Started event's `Object`, where the result files
    /// go (`None` for a job started by IDs).
    pub bucket: Option<String>,
    /// `<prefix><job id>/failed.csv` and `report.csv`, with what the
    /// emulator's S3 holds there (`None`: not written).
    pub failed_rows: Option<(String, Option<ObjectContent>)>,
    pub report: Option<(String, Option<ObjectContent>)>,
    /// A job with a password hashing algorithm (SPEC section 15): its
    /// algorithm, and each user with the status the import gave it.
    pub passwords: Option<(String, UserStatuses)>,
    /// A job whose Started event names `Groups` (SPEC section 17): the
    /// `AddToGroups` calls the state machine would make after Track.
    pub groups: Option<GroupsFollowed>,
}

/// The `AddToGroups` loop of one job, as the template's state machine runs
/// it: each call's request and response, the events emitted, each user's
/// groups afterwards and `groups-failed.csv`.
#[derive(Debug)]
pub struct GroupsFollowed {
    pub calls: Vec<(Value, Result<Value, ImportError>)>,
    pub events: Vec<PutEventEntry>,
    pub memberships: Vec<(String, Vec<String>)>,
    pub failed: Option<(String, Option<ObjectContent>)>,
}

/// More calls than any sample needs; a loop that never says `Done` stops here.
const MAX_GROUPS_CALLS: usize = 20;

/// Each user of a job's file and the status its import gave it (`None`:
/// not created), in file order.
pub type UserStatuses = Vec<(String, Option<String>)>;

/// Follows every job a `User Import Job Started` event in `events` names,
/// as the template's state machine would once Cognito is done: runs it in
/// the emulator ([`Emulator::run_import_job`]), invokes the handler with
/// `{"Action": "Track", "UserPoolId", "JobId", "Object", "Part"}` (the
/// Started event's), and reads the result files under `results_prefix` in
/// the object's bucket.
pub async fn follow(
    app: &App,
    emulator: &Emulator,
    events: &[PutEventEntry],
    results_prefix: &str,
) -> Vec<Followed> {
    track_started(app, emulator, events, results_prefix, true).await
}

/// Tracks every job a Started event in `events` names, jobs that ran on
/// their own (the drop queue's run): `run` holds the job as it ended and
/// the lines its log holds.
pub async fn track_each(
    app: &App,
    emulator: &Emulator,
    events: &[PutEventEntry],
    results_prefix: &str,
) -> Vec<Followed> {
    track_started(app, emulator, events, results_prefix, false).await
}

/// Each job once: run in the emulator first (`run_them`), or found ended.
async fn track_started(
    app: &App,
    emulator: &Emulator,
    events: &[PutEventEntry],
    results_prefix: &str,
    run_them: bool,
) -> Vec<Followed> {
    let mut followed: Vec<Followed> = Vec::new();
    for started in started_jobs(events) {
        let (pool_id, job_id) = ids_of(started);
        if followed
            .iter()
            .any(|f| f.user_pool_id == pool_id && f.job_id == job_id)
        {
            continue;
        }
        let run = match run_them {
            true => emulator.run_import_job(&pool_id, &job_id),
            false => Err(String::new()),
        };
        let mut tracked = track_one(app, emulator, started, results_prefix, run).await;
        if !run_them {
            tracked.run = ended(emulator, &tracked);
        }
        followed.push(tracked);
    }
    followed
}

fn started_jobs(events: &[PutEventEntry]) -> impl Iterator<Item = &PutEventEntry> {
    events
        .iter()
        .filter(|e| e.detail_type == "User Import Job Started")
        .filter(|e| e.detail["UserImportJob"]["JobId"].is_string())
}

fn ids_of(started: &PutEventEntry) -> (String, String) {
    let job = &started.detail["UserImportJob"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (text(&job["UserPoolId"]), text(&job["JobId"]))
}

/// A job that ran on its own, as it ended, with its log (found where the
/// Completed event says it is).
fn ended(emulator: &Emulator, tracked: &Followed) -> Result<ImportRun, String> {
    let job = emulator
        .job(&tracked.user_pool_id, &tracked.job_id)
        .ok_or_else(|| "the job is gone".to_string())?;
    let logs = tracked
        .events
        .iter()
        .find(|e| e.detail_type == "User Import Job Completed")
        .map(|e| e.detail["Logs"].clone())
        .ok_or_else(|| format!("not ended yet ({})", job.status))?;
    let group = logs["LogGroup"].as_str().unwrap_or_default().to_string();
    let stream = logs["LogStream"].as_str().unwrap_or_default().to_string();
    Ok(ImportRun {
        lines: emulator.log_events(&group, &stream),
        job,
        log_group: group,
        log_stream: stream,
        held_back: 0,
    })
}

async fn track_one(
    app: &App,
    emulator: &Emulator,
    started: &PutEventEntry,
    results_prefix: &str,
    run: Result<ImportRun, String>,
) -> Followed {
    let (pool_id, job_id) = ids_of(started);
    let mut track_event = serde_json::json!({
        "Action": "Track",
        "UserPoolId": pool_id,
        "JobId": job_id,
    });
    let object = started.detail.get("Object").filter(|o| o.is_object());
    if let Some(object) = object {
        track_event["Object"] = object.clone();
    }
    if let Some(part) = started.detail.get("Part").filter(|p| p.is_object()) {
        track_event["Part"] = part.clone();
    }
    let (track, events) = invoke(app, emulator, track_event.clone()).await;
    let bucket = object
        .and_then(|o| o["Bucket"].as_str())
        .map(str::to_string);
    let read = |name: &str| {
        bucket.as_ref().map(|bucket| {
            let key = format!("{results_prefix}{job_id}/{name}");
            let content = emulator.object(bucket, &key);
            (key, content)
        })
    };
    let passwords = emulator
        .job(&pool_id, &job_id)
        .and_then(|job| job.password_hashing_algorithm)
        .map(|algorithm| (algorithm, user_statuses(emulator, &pool_id, &job_id)));
    let groups = match started.detail.get("Groups").is_some_and(Value::is_object) {
        true => Some(add_to_groups(app, emulator, &track_event, &pool_id, &job_id).await),
        false => None,
    };
    let groups = groups.map(|mut g| {
        g.failed = read("groups-failed.csv");
        g
    });
    Followed {
        groups,
        passwords,
        failed_rows: read("failed.csv"),
        report: read("report.csv"),
        user_pool_id: pool_id,
        job_id,
        run,
        track_event,
        track,
        events,
        bucket,
    }
}

/// `{"Action": "AddToGroups", ...}` with the Track call's ids, object and
/// part, called again with the returned `From` until `Done` (or an error).
async fn add_to_groups(
    app: &App,
    emulator: &Emulator,
    track_event: &Value,
    pool_id: &str,
    job_id: &str,
) -> GroupsFollowed {
    let mut request = track_event.clone();
    request["Action"] = "AddToGroups".into();
    let before = emulator.events().len();
    let mut calls = Vec::new();
    while calls.len() < MAX_GROUPS_CALLS {
        let (result, _) = invoke(app, emulator, request.clone()).await;
        let next = match &result {
            Ok(answer) if answer["Done"] == Value::Bool(false) => answer.get("From").cloned(),
            _ => None,
        };
        calls.push((request.clone(), result));
        let Some(from) = next else { break };
        request["From"] = from;
    }
    let memberships = user_statuses(emulator, pool_id, job_id)
        .into_iter()
        .map(|(user, _)| {
            let groups = emulator.user_groups(pool_id, &user);
            (user, groups)
        })
        .collect();
    GroupsFollowed {
        calls,
        events: emulator.events().into_iter().skip(before).collect(),
        memberships,
        failed: None,
    }
}
