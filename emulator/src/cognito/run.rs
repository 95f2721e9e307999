//! The simulated run of a started job: its CSV's rows become users (or
//! skipped or failed rows), one log line each, the job's counts and end;
//! and the run time after which a started job runs on its own.

use std::collections::BTreeMap;

use super::store::{find, find_mut, set_status, ImportJob};
use crate::{util, Emulator, Inner};

/// The data rows of a CSV: its lines after the header (a last line without
/// a line end counts).
fn count_rows(csv: &[u8]) -> i64 {
    let breaks = csv.iter().filter(|&&b| b == b'\n').count();
    let lines = breaks + usize::from(!csv.is_empty() && !csv.ends_with(b"\n"));
    i64::try_from(lines.saturating_sub(1)).unwrap_or(i64::MAX)
}

/// With a run time set, brings every started job to where it is at `now`:
/// `Pending` for the first half of the run, `InProgress` for the second,
/// then run to its end as Cognito does, ending at its start plus the run
/// time (not when it was noticed).
pub(crate) fn advance_jobs(inner: &mut Inner, now: i64) {
    let Some(run_time) = inner.job_run_time else {
        return;
    };
    let run_ms = i64::try_from(run_time.as_millis()).unwrap_or(i64::MAX);
    let due: Vec<(String, String, i64)> = inner
        .jobs
        .iter_mut()
        .filter(|r| matches!(r.job.status.as_str(), "Pending" | "InProgress"))
        .filter_map(|r| {
            let start = r.job.start_date_ms?;
            let elapsed = now.saturating_sub(start);
            if elapsed >= run_ms {
                Some((
                    r.job.pool_id.clone(),
                    r.job.job_id.clone(),
                    start.saturating_add(run_ms),
                ))
            } else {
                if elapsed >= run_ms / 2 {
                    r.job.status = "InProgress".to_string();
                }
                None
            }
        })
        .collect();
    let light = inner.light_runs;
    for (pool, job, end) in due {
        let has_csv = find(inner, &pool, &job).is_some_and(|r| r.csv.is_some());
        if light {
            if let Some(record) = find_mut(inner, &pool, &job) {
                let rows = record.csv.as_ref().map_or(0, |csv| count_rows(csv));
                set_status(&mut record.job, "Succeeded", end);
                record.job.imported_users = rows;
                record.job.completion_message = Some(COMPLETED.to_string());
            }
        } else if has_csv {
            let _ = run_job(inner, &pool, &job, &RunOptions::default(), end);
        } else if let Some(record) = find_mut(inner, &pool, &job) {
            set_status(&mut record.job, "Succeeded", end);
            record.job.completion_message = Some(COMPLETED.to_string());
        }
    }
}

/// How [`Emulator::run_import_job_with`] runs a job.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `Some(k)`: only the first `k` log lines are written when the job
    /// finishes (its counts are final all the same); the rest wait for
    /// [`Emulator::release_log_lines`], as CloudWatch Logs delivers
    /// late. `None`: every line at once.
    pub logged_rows: Option<usize>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct ImportRun {
    /// The job as it ended (`Succeeded`, counts, dates, message).
    pub job: ImportJob,
    /// `/aws/cognito/userpools/<pool id>/<pool name>`.
    pub log_group: String,
    /// `<job id>/<job name>`.
    pub log_stream: String,
    /// One line per data row, in file order, written or held back.
    pub lines: Vec<String>,
    /// How many of `lines` (the last ones) are held back.
    pub held_back: usize,
}

/// The log group and stream Cognito writes a job's per-user results to.
pub(crate) fn log_names(pool_id: &str, pool_name: &str, job: &ImportJob) -> (String, String) {
    (
        format!("/aws/cognito/userpools/{pool_id}/{pool_name}"),
        format!("{}/{}", job.job_id, job.job_name),
    )
}

pub(crate) const AUTO_VERIFIED: &str = "The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true).";
pub(crate) const INVALID_EMAIL: &str = "Invalid email address format.";
pub(crate) const INVALID_PHONE: &str = "Invalid phone number format.";
pub(crate) const EMPTY_USERNAME: &str = "The username is empty.";
pub(crate) const USER_EXISTS: &str = "The user already exists.";
pub(crate) const SUCCEEDED: &str = "The import succeeded.";
pub(crate) const COMPLETED: &str = "Import Job Completed Successfully.";
pub(crate) const INVALID_PASSWORD_HASH: &str = "Invalid password hash.";
pub(crate) const NO_PASSWORD_HASH_COLUMN: &str =
    "The CSV file has no password_hash column, which a job with a password hashing algorithm needs.";

/// Runs a started job (`Pending` or `InProgress`) over its CSV as Cognito
/// does: one outcome and one log line per data row, in file order; the job
/// ends `Succeeded` with the counts.
pub(crate) fn run_job(
    inner: &mut Inner,
    pool_id: &str,
    job_id: &str,
    options: &RunOptions,
    now: i64,
) -> Result<ImportRun, String> {
    let index = inner
        .jobs
        .iter()
        .position(|r| r.job.pool_id == pool_id && r.job.job_id == job_id)
        .ok_or_else(|| format!("no import job {job_id} in pool {pool_id}"))?;
    let record = &mut inner.jobs[index];
    if !matches!(record.job.status.as_str(), "Pending" | "InProgress") {
        return Err(format!(
            "import job {job_id} is {}, not started (Pending or InProgress)",
            record.job.status
        ));
    }
    let csv = record.csv.clone().ok_or_else(|| {
        format!(
            "import job {job_id} has no CSV bytes (upload to its pre-signed URL, or Emulator::set_job_csv)"
        )
    })?;
    let pool = inner
        .pools
        .get_mut(pool_id)
        .ok_or_else(|| format!("no user pool {pool_id}"))?;
    let (log_group, log_stream) = log_names(pool_id, &pool.name, &record.job);
    let algorithm = record.job.password_hashing_algorithm.clone();
    let rows = data_rows(&csv);
    if algorithm.is_some() && !has_column(&csv, "password_hash") {
        // Cognito fails the whole job: no user is imported.
        set_status(&mut record.job, "Failed", now);
        record.job.completion_message = Some(NO_PASSWORD_HASH_COLUMN.to_string());
        return Ok(ImportRun {
            job: record.job.clone(),
            log_group,
            log_stream,
            lines: Vec::new(),
            held_back: 0,
        });
    }

    let (mut imported, mut skipped, mut failed) = (0, 0, 0);
    let mut lines = Vec::new();
    for (n, row) in rows {
        let hash = row
            .get("password_hash")
            .map(String::as_str)
            .unwrap_or_default();
        let outcome = match (&algorithm, hash) {
            (Some(algorithm), hash) if !hash.is_empty() && !hash_well_formed(algorithm, hash) => {
                Err(INVALID_PASSWORD_HASH)
            }
            _ => row_outcome(&row),
        };
        let (status, reason) = match outcome {
            Err(reason) => {
                failed += 1;
                ("FAILED", reason)
            }
            Ok(username) if pool.users.contains(&username) => {
                skipped += 1;
                ("SKIPPED", USER_EXISTS)
            }
            Ok(username) => {
                let confirmed = algorithm.is_some() && !hash.is_empty();
                let status = if confirmed {
                    "CONFIRMED"
                } else {
                    "RESET_REQUIRED"
                };
                pool.user_status
                    .insert(username.clone(), status.to_string());
                pool.users.insert(username);
                imported += 1;
                ("SUCCEEDED", SUCCEEDED)
            }
        };
        lines.push(format!("[{status}] Line Number {n} - {reason}"));
    }

    set_status(&mut record.job, "Succeeded", now);
    record.job.imported_users = imported;
    record.job.skipped_users = skipped;
    record.job.failed_users = failed;
    record.job.completion_message = Some(COMPLETED.to_string());
    let logged = options.logged_rows.unwrap_or(lines.len()).min(lines.len());
    let held: Vec<String> = lines[logged..].to_vec();
    record.held_log_lines =
        (!held.is_empty()).then(|| (log_group.clone(), log_stream.clone(), held));
    let job = record.job.clone();

    // The stream exists from the run on, even while all its lines are late.
    inner.logs.ensure_stream(&log_group, &log_stream);
    let events: Vec<(i64, &str)> = lines[..logged].iter().map(|l| (now, l.as_str())).collect();
    inner.logs.put(&log_group, &log_stream, &events, now);
    Ok(ImportRun {
        job,
        log_group,
        log_stream,
        held_back: lines.len() - logged,
        lines,
    })
}

/// Writes the log lines a run held back; returns how many.
pub(crate) fn release_log_lines(inner: &mut Inner, pool_id: &str, job_id: &str, now: i64) -> usize {
    let Some(record) = find_mut(inner, pool_id, job_id) else {
        panic!("emulator: no import job {job_id} in pool {pool_id}");
    };
    let Some((group, stream, lines)) = record.held_log_lines.take() else {
        return 0;
    };
    let events: Vec<(i64, &str)> = lines.iter().map(|l| (now, l.as_str())).collect();
    inner.logs.put(&group, &stream, &events, now);
    lines.len()
}

/// Whether the CSV's header (its first line) names `column`.
fn has_column(csv: &[u8], column: &str) -> bool {
    let text = String::from_utf8_lossy(csv);
    let header = text.split('\n').next().unwrap_or_default();
    let header = header.strip_suffix('\r').unwrap_or(header);
    let header = header.strip_prefix('\u{feff}').unwrap_or(header);
    split_fields(header).iter().any(|c| c.trim() == column)
}

/// A hash of the job's algorithm's form, bcrypt's cost within 4 to 12 (the
/// emulator checks forms, not every bound Cognito checks).
fn hash_well_formed(algorithm: &str, hash: &str) -> bool {
    fn decimal(f: &str) -> bool {
        !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())
    }
    let fields: Vec<&str> = hash.split('$').collect();
    match algorithm {
        "BCRYPT" => {
            matches!(fields.as_slice(), ["", "2a" | "2b" | "2x" | "2y", cost, rest]
                if decimal(cost) && cost.len() == 2
                    && (4..=12).contains(&cost.parse::<u32>().unwrap_or(0))
                    && rest.len() == 53)
        }
        "SCRYPT" => fields.len() == 5 && fields[..3].iter().all(|f| decimal(f)),
        "ARGON2ID" => hash.starts_with("$argon2id$v=19$m=") && fields.len() == 6,
        "PBKDF2_SHA256" => {
            hash.starts_with("$pbkdf2-sha256$") && fields.len() == 5 && decimal(fields[2])
        }
        _ => false,
    }
}

/// A row's user: `Ok(username)` to import (or skip when it exists), or
/// `Err(reason)`, checked in Cognito's order.
fn row_outcome(row: &BTreeMap<String, String>) -> Result<String, &'static str> {
    let field = |name: &str| row.get(name).map(String::as_str).unwrap_or_default();
    let email_verified = field("email_verified").trim().eq_ignore_ascii_case("true");
    let phone_verified = field("phone_number_verified")
        .trim()
        .eq_ignore_ascii_case("true");
    if !email_verified && !phone_verified {
        return Err(AUTO_VERIFIED);
    }
    let email = field("email");
    if !email.is_empty() && !valid_email(email) {
        return Err(INVALID_EMAIL);
    }
    let phone = field("phone_number");
    if !phone.is_empty() && !valid_phone(phone) {
        return Err(INVALID_PHONE);
    }
    let username = field("cognito:username");
    if username.is_empty() {
        return Err(EMPTY_USERNAME);
    }
    Ok(username.to_string())
}

/// Like `x@y.z`: one `@`, something before it, a domain of non-empty
/// dot-separated labels (at least two), no whitespace.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

/// E.164: `+` then 1 to 15 digits.
fn valid_phone(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The data rows of a CSV as Cognito numbers them (the first row after the
/// header is 1), each as column name -> value. Rows end at `\n` (a `\r`
/// before it is dropped); the empty piece after a final newline is not a
/// row. Fields end at commas not escaped as `\,`.
pub(crate) fn data_rows(csv: &[u8]) -> Vec<(usize, BTreeMap<String, String>)> {
    let text = String::from_utf8_lossy(csv);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut lines = lines.into_iter().map(|l| l.strip_suffix('\r').unwrap_or(l));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<String> = split_fields(header)
        .into_iter()
        .map(|c| c.trim().to_string())
        .collect();
    lines
        .enumerate()
        .map(|(i, line)| {
            let values = split_fields(line);
            let row = columns
                .iter()
                .cloned()
                .zip(values.into_iter().chain(std::iter::repeat(String::new())))
                .collect();
            (i + 1, row)
        })
        .collect()
}

/// Splits at commas not preceded by a backslash; `\,` becomes `,`.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                chars.next();
                fields.last_mut().expect("never empty").push(',');
            }
            ',' => fields.push(String::new()),
            _ => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

// ---- the Rust API ----

impl Emulator {
    pub fn job(&self, pool_id: &str, job_id: &str) -> Option<ImportJob> {
        let mut inner = self.state.lock();
        advance_jobs(&mut inner, util::now_ms());
        find(&inner, pool_id, job_id).map(|record| record.job.clone())
    }

    /// Every job of every pool, oldest first.
    pub fn jobs(&self) -> Vec<ImportJob> {
        let mut inner = self.state.lock();
        advance_jobs(&mut inner, util::now_ms());
        inner.jobs.iter().map(|record| record.job.clone()).collect()
    }

    /// With `Some(d)`, a started job runs on its own: `Pending` for the
    /// first half of `d` after its `StartDate`, `InProgress` for the second,
    /// then run to its end as [`Emulator::run_import_job`] runs it (its log
    /// lines, counts, `Succeeded`, `CompletionDate` = `StartDate` + `d`); a
    /// job without CSV bytes ends `Succeeded` with no users. Jobs are
    /// brought up to date before every Cognito request and in every
    /// accessor that reads them. `None` (default): jobs wait for a test.
    pub fn set_job_run_time(&self, run_time: Option<std::time::Duration>) {
        self.state.lock().job_run_time = run_time;
    }

    /// With `true`, a job that runs on its own ([`Emulator::set_job_run_time`])
    /// ends with every data row imported and writes no log lines: for
    /// benchmarks of files of millions of rows, where checking each row and
    /// writing its line would cost the emulator more than the function.
    pub fn set_light_job_runs(&self, light: bool) {
        self.state.lock().light_runs = light;
    }

    /// The most jobs of the account ever active at the same moment, from
    /// their start and completion instants (a job still active counts up
    /// to now).
    pub fn max_active_jobs(&self) -> usize {
        let mut inner = self.state.lock();
        let now = util::now_ms();
        advance_jobs(&mut inner, now);
        let mut edges: Vec<(i64, i32)> = Vec::new();
        for record in &inner.jobs {
            let job = &record.job;
            let Some(start) = job.start_date_ms else {
                continue;
            };
            let end = job.completion_date_ms.unwrap_or(now.max(start) + 1);
            edges.push((start, 1));
            edges.push((end.max(start), -1));
        }
        // An end and a start at the same instant do not overlap.
        edges.sort();
        let (mut active, mut most) = (0i32, 0i32);
        for (_, step) in edges {
            active += step;
            most = most.max(active);
        }
        usize::try_from(most).unwrap_or(0)
    }

    /// Runs a started job (`Pending` or `InProgress`) as Cognito does, with
    /// every log line written at once: see [`Emulator::run_import_job_with`].
    pub fn run_import_job(&self, pool_id: &str, job_id: &str) -> Result<ImportRun, String> {
        self.run_import_job_with(pool_id, job_id, RunOptions::default())
    }

    /// Runs a started job over its CSV (the bytes uploaded to its pre-signed
    /// URL, or [`Emulator::set_job_csv`]): each data row, in file order
    /// (the first row after the header is line 1), is
    /// - `FAILED` when neither `email_verified` nor `phone_number_verified`
    ///   is `true` (any case), else when `email` is given and not like
    ///   `x@y.z`, or `phone_number` is given and not E.164, or (the
    ///   emulator's own rule) `cognito:username` is empty;
    /// - else `SKIPPED` when `cognito:username` is already a user of the pool
    ///   ([`Emulator::add_user`], earlier rows and imports);
    /// - else `SUCCEEDED`, and the user is added to the pool.
    ///
    /// Each row writes `[<STATUS>] Line Number <n> - <reason>` to log group
    /// `/aws/cognito/userpools/<pool id>/<pool name>`, stream
    /// `<job id>/<job name>` (created even when no line is written yet). The
    /// job ends `Succeeded` with the counts, `CompletionDate` now and
    /// `CompletionMessage` `Import Job Completed Successfully.`. With
    /// [`RunOptions::logged_rows`] `Some(k)` only the first `k` lines are
    /// written; [`Emulator::release_log_lines`] writes the rest. An error
    /// names what is missing: the job, its start, its CSV.
    pub fn run_import_job_with(
        &self,
        pool_id: &str,
        job_id: &str,
        options: RunOptions,
    ) -> Result<ImportRun, String> {
        let mut inner = self.state.lock();
        run_job(&mut inner, pool_id, job_id, &options, util::now_ms())
    }

    /// Writes the log lines a run held back ([`RunOptions::logged_rows`]),
    /// timestamped now; returns how many. Panics if the job does not exist.
    pub fn release_log_lines(&self, pool_id: &str, job_id: &str) -> usize {
        let mut inner = self.state.lock();
        release_log_lines(&mut inner, pool_id, job_id, util::now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fields_and_checks() {
        let csv =
            b"cognito:username,name,email,email_verified\r\na,Doe\\, Jr.,a@x.io,TRUE\r\nb\n\n";
        let rows = data_rows(csv);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0, 1);
        assert_eq!(rows[0].1["name"], "Doe, Jr.");
        assert_eq!(rows[0].1["email_verified"], "TRUE");
        assert_eq!(rows[1].1["email"], "");
        assert_eq!(rows[2].0, 3);
        assert!(data_rows(b"").is_empty());

        for good in ["a@b.c", "first.last+tag@mail.example.com"] {
            assert!(valid_email(good), "{good}");
        }
        for bad in [
            "bad-email",
            "a@b",
            "@b.c",
            "a@b..c",
            "a@@b.c",
            "a b@c.d",
            "a@.c",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        for good in ["+1", "+14155550100", "+123456789012345"] {
            assert!(valid_phone(good), "{good}");
        }
        for bad in [
            "+",
            "14155550100",
            "+1234567890123456",
            "+1 415",
            "555-0100",
        ] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }
}
