//! Throughput of the CSV preflight (`csv_check`) on the largest file Cognito
//! takes: 500,000 valid users, about 100 MB, fed in 64 KiB chunks as the S3
//! stream would. Run with `cargo bench --bench csv_preflight` (release
//! profile). Exits non-zero when the generated file is not found valid.
//!
//! Then the same with password hashes (SPEC section 15): the same users,
//! a `password_hash` column of bcrypt hashes (one row in ten empty), each
//! row still `ROW_BYTES` long, checked with the algorithm named. Its rate
//! is compared with the rate without (the target: at least 80% of it).

mod common;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cis_emulator::DEFAULT_CSV_HEADER;
use cognito_import_starter::csv_check::password::{Algorithm, PasswordMode};
use cognito_import_starter::csv_check::{CsvChecker, Report, MAX_BYTES, MAX_ROWS};

const ROW_BYTES: usize = 200; // line ending included
const CHUNK: usize = 64 * 1024;
const RUNS: usize = 5;

/// A valid file of `rows` users in the order of `header`, each row padded to
/// `ROW_BYTES` with its `profile`.
fn generate(header: &[&str], rows: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(header.join(",").len() + 1 + rows * ROW_BYTES);
    data.extend_from_slice(header.join(",").as_bytes());
    data.extend_from_slice(b"\n");
    let mut row = String::with_capacity(2 * ROW_BYTES);
    // With a hash the row keeps `ROW_BYTES`: these values make room for it.
    let hashes = header.contains(&"password_hash");
    for n in 0..rows {
        row.clear();
        let mut padding_at = None;
        for (i, &column) in header.iter().enumerate() {
            if i > 0 {
                row.push(',');
            }
            let _ = match column {
                "website" | "address" | "zoneinfo" if hashes => Ok(()),
                "cognito:username" => write!(row, "user{n:07}"),
                "email" => write!(row, "user{n}@example.com"),
                "email_verified" => write!(row, "{}", n % 3 != 0),
                "phone_number" => write!(row, "+1555{n:07}"),
                "phone_number_verified" => write!(row, "{}", if n % 3 == 0 { "TRUE" } else { "" }),
                "cognito:mfa_enabled" => {
                    write!(row, "{}", if n % 2 == 0 { "false" } else { "False" })
                }
                "birthdate" => write!(row, "{:02}/{:02}/{}", n % 12 + 1, n % 28 + 1, 1950 + n % 60),
                "updated_at" => write!(row, "{}", 1_700_000_000 + n),
                "given_name" => write!(row, "Zoë"),
                "family_name" => write!(row, "Doe"),
                "name" => write!(row, "Doe\\, Zoë"),
                "locale" => write!(row, "en-US"),
                "zoneinfo" => write!(row, "Europe/Paris"),
                "address" => write!(row, "{} Main St\\, Springfield", n % 1000),
                "website" => write!(row, "https://example.com/u/{n}"),
                // A bcrypt hash of cost 10, its 53 characters varied per row
                // (one row in ten without: that user resets).
                "password_hash" if n % 10 == 9 => Ok(()),
                "password_hash" => write!(row, "$2b$10${:053}", n),
                "profile" => {
                    padding_at = Some(row.len());
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        let short = (ROW_BYTES - 1).saturating_sub(row.len());
        if let Some(at) = padding_at {
            row.insert_str(at, &"p".repeat(short));
        }
        data.extend_from_slice(row.as_bytes());
        data.push(b'\n');
    }
    data
}

fn check(columns: &[String], data: &[u8], passwords: PasswordMode) -> Report {
    let mut checker = CsvChecker::new(columns).with_passwords(passwords);
    for chunk in data.chunks(CHUNK) {
        if let Err(too_large) = checker.feed(black_box(chunk)) {
            eprintln!("error: {too_large}");
            std::process::exit(1);
        }
    }
    match checker.finish() {
        Ok(report) => report,
        Err(too_large) => {
            eprintln!("error: {too_large}");
            std::process::exit(1);
        }
    }
}

/// VmHWM (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

fn main() {
    let columns: Vec<String> = DEFAULT_CSV_HEADER.iter().map(|c| c.to_string()).collect();
    let data = generate(DEFAULT_CSV_HEADER, MAX_ROWS as usize);
    assert!(
        data.len() as u64 <= MAX_BYTES,
        "generated {} bytes",
        data.len()
    );
    let rss_before = peak_rss_kib();
    let (times, report) = timed(&columns, &data, PasswordMode::Without);
    let rss_after = peak_rss_kib();

    let best = times[0];
    let median = times[RUNS / 2];
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# CSV preflight throughput\n\nWritten by `cargo bench --bench csv_preflight` on {}, {}.\n\n```",
        common::machine(),
        common::now_utc()
    );
    let _ = writeln!(
        text,
        "csv_preflight: {} runs over {} bytes in {} KiB chunks",
        RUNS,
        data.len(),
        CHUNK / 1024
    );
    let _ = writeln!(
        text,
        "  best   {:8.1} MB/s ({:.1} ms)",
        mb_per_s(data.len(), best),
        best.as_secs_f64() * 1e3
    );
    let _ = writeln!(
        text,
        "  median {:8.1} MB/s ({:.1} ms)",
        mb_per_s(data.len(), median),
        median.as_secs_f64() * 1e3
    );
    let _ = writeln!(
        text,
        "  rows {}, bytes {}, problems {}",
        report.rows, report.bytes, report.problem_count
    );
    let mib = |kib: Option<u64>| {
        kib.map_or("unknown".to_owned(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    let _ = writeln!(
        text,
        "  peak RSS (VmHWM): {} after generating the input, {} after the checks \
         (the {:.1} MiB input itself is in memory)",
        mib(rss_before),
        mib(rss_after),
        data.len() as f64 / 1024.0 / 1024.0
    );

    let hashes_ok = with_hashes(&columns, mb_per_s(data.len(), median), &mut text);
    text.push_str("```\n");
    print!("{text}");
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("perf/results/csv-preflight.md");
    match std::fs::write(&out, &text) {
        Ok(()) => println!("written to {}", out.display()),
        Err(error) => eprintln!("could not write {}: {error}", out.display()),
    }

    if !hashes_ok {
        std::process::exit(1);
    }
    if !report.is_valid() || report.rows != MAX_ROWS || report.bytes != data.len() as u64 {
        eprintln!(
            "error: the generated file should be valid: {:#?}",
            report.problems
        );
        std::process::exit(1);
    }
}

/// `RUNS` checks of `data`, their times sorted, and the last report.
fn timed(columns: &[String], data: &[u8], passwords: PasswordMode) -> (Vec<Duration>, Report) {
    let mut times = Vec::with_capacity(RUNS);
    let mut report = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let run = check(columns, black_box(data), passwords);
        times.push(start.elapsed());
        report = Some(run);
    }
    times.sort();
    (times, report.expect("at least one run"))
}

/// The same users with bcrypt hashes, their rate written to `text` beside
/// the rate without (`without`, MB/s); whether the file was found valid
/// with its hashes counted.
fn with_hashes(columns: &[String], without: f64, text: &mut String) -> bool {
    let mut header = DEFAULT_CSV_HEADER.to_vec();
    header.push("password_hash");
    let data = generate(&header, MAX_ROWS as usize);
    let (times, report) = timed(columns, &data, PasswordMode::Named(Algorithm::Bcrypt));
    let median = mb_per_s(data.len(), times[RUNS / 2]);
    let _ = writeln!(
        text,
        "with password hashes (bcrypt, 1 row in 10 empty), {} bytes:",
        data.len()
    );
    let _ = writeln!(
        text,
        "  best   {:8.1} MB/s\n  median {:8.1} MB/s: {:.0}% of the rate without (target at least 80%)",
        mb_per_s(data.len(), times[0]),
        median,
        100.0 * median / without
    );
    let counts = report.passwords.as_ref().map(|p| p.total);
    let _ = writeln!(
        text,
        "  rows {}, problems {}, hashes {:?}",
        report.rows,
        report.problem_count,
        counts.map(|c| (c.hashes, c.empty))
    );
    let expected_empty = MAX_ROWS / 10;
    let valid = report.is_valid()
        && report.rows == MAX_ROWS
        && counts
            .is_some_and(|c| c.empty == expected_empty && c.hashes == MAX_ROWS - expected_empty);
    if !valid {
        eprintln!(
            "error: the file with hashes should be valid: {:#?}",
            report.problems
        );
    }
    valid
}
