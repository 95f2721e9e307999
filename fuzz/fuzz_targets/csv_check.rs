//! Fuzzes the CSV preflight checker (SPEC section 10): the file comes from
//! outside, so on any bytes it never panics, keeps at most `MAX_REPORTED`
//! problems while counting them all, and gives the same report however the
//! bytes are cut into chunks (S3 streams them in pieces of any size).
//!
//! `cargo +nightly fuzz run csv_check` from the repository root; the seed
//! corpus is fuzz/corpus/csv_check/.

#![no_main]

use cognito_import_starter::csv_check::{
    CsvChecker, Report, TooLarge, MAX_REPORTED, STANDARD_HEADER,
};
use libfuzzer_sys::fuzz_target;

fn check(columns: &[String], data: &[u8], chunk: usize) -> Result<Report, TooLarge> {
    let mut checker = CsvChecker::new(columns);
    for piece in data.chunks(chunk) {
        checker.feed(piece)?;
    }
    checker.finish()
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    // The first byte picks the chunk size and whether the username column
    // is in the pool's header (it is not in every pool's).
    let mut columns: Vec<String> = STANDARD_HEADER.iter().map(|c| c.to_string()).collect();
    if first & 0x80 != 0 {
        columns.retain(|c| c != "cognito:username");
    }
    let chunk = usize::from(first & 0x7f) + 1;

    let whole = check(&columns, data, data.len().max(1));
    let pieces = check(&columns, data, chunk);
    assert_eq!(whole, pieces, "chunks of {chunk}");
    if let Ok(report) = whole {
        assert!(report.problems.len() <= MAX_REPORTED);
        assert!(report.problem_count >= report.problems.len() as u64);
        assert_eq!(report.is_valid(), report.problems.is_empty());
        assert_eq!(report.bytes, data.len() as u64);
        assert!(report
            .problems
            .windows(2)
            .all(|pair| pair[0].line <= pair[1].line));
    }
});
