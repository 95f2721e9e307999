//! The "ordinary" SDK function of the cold-start benchmark: what a typical
//! project writes for the same job. `aws_config::load_defaults`, the three
//! SDK clients with their default features, the multi-thread runtime,
//! lambda_runtime's default tracing subscriber, and per S3 record, one after
//! the other: HeadObject, StartUserImportJob with the IDs from the object's
//! metadata, PutEvents of the job record. SQS batches of S3 notifications are
//! handled the same way, record by record. No cleverness.

use aws_config::BehaviorVersion;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use lambda_runtime::{service_fn, tracing, Error, LambdaEvent};
use serde_json::{json, Value};

struct Clients {
    s3: aws_sdk_s3::Client,
    cognito: aws_sdk_cognitoidentityprovider::Client,
    events: aws_sdk_eventbridge::Client,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let clients = Clients {
        s3: aws_sdk_s3::Client::new(&config),
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
        events: aws_sdk_eventbridge::Client::new(&config),
    };
    let clients = &clients;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(clients, event.payload).await
    }))
    .await
}

async fn handle(clients: &Clients, event: Value) -> Result<Value, Error> {
    let records = event["Records"].as_array().cloned().unwrap_or_default();
    let is_sqs = records
        .first()
        .is_some_and(|record| record["eventSource"] == "aws:sqs");
    if !is_sqs {
        let mut results = Vec::new();
        for record in &records {
            results.push(start(clients, record).await?);
        }
        return Ok(json!({ "Results": results }));
    }
    for message in &records {
        let body: Value = serde_json::from_str(message["body"].as_str().unwrap_or("{}"))?;
        for record in body["Records"].as_array().cloned().unwrap_or_default() {
            start(clients, &record).await?;
        }
    }
    Ok(json!({ "batchItemFailures": [] }))
}

async fn start(clients: &Clients, record: &Value) -> Result<Value, Error> {
    let bucket = record["s3"]["bucket"]["name"].as_str().ok_or("no bucket")?;
    let key = url_decode(record["s3"]["object"]["key"].as_str().ok_or("no key")?);
    tracing::info!(bucket, key, "starting import");

    let head = clients
        .s3
        .head_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await?;
    let metadata = head.metadata().ok_or("no metadata")?;
    let pool_id = metadata.get("user-pool-id").ok_or("no user-pool-id")?;
    let job_id = metadata.get("job-id").ok_or("no job-id")?;

    let started = clients
        .cognito
        .start_user_import_job()
        .user_pool_id(pool_id)
        .job_id(job_id)
        .send()
        .await?;
    let job = started.user_import_job().ok_or("no job")?;
    let detail = json!({
        "UserImportJob": {
            "JobName": job.job_name(),
            "JobId": job.job_id(),
            "UserPoolId": job.user_pool_id(),
            "Status": job.status().map(|status| status.as_str()),
        },
        "Object": { "Bucket": bucket, "Key": key },
    });

    let entry = PutEventsRequestEntry::builder()
        .source("cognito-import-starter")
        .detail_type("User Import Job Started")
        .detail(detail.to_string())
        .event_bus_name("default")
        .build();
    let put = clients.events.put_events().entries(entry).send().await?;
    if put.failed_entry_count() > 0 {
        return Err("PutEvents failed".into());
    }
    Ok(json!({
        "Outcome": "Started", "Bucket": bucket, "Key": key,
        "UserPoolId": pool_id, "JobId": job_id,
        "Status": job.status().map(|status| status.as_str()),
    }))
}

/// S3 notifications URL-encode keys, with `+` for a space.
fn url_decode(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match key.get(i + 1..i + 3).map(|hex| u8::from_str_radix(hex, 16)) {
                Some(Ok(byte)) => {
                    out.push(byte);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
