//! The deadline cells: the Lambda deadline ends the record (a batch that
//! does not fit, a call that hangs past it).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cis_emulator::{Emulator, Fault, FaultAction};
use cis_testkit::{app_for, s3_event, sqs_event, test_config, BUCKET, POOL};
use cognito_import_starter::Config;
use lambda_runtime::Context;
use serde_json::{json, Value};

use crate::start::{brief, fresh_announcements, invoke, of_type, when};
use crate::tables::{is_permanent, COMPLETED, KEY, MAX_ATTEMPTS, STARTED, START_FAILED};

/// A context whose deadline is `ms` milliseconds ahead.
pub fn context_with_deadline(ms: u64) -> (Context, Instant) {
    let mut context = Context::default();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    context.deadline = (now + Duration::from_millis(ms)).as_millis() as u64;
    (context, Instant::now() + Duration::from_millis(ms))
}

/// SDK timeouts longer than the deadline: only the deadline can end it.
pub fn deadline_config(max_concurrency: usize) -> Config {
    let mut config = test_config();
    config.max_concurrency = max_concurrency;
    config.timeouts.connect = Duration::from_secs(2);
    config.timeouts.attempt = Duration::from_secs(3);
    config.timeouts.operation = Duration::from_secs(5);
    config
}

pub struct DeadlineReport {
    pub label: &'static str,
    pub text: String,
    pub violations: Vec<String>,
}

pub const DEADLINE_RECORDS: usize = 5;

pub const DEADLINE_MS: u64 = 2000;

pub const START_DELAY: Duration = Duration::from_millis(600);

pub fn deadline_key(i: usize) -> String {
    format!("deadline/users-{i}.csv")
}

/// Every seeded job started once and announced.
pub fn check_all_started(emulator: &Emulator, violations: &mut Vec<String>) {
    let started = of_type(&emulator.events(), STARTED);
    // Jobs are named by their position (seeded in record order): their
    // IDs are random and the report is deterministic.
    for (i, job) in emulator.jobs().into_iter().enumerate() {
        if job.status == "Created" {
            violations.push(format!("redelivery: the job of record {i} never started"));
            continue;
        }
        let of_job: Vec<_> = started
            .iter()
            .filter(|e| e.detail["UserImportJob"]["JobId"] == json!(job.job_id))
            .collect();
        if of_job.is_empty() {
            violations.push(format!(
                "the job of record {i} started without a Started event"
            ));
        }
        let fresh = fresh_announcements(of_job.iter().copied());
        if fresh > 1 {
            violations.push(format!(
                "the job of record {i} announced as started {fresh} times"
            ));
        }
    }
}

/// 5 records, MAX_CONCURRENCY=1, each start delayed: not all fit before
/// the deadline. `sqs`: one message per record.
pub async fn deadline_batch(sqs: bool) -> DeadlineReport {
    let label = if sqs {
        "SQS, 5 messages, MAX_CONCURRENCY=1, StartUserImportJob delayed 600 ms, deadline in 2 s"
    } else {
        "S3, 5 records, MAX_CONCURRENCY=1, StartUserImportJob delayed 600 ms, deadline in 2 s"
    };
    let emulator = Emulator::start().await.expect("emulator starts");
    let app = app_for(&emulator, deadline_config(1), MAX_ATTEMPTS).await;
    let keys: Vec<String> = (0..DEADLINE_RECORDS).map(deadline_key).collect();
    for key in &keys {
        let job = emulator.create_import_job(POOL, "nightly", true);
        emulator.put_object(
            BUCKET,
            key,
            "cognito:username\n",
            &[("user-pool-id", POOL), ("job-id", &job.job_id)],
        );
    }
    let records: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| ("ObjectCreated:Put", k.as_str()))
        .collect();
    let ids: Vec<String> = (0..DEADLINE_RECORDS).map(|i| format!("m-{i}")).collect();
    let messages: Vec<(&str, Value)> = ids
        .iter()
        .zip(&keys)
        .map(|(id, k)| (id.as_str(), s3_event(&[("ObjectCreated:Put", k.as_str())])))
        .collect();
    let payload = if sqs {
        sqs_event(&messages)
    } else {
        s3_event(&records)
    };
    emulator.inject(Fault::new(
        "StartUserImportJob",
        FaultAction::Delay(START_DELAY),
    ));

    let mut violations = Vec::new();
    let (context, deadline) = context_with_deadline(DEADLINE_MS);
    let first = invoke(&app, &payload, context).await;
    let late = Instant::now().checked_duration_since(deadline);
    if let Some(late) = late {
        eprintln!("{label}: answered {late:?} after the deadline");
        violations.push("answered after the deadline".into());
    }
    let first_text;
    let mut redeliver = Some(payload.clone());
    if sqs {
        match &first {
            Ok(v) => {
                let listed: Vec<String> = v["batchItemFailures"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if listed.is_empty() {
                    violations.push("nothing listed though not all records fit".into());
                }
                // Every message not listed has its Started event out.
                let started = of_type(&emulator.events(), STARTED);
                for (id, key) in ids.iter().zip(&keys) {
                    let announced = started
                        .iter()
                        .any(|e| e.detail["Object"]["Key"] == json!(key));
                    if !listed.contains(id) && !announced {
                        violations.push(format!("{id} not listed and nothing published: lost"));
                    }
                }
                let again: Vec<(&str, Value)> = messages
                    .iter()
                    .filter(|(id, _)| listed.iter().any(|l| l == id))
                    .cloned()
                    .collect();
                // Nothing listed: nothing comes again.
                redeliver = (!again.is_empty()).then(|| sqs_event(&again));
                first_text = "unfinished messages listed".to_string();
            }
            Err(e) => {
                violations.push(format!("the whole batch failed ({})", e.error_type()));
                first_text = format!("✗ batch failed {}", e.error_type());
            }
        }
    } else {
        match &first {
            Err(e) if e.error_type() == "ServiceUnavailable" => {
                first_text = "ServiceUnavailable".to_string()
            }
            Err(e) => {
                violations.push(format!(
                    "unfinished records failed as {}, not ServiceUnavailable",
                    e.error_type()
                ));
                first_text = format!("✗ {}", e.error_type());
            }
            Ok(v) => {
                let outcomes: Vec<&str> = v["Results"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .map(|x| x["Outcome"].as_str().unwrap_or("?"))
                            .collect()
                    })
                    .unwrap_or_default();
                violations.push(format!(
                    "a summary though not all records fit: {outcomes:?}"
                ));
                first_text = "✗ summary".to_string();
            }
        }
    }
    let failure_events = of_type(&emulator.events(), START_FAILED);
    if !failure_events.is_empty() {
        violations.push("a failure event for a record the deadline ended".into());
    }

    emulator.clear_faults();
    let again = match &redeliver {
        Some(payload) => invoke(&app, payload, Context::default()).await,
        None => Ok(json!({"batchItemFailures": []})),
    };
    let again_ok = match (&again, sqs) {
        (Ok(v), true) => v["batchItemFailures"].as_array().is_some_and(Vec::is_empty),
        (Ok(v), false) => v["Results"].as_array().is_some_and(|r| {
            r.len() == DEADLINE_RECORDS
                && r.iter()
                    .all(|x| matches!(x["Outcome"].as_str(), Some("Started" | "AlreadyStarted")))
        }),
        (Err(_), _) => false,
    };
    if !again_ok {
        violations.push(format!("redelivery did not complete: {}", brief(&again)));
    }
    check_all_started(&emulator, &mut violations);
    let mark = if violations.is_empty() { "" } else { "✗ " };
    let what = if sqs {
        "the listed messages"
    } else {
        "the event"
    };
    DeadlineReport {
        label,
        text: format!(
            "{mark}{}: {first_text}; {what} redelivered → all 5 started once and announced",
            when(late)
        ),
        violations,
    }
}

/// One record whose call hangs, SDK timeouts longer than the deadline.
pub async fn deadline_hang(track: bool) -> DeadlineReport {
    let label = if track {
        "direct Track, DescribeUserImportJob hangs, SDK timeouts 3 s/5 s, deadline in 1.5 s"
    } else {
        "direct `{\"Bucket\",\"Key\"}`, StartUserImportJob hangs, SDK timeouts 3 s/5 s, deadline in 1.5 s"
    };
    let emulator = Emulator::start().await.expect("emulator starts");
    let app = app_for(&emulator, deadline_config(10), MAX_ATTEMPTS).await;
    let job = emulator.create_import_job(POOL, "nightly", true);
    let payload = if track {
        emulator.create_user_pool(POOL, "customers", &[]);
        emulator.finish_job(POOL, &job.job_id, "Succeeded", 2, 0, 0, "done");
        emulator.inject(Fault::new("DescribeUserImportJob", FaultAction::Hang));
        json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id})
    } else {
        emulator.put_object(
            BUCKET,
            KEY,
            "cognito:username\n",
            &[("user-pool-id", POOL), ("job-id", &job.job_id)],
        );
        emulator.inject(Fault::new("StartUserImportJob", FaultAction::Hang));
        json!({"Bucket": BUCKET, "Key": KEY})
    };

    let mut violations = Vec::new();
    let (context, deadline) = context_with_deadline(1500);
    let first = invoke(&app, &payload, context).await;
    let late = Instant::now().checked_duration_since(deadline);
    if let Some(late) = late {
        eprintln!("{label}: answered {late:?} after the deadline");
        violations.push("answered after the deadline".into());
    }
    let first_text = match &first {
        Err(e) if !is_permanent(e.error_type()) => e.error_type().to_string(),
        Err(e) => {
            violations.push(format!("a permanent {} for a hang", e.error_type()));
            format!("✗ {}", e.error_type())
        }
        Ok(v) => {
            violations.push(format!("answered {} though the call hung", brief(&first)));
            let _ = v;
            "✗ success".to_string()
        }
    };
    if track && !of_type(&emulator.events(), COMPLETED).is_empty() {
        violations.push("a Completed event though Track failed".into());
    }

    emulator.clear_faults();
    let again = invoke(&app, &payload, Context::default()).await;
    let ok = match &again {
        Ok(v) if track => v["Terminal"] == json!(true),
        Ok(v) => v["UserImportJob"]["Status"].is_string(),
        Err(_) => false,
    };
    if !ok {
        violations.push(format!("redelivery did not complete: {}", brief(&again)));
    }
    let outcome = if track {
        if of_type(&emulator.events(), COMPLETED).is_empty() {
            violations.push("redelivery published no Completed event".into());
        }
        "Completed"
    } else {
        check_all_started(&emulator, &mut violations);
        "Started"
    };
    let mark = if violations.is_empty() { "" } else { "✗ " };
    DeadlineReport {
        label,
        text: format!("{mark}{}: {first_text}, retried → {outcome}", when(late)),
        violations,
    }
}
