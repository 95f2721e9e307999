//! Cognito's one import job at a time per account, and jobs that run for a
//! while on their own, over the real SDK.

mod common;

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use cis_emulator::{valid_csv, Emulator};
use common::{clients, POOL};

const OTHER_POOL: &str = "us-east-1_Emulated2";

async fn start(emu: &Emulator, pool: &str, job: &str) -> Result<String, (String, String)> {
    clients(emu)
        .cognito
        .start_user_import_job()
        .user_pool_id(pool)
        .job_id(job)
        .send()
        .await
        .map(|out| {
            let status = out.user_import_job().and_then(|j| j.status());
            status.map(|s| s.as_str().to_string()).unwrap_or_default()
        })
        .map_err(|e| {
            (
                e.code().unwrap_or_default().to_string(),
                e.message().unwrap_or_default().to_string(),
            )
        })
}

#[tokio::test]
async fn a_second_start_is_refused_while_a_job_of_any_pool_is_active() {
    let emu = Emulator::start().await.unwrap();
    emu.enforce_one_active_job(true);
    let first = emu.create_import_job(POOL, "first", true);
    let second = emu.create_import_job(OTHER_POOL, "second", true);

    assert_eq!(start(&emu, POOL, &first.job_id).await, Ok("Pending".into()));
    let refused = start(&emu, OTHER_POOL, &second.job_id).await.unwrap_err();
    assert_eq!(refused.0, "PreconditionNotMetException");
    // The same answer as for a job without its CSV.
    assert_eq!(
        refused.1,
        format!("No csv file was uploaded for {}", second.job_id)
    );
    for status in ["InProgress", "Stopping"] {
        emu.set_job_status(POOL, &first.job_id, status);
        assert_eq!(
            start(&emu, OTHER_POOL, &second.job_id).await,
            Err(refused.clone()),
            "{status}"
        );
    }

    emu.set_job_status(POOL, &first.job_id, "Succeeded");
    assert_eq!(
        start(&emu, OTHER_POOL, &second.job_id).await,
        Ok("Pending".into())
    );
    assert_eq!(emu.successful_starts(OTHER_POOL, &second.job_id), 1);
    assert_eq!(emu.successful_starts(POOL, &second.job_id), 0);
    assert_eq!(emu.max_active_jobs(), 1);
}

#[tokio::test]
async fn without_the_rule_jobs_start_side_by_side() {
    let emu = Emulator::start().await.unwrap();
    let first = emu.create_import_job(POOL, "first", true);
    let second = emu.create_import_job(POOL, "second", true);
    assert_eq!(start(&emu, POOL, &first.job_id).await, Ok("Pending".into()));
    assert_eq!(
        start(&emu, POOL, &second.job_id).await,
        Ok("Pending".into())
    );
    assert_eq!(emu.max_active_jobs(), 2);
}

#[tokio::test]
async fn a_started_job_runs_for_its_run_time_then_ends_as_cognito_ends_it() {
    let emu = Emulator::start().await.unwrap();
    emu.set_job_run_time(Some(Duration::from_millis(200)));
    let job = emu.create_import_job(POOL, "timed", true);
    emu.set_job_csv(POOL, &job.job_id, valid_csv(&["ann", "ben"]));

    start(&emu, POOL, &job.job_id).await.unwrap();
    assert_eq!(emu.job(POOL, &job.job_id).unwrap().status, "Pending");
    tokio::time::sleep(Duration::from_millis(120)).await;
    let describe = |emu: &Emulator| {
        let c = clients(emu);
        let job_id = job.job_id.clone();
        async move {
            let out = c
                .cognito
                .describe_user_import_job()
                .user_pool_id(POOL)
                .job_id(job_id)
                .send()
                .await
                .unwrap();
            let j = out.user_import_job().unwrap();
            (j.status().unwrap().as_str().to_string(), j.imported_users())
        }
    };
    assert_eq!(describe(&emu).await, ("InProgress".to_string(), 0));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(describe(&emu).await, ("Succeeded".to_string(), 2));

    let ended = emu.job(POOL, &job.job_id).unwrap();
    let start_ms = ended.start_date_ms.unwrap();
    assert_eq!(ended.completion_date_ms, Some(start_ms + 200));
    let group = format!("/aws/cognito/userpools/{POOL}/emulated-pool");
    let lines = emu.log_events(&group, &format!("{}/timed", job.job_id));
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("[SUCCEEDED] Line Number 1"));
}

#[tokio::test]
async fn the_most_jobs_active_at_once_is_read_from_their_dates() {
    let emu = Emulator::start().await.unwrap();
    emu.set_job_run_time(Some(Duration::from_millis(60)));
    emu.enforce_one_active_job(true);
    for name in ["a", "b", "c"] {
        let job = emu.create_import_job(POOL, name, true);
        loop {
            match start(&emu, POOL, &job.job_id).await {
                Ok(_) => break,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(emu.max_active_jobs(), 1);
    assert!(emu.jobs().iter().all(|j| j.status == "Succeeded"));
}
