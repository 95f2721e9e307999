//! SPEC section 15: password hashes. A job takes one algorithm
//! (`CreateUserImportJob`'s `PasswordHashingAlgorithm`); the file's
//! `password_hash` column holds each user's hash, or nothing (that user
//! resets the password). This module parses the algorithm's name, tells a
//! hash's algorithm by its form, checks each hash against Cognito's form
//! and bounds, and counts the hashes and empty values of each part.
//!
//! A problem never contains a hash or any part of one (not even a cost or
//! an iteration count): it says which rule is broken and what to do.

use std::fmt;

use super::problems::{column_order, Placed, Problem, Problems, ABSENT};
use super::MAX_REPORTED;

/// The column of the hashes (Cognito's console template names it so).
pub const PASSWORD_HASH: &str = "password_hash";

/// The algorithms Cognito takes, as `CreateUserImportJob` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Bcrypt,
    Scrypt,
    Argon2id,
    Pbkdf2Sha256,
}

pub const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Bcrypt,
    Algorithm::Scrypt,
    Algorithm::Argon2id,
    Algorithm::Pbkdf2Sha256,
];

impl Algorithm {
    /// The API's name: `BCRYPT`, `SCRYPT`, `ARGON2ID`, `PBKDF2_SHA256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Bcrypt => "BCRYPT",
            Algorithm::Scrypt => "SCRYPT",
            Algorithm::Argon2id => "ARGON2ID",
            Algorithm::Pbkdf2Sha256 => "PBKDF2_SHA256",
        }
    }

    /// A name in any case, trimmed (`bcrypt` is `BCRYPT`); else a message
    /// that lists the four.
    pub fn parse(value: &str) -> Result<Algorithm, String> {
        let value = value.trim();
        ALGORITHMS
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                format!(
                    "is not a password hashing algorithm Cognito takes; write one of {}",
                    names()
                )
            })
    }

    fn index(self) -> usize {
        match self {
            Algorithm::Bcrypt => 0,
            Algorithm::Scrypt => 1,
            Algorithm::Argon2id => 2,
            Algorithm::Pbkdf2Sha256 => 3,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `BCRYPT, SCRYPT, ARGON2ID or PBKDF2_SHA256`.
pub fn names() -> String {
    let names: Vec<&str> = ALGORITHMS.iter().map(|a| a.as_str()).collect();
    format!("{} or {}", names[..3].join(", "), names[3])
}

/// Which of the four algorithms `hash` is written for, by its form alone
/// (its prefix; scrypt's five `$`-separated fields, the first three
/// decimal), whether or not its parameters are within bounds.
pub fn form_of(hash: &[u8]) -> Option<Algorithm> {
    let bcrypt = [&b"$2a$"[..], b"$2b$", b"$2x$", b"$2y$"];
    if bcrypt.iter().any(|p| hash.starts_with(p)) {
        Some(Algorithm::Bcrypt)
    } else if hash.starts_with(b"$argon2id$") {
        Some(Algorithm::Argon2id)
    } else if hash.starts_with(b"$pbkdf2-sha256$") {
        Some(Algorithm::Pbkdf2Sha256)
    } else if is_scrypt_form(hash) {
        Some(Algorithm::Scrypt)
    } else {
        None
    }
}

fn is_scrypt_form(hash: &[u8]) -> bool {
    let fields: Vec<&[u8]> = hash.split(|&b| b == b'$').collect();
    fields.len() == 5 && fields[..3].iter().all(|f| is_decimal(f))
}

/// Checks `hash` (non-empty, unescaped) against `algorithm`'s form and
/// Cognito's bounds (SPEC section 15's table). The error says what is
/// wrong and never holds any part of the hash.
pub fn check_hash(algorithm: Algorithm, hash: &[u8]) -> Result<(), String> {
    let problem = match algorithm {
        Algorithm::Bcrypt => check_bcrypt(hash),
        Algorithm::Scrypt => check_scrypt(hash),
        Algorithm::Argon2id => check_argon2id(hash),
        Algorithm::Pbkdf2Sha256 => check_pbkdf2(hash),
    };
    problem.map_err(|why| format!("{why}; {FIX}"))
}

const FIX: &str =
    "fix the hash or leave it empty (the user is then created RESET_REQUIRED and resets the password)";

fn check_bcrypt(hash: &[u8]) -> Result<(), &'static str> {
    const FORM: &str =
        "not a bcrypt hash Cognito takes: $2a$, $2b$, $2x$ or $2y$, a two-digit cost, $, then 53 characters of ./A-Za-z0-9";
    let [b'$', b'2', b'a' | b'b' | b'x' | b'y', b'$', c1, c2, b'$', rest @ ..] = hash else {
        return Err(FORM);
    };
    if !c1.is_ascii_digit() || !c2.is_ascii_digit() || rest.len() != 53 {
        return Err(FORM);
    }
    if !rest
        .iter()
        .all(|&b| b == b'.' || b == b'/' || b.is_ascii_alphanumeric())
    {
        return Err(FORM);
    }
    let cost = (c1 - b'0') * 10 + (c2 - b'0');
    if !(4..=12).contains(&cost) {
        return Err("the bcrypt cost is outside Cognito's bounds of 4 to 12");
    }
    Ok(())
}

fn check_scrypt(hash: &[u8]) -> Result<(), &'static str> {
    const FORM: &str =
        "not an scrypt hash Cognito takes: N$r$p$<salt>$<hash>, N, r and p decimal, salt and hash hex of even length";
    let fields: Vec<&[u8]> = hash.split(|&b| b == b'$').collect();
    let [n, r, p, salt, digest] = fields[..] else {
        return Err(FORM);
    };
    if ![n, r, p].iter().all(|f| is_decimal(f)) || !is_even_hex(salt) || !is_even_hex(digest) {
        return Err(FORM);
    }
    let n = number(n);
    if !n.is_some_and(|n| n.is_power_of_two() && (2..=65_536).contains(&n)) {
        return Err("the scrypt N is outside Cognito's bounds: a power of two from 2 to 65536");
    }
    if !number(r).is_some_and(|r| (1..=8).contains(&r)) {
        return Err("the scrypt r is outside Cognito's bounds of 1 to 8");
    }
    if number(p) != Some(1) {
        return Err("the scrypt p must be 1 for Cognito");
    }
    Ok(())
}

fn check_argon2id(hash: &[u8]) -> Result<(), &'static str> {
    const FORM: &str =
        "not an Argon2id hash Cognito takes: $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>, salt and hash base64 without padding";
    let Some(rest) = hash.strip_prefix(b"$argon2id$v=19$m=") else {
        return Err(FORM);
    };
    let fields: Vec<&[u8]> = rest.split(|&b| b == b'$').collect();
    let [params, salt, digest] = fields[..] else {
        return Err(FORM);
    };
    let params: Vec<&[u8]> = params.split(|&b| b == b',').collect();
    let [m, t, p] = params[..] else {
        return Err(FORM);
    };
    let (Some(t), Some(p)) = (t.strip_prefix(b"t="), p.strip_prefix(b"p=")) else {
        return Err(FORM);
    };
    let base64 = |f: &[u8]| !f.is_empty() && f.iter().all(|&b| is_base64(b));
    if ![m, t, p].iter().all(|f| is_decimal(f)) || !base64(salt) || !base64(digest) {
        return Err(FORM);
    }
    if !number(m).is_some_and(|m| (8..=19_456).contains(&m)) {
        return Err("the Argon2id memory (m) is outside Cognito's bounds of 8 to 19456");
    }
    if !number(t).is_some_and(|t| (1..=2).contains(&t)) {
        return Err("the Argon2id time cost (t) must be 1 or 2 for Cognito");
    }
    if number(p) != Some(1) {
        return Err("the Argon2id parallelism (p) must be 1 for Cognito");
    }
    Ok(())
}

fn check_pbkdf2(hash: &[u8]) -> Result<(), &'static str> {
    const FORM: &str =
        "not a PBKDF2-SHA256 hash Cognito takes: $pbkdf2-sha256$<iterations>$<salt>$<hash>, salt and hash base64 without padding";
    let Some(rest) = hash.strip_prefix(b"$pbkdf2-sha256$") else {
        return Err(FORM);
    };
    let fields: Vec<&[u8]> = rest.split(|&b| b == b'$').collect();
    let [iterations, salt, digest] = fields[..] else {
        return Err(FORM);
    };
    // passlib's adapted base64 writes `.` for `+`.
    let base64 = |f: &[u8]| !f.is_empty() && f.iter().all(|&b| b == b'.' || is_base64(b));
    if !is_decimal(iterations) || !base64(salt) || !base64(digest) {
        return Err(FORM);
    }
    if !number(iterations).is_some_and(|i| (1..=600_000).contains(&i)) {
        return Err("the PBKDF2 iteration count is outside Cognito's bounds of 1 to 600000");
    }
    Ok(())
}

/// What to do with a hash of none of the four forms: the forms people
/// most often bring are named.
pub fn unsupported_form(hash: &[u8]) -> String {
    let prefixed = |p: &'static [u8]| hash.starts_with(p);
    let known = if prefixed(b"pbkdf2_sha256$") {
        "Django's pbkdf2_sha256$ form, which Cognito does not take: rewrite it as \
         $pbkdf2-sha256$<iterations>$<salt>$<hash> (passlib's form: salt and hash base64 without \
         padding, iterations at most 600000; Django's default is more), or leave it empty"
    } else if prefixed(b"$argon2i$") || prefixed(b"$argon2d$") {
        "an Argon2i or Argon2d hash; Cognito takes only Argon2id: leave it empty, or rehash the \
         password as Argon2id in the old system before the import"
    } else if prefixed(b"$1$") || prefixed(b"$5$") || prefixed(b"$6$") {
        "a crypt MD5, SHA-256 or SHA-512 hash ($1$, $5$, $6$), which Cognito does not take: leave \
         it empty, or rehash the password as bcrypt in the old system before the import"
    } else if matches!(hash.len(), 32 | 40 | 64) && hash.iter().all(u8::is_ascii_hexdigit) {
        "an unsalted hex digest (MD5, SHA-1 or SHA-256), which Cognito does not take: leave it \
         empty"
    } else {
        "not a password hash of a form Cognito takes (bcrypt $2b$..., scrypt N$r$p$salt$hash, \
         $argon2id$..., $pbkdf2-sha256$...): fix it or leave it empty"
    };
    format!("{known} (the user is then created RESET_REQUIRED and resets the password)")
}

fn is_decimal(field: &[u8]) -> bool {
    !field.is_empty() && field.iter().all(u8::is_ascii_digit)
}

fn is_even_hex(field: &[u8]) -> bool {
    !field.is_empty() && field.len() % 2 == 0 && field.iter().all(u8::is_ascii_hexdigit)
}

fn is_base64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/'
}

/// A decimal field's value; `None` past a u64 (out of every bound).
fn number(field: &[u8]) -> Option<u64> {
    field.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// How the checker treats the `password_hash` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordMode {
    /// The job takes no hashes: each non-empty one is a problem (SPEC
    /// section 15, section 4's path with a job without an algorithm).
    Without,
    /// Create mode without metadata: the first hash of one of the four
    /// forms names the algorithm.
    Detect,
    /// Named by the object's metadata or the job: the column must be in the
    /// header.
    Named(Algorithm),
}

/// Hashes and empty values of a part (or of the file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub hashes: u64,
    pub empty: u64,
}

/// What a file's `password_hash` column held: its algorithm, the counts of
/// the file and of each part (one part when the file is not cut).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passwords {
    pub algorithm: Algorithm,
    pub total: Counts,
    pub parts: Vec<Counts>,
}

/// The column's checks as the rows come.
#[derive(Debug)]
pub(super) struct PasswordCheck {
    mode: PasswordMode,
    /// Decided by `Named`, or by the first hash of a known form (and its line).
    algorithm: Option<(Algorithm, Option<u64>)>,
    /// Rows of each algorithm's form, for the other-algorithm problem.
    by_form: [u64; 4],
    /// Rows whose hash is of another algorithm: all counted, the first
    /// [`MAX_REPORTED`] kept (line, column order), told at the end.
    other: (u64, Vec<(u64, u32)>),
    parts: Vec<Counts>,
}

impl PasswordCheck {
    pub(super) fn new(mode: PasswordMode) -> PasswordCheck {
        PasswordCheck {
            mode,
            algorithm: match mode {
                PasswordMode::Named(algorithm) => Some((algorithm, None)),
                _ => None,
            },
            by_form: [0; 4],
            other: (0, Vec::new()),
            parts: vec![Counts::default()],
        }
    }

    /// The header is read: `column` is where `password_hash` is, if
    /// anywhere. A named algorithm needs the column.
    pub(super) fn header(&self, column: Option<usize>, problems: &mut Problems) {
        if let (PasswordMode::Named(algorithm), None) = (self.mode, column) {
            problems.push(
                1,
                ABSENT,
                Some(PASSWORD_HASH),
                format_args!(
                    "the import names the password hashing algorithm {algorithm} but the header \
                     has no password_hash column, so Cognito would fail the whole job: add the \
                     column, or import without the algorithm"
                ),
            );
        }
    }

    /// The next data row begins a new part.
    pub(super) fn new_part(&mut self) {
        self.parts.push(Counts::default());
    }

    /// Row `line`'s value (unescaped) of the column at `index`.
    pub(super) fn value(&mut self, line: u64, index: usize, hash: &[u8], problems: &mut Problems) {
        let counts = self.parts.last_mut();
        if hash.is_empty() {
            if let Some(counts) = counts {
                counts.empty += 1;
            }
            return;
        }
        if let Some(counts) = counts {
            counts.hashes += 1;
        }
        let at = column_order(index);
        let push = |problems: &mut Problems, problem: &str| {
            problems.push(line, at, Some(PASSWORD_HASH), format_args!("{problem}"))
        };
        let Some(form) = form_of(hash) else {
            return push(problems, &unsupported_form(hash));
        };
        self.by_form[form.index()] += 1;
        if self.mode == PasswordMode::Without {
            return push(
                problems,
                "the import job was created without a password hashing algorithm, so Cognito \
                 cannot use this hash: leave password_hash empty, or create the job with \
                 PasswordHashingAlgorithm",
            );
        }
        let algorithm = match self.algorithm {
            Some((algorithm, _)) => algorithm,
            None => {
                self.algorithm = Some((form, Some(line)));
                form
            }
        };
        if form != algorithm {
            self.other.0 += 1;
            if self.other.1.len() < MAX_REPORTED {
                self.other.1.push((line, at));
            }
            return;
        }
        if let Err(problem) = check_hash(algorithm, hash) {
            push(problems, &problem);
        }
    }

    /// The end of the file: the other-algorithm problems, which count the
    /// rows of each form, and what the column held.
    pub(super) fn finish(self, problems: &mut Problems) -> Option<Passwords> {
        let (algorithm, first) = self.algorithm?;
        let (count, first_lines) = self.other;
        if count > 0 {
            let of_each: Vec<String> = ALGORITHMS
                .iter()
                .filter(|a| self.by_form[a.index()] > 0)
                .map(|a| format!("{} {a}", self.by_form[a.index()]))
                .collect();
            let named_by = match first {
                Some(line) => format!("its first hash, on line {line}"),
                None => "the import".to_string(),
            };
            let problem = format!(
                "a hash of another algorithm than the file's {algorithm} (named by {named_by}): \
                 a job takes one algorithm, and this file has hashes of {}: put each \
                 algorithm's users in a file of their own",
                of_each.join(", ")
            );
            problems.push_late(
                count,
                first_lines.into_iter().map(|(line, order)| Placed {
                    order,
                    problem: Problem {
                        line,
                        column: Some(PASSWORD_HASH.to_owned()),
                        problem: problem.clone(),
                    },
                }),
            );
        }
        let total = self.parts.iter().fold(Counts::default(), |sum, c| Counts {
            hashes: sum.hashes + c.hashes,
            empty: sum.empty + c.empty,
        });
        Some(Passwords {
            algorithm,
            total,
            parts: self.parts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B53: &str = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    fn bcrypt(variant: char, cost: &str) -> String {
        format!("$2{variant}${cost}${B53}")
    }

    fn assert_problem(algorithm: Algorithm, hash: &str, says: &str) {
        let problem = check_hash(algorithm, hash.as_bytes()).unwrap_err();
        assert!(problem.contains(says), "{hash}: {problem}");
        assert!(!problem.contains(hash), "{problem}");
    }

    #[test]
    fn names_in_any_case() {
        assert_eq!(Algorithm::parse("bcrypt"), Ok(Algorithm::Bcrypt));
        assert_eq!(Algorithm::parse(" Argon2Id "), Ok(Algorithm::Argon2id));
        assert_eq!(
            Algorithm::parse("pbkdf2_sha256"),
            Ok(Algorithm::Pbkdf2Sha256)
        );
        assert_eq!(Algorithm::parse("SCRYPT"), Ok(Algorithm::Scrypt));
        let error = Algorithm::parse("md5").unwrap_err();
        assert!(
            error.contains("BCRYPT, SCRYPT, ARGON2ID or PBKDF2_SHA256"),
            "{error}"
        );
        assert!(Algorithm::parse("pbkdf2-sha256").is_err_and(|e| e.contains("BCRYPT")));
    }

    #[test]
    fn bcrypt_forms_and_bounds() {
        for variant in ['a', 'b', 'x', 'y'] {
            for cost in ["04", "10", "12"] {
                assert_eq!(
                    check_hash(Algorithm::Bcrypt, bcrypt(variant, cost).as_bytes()),
                    Ok(())
                );
            }
        }
        for cost in ["03", "13", "31", "00"] {
            assert_problem(Algorithm::Bcrypt, &bcrypt('b', cost), "cost");
        }
        for bad in [
            bcrypt('c', "10"),
            bcrypt('b', "1"),
            bcrypt('b', "100"),
            format!("$2b$10${}", &B53[1..]),
            format!("$2b$10${B53}x"),
            format!("$2b$10${}=", &B53[1..]),
            format!("$2$10${B53}"),
            format!("$2b$1a${B53}"),
        ] {
            assert_problem(Algorithm::Bcrypt, &bad, "not a bcrypt hash");
        }
    }

    #[test]
    fn scrypt_forms_and_bounds() {
        for fine in ["2$1$1$ab$cd", "16384$8$1$0a1B$00ff", "65536$1$1$ab$ABCDEF"] {
            assert_eq!(
                check_hash(Algorithm::Scrypt, fine.as_bytes()),
                Ok(()),
                "{fine}"
            );
        }
        for (bad, says) in [
            ("1$1$1$ab$cd", "power of two"),
            ("3$1$1$ab$cd", "power of two"),
            ("131072$1$1$ab$cd", "power of two"),
            ("99999999999999999999999$1$1$ab$cd", "power of two"),
            ("16384$0$1$ab$cd", "r is"),
            ("16384$9$1$ab$cd", "r is"),
            ("16384$8$2$ab$cd", "p must be 1"),
            ("16384$8$0$ab$cd", "p must be 1"),
            ("16384$8$1$abc$cd", "not an scrypt"),
            ("16384$8$1$ab$", "not an scrypt"),
            ("16384$8$1$$cd", "not an scrypt"),
            ("16384$8$1$zz$cd", "not an scrypt"),
            ("16384$8$1$ab$cd$ef", "not an scrypt"),
            ("16384$-8$1$ab$cd", "not an scrypt"),
        ] {
            assert_problem(Algorithm::Scrypt, bad, says);
        }
    }

    #[test]
    fn argon2id_forms_and_bounds() {
        for fine in [
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA+/",
            "$argon2id$v=19$m=8,t=1,p=1$YQ$Yg",
        ] {
            assert_eq!(
                check_hash(Algorithm::Argon2id, fine.as_bytes()),
                Ok(()),
                "{fine}"
            );
        }
        for (bad, says) in [
            ("$argon2id$v=19$m=7,t=1,p=1$YQ$Yg", "memory"),
            ("$argon2id$v=19$m=19457,t=1,p=1$YQ$Yg", "memory"),
            ("$argon2id$v=19$m=65536,t=3,p=4$YQ$Yg", "memory"),
            ("$argon2id$v=19$m=8,t=0,p=1$YQ$Yg", "time cost"),
            ("$argon2id$v=19$m=8,t=3,p=1$YQ$Yg", "time cost"),
            ("$argon2id$v=19$m=8,t=1,p=2$YQ$Yg", "parallelism"),
            ("$argon2id$v=16$m=8,t=1,p=1$YQ$Yg", "not an Argon2id"),
            ("$argon2id$m=8,t=1,p=1$YQ$Yg", "not an Argon2id"),
            ("$argon2id$v=19$t=1,m=8,p=1$YQ$Yg", "not an Argon2id"),
            ("$argon2id$v=19$m=8,t=1,p=1$YQ==$Yg", "not an Argon2id"),
            ("$argon2id$v=19$m=8,t=1,p=1$$Yg", "not an Argon2id"),
            ("$argon2id$v=19$m=8,t=1,p=1$YQ.$Yg", "not an Argon2id"),
            ("$argon2id$v=19$m=8,t=1$YQ$Yg", "not an Argon2id"),
        ] {
            assert_problem(Algorithm::Argon2id, bad, says);
        }
    }

    #[test]
    fn pbkdf2_forms_and_bounds() {
        for fine in [
            "$pbkdf2-sha256$600000$c2FsdA$aGFzaGhhc2g",
            "$pbkdf2-sha256$1$a.b/c+$x.y",
        ] {
            assert_eq!(
                check_hash(Algorithm::Pbkdf2Sha256, fine.as_bytes()),
                Ok(()),
                "{fine}"
            );
        }
        for (bad, says) in [
            ("$pbkdf2-sha256$0$c2FsdA$aGFzaA", "iteration"),
            ("$pbkdf2-sha256$600001$c2FsdA$aGFzaA", "iteration"),
            ("$pbkdf2-sha256$870000$c2FsdA$aGFzaA", "iteration"),
            ("$pbkdf2-sha256$1000$c2FsdA$aGFzaA==", "not a PBKDF2"),
            ("$pbkdf2-sha256$1000$c2FsdA", "not a PBKDF2"),
            ("$pbkdf2-sha256$x$c2FsdA$aGFzaA", "not a PBKDF2"),
            ("$pbkdf2-sha256$1000$$aGFzaA", "not a PBKDF2"),
        ] {
            assert_problem(Algorithm::Pbkdf2Sha256, bad, says);
        }
    }

    #[test]
    fn forms_name_the_algorithm_even_out_of_bounds() {
        assert_eq!(
            form_of(bcrypt('y', "31").as_bytes()),
            Some(Algorithm::Bcrypt)
        );
        assert_eq!(form_of(b"$2b$xx"), Some(Algorithm::Bcrypt));
        assert_eq!(form_of(b"1$1$1$ab$cd"), Some(Algorithm::Scrypt));
        assert_eq!(form_of(b"1$1$1$ab"), None);
        assert_eq!(
            form_of(b"$argon2id$v=19$m=65536"),
            Some(Algorithm::Argon2id)
        );
        assert_eq!(
            form_of(b"$pbkdf2-sha256$870000$a$b"),
            Some(Algorithm::Pbkdf2Sha256)
        );
        for none in [
            &b"pbkdf2_sha256$870000$salt$aGFzaA=="[..],
            b"$argon2i$v=19$m=8,t=1,p=1$YQ$Yg",
            b"$1$salt$hash",
            b"5f4dcc3b5aa765d61d8327deb882cf99",
            b"password",
        ] {
            assert_eq!(form_of(none), None);
        }
    }

    #[test]
    fn unsupported_forms_say_what_to_do() {
        let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
        let sha1 = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";
        let sha256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        for (hash, says) in [
            ("pbkdf2_sha256$870000$abc$aGFzaA==", "Django"),
            ("$argon2i$v=19$m=8,t=1,p=1$YQ$Yg", "Argon2id"),
            ("$argon2d$v=19$m=8,t=1,p=1$YQ$Yg", "Argon2i or Argon2d"),
            ("$1$abc$def", "crypt"),
            ("$5$abc$def", "crypt"),
            ("$6$rounds=5000$abc$def", "crypt"),
            (md5, "unsalted"),
            (sha1, "unsalted"),
            (sha256, "unsalted"),
            (&md5[1..], "not a password hash"),
            ("hunter2", "not a password hash"),
        ] {
            let problem = unsupported_form(hash.as_bytes());
            assert!(problem.contains(says), "{hash}: {problem}");
            assert!(problem.contains("leave it empty"), "{problem}");
            assert!(!problem.contains(hash), "{problem}");
        }
    }
}

/// The column in whole files, as the checker reads them.
#[cfg(test)]
mod checker_tests {
    use super::super::parts::{PartLimits, MAX_PARTS};
    use super::super::test_support::*;
    use super::super::{CsvChecker, Report, MAX_BYTES};
    use super::*;

    const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    const BCRYPT_13: &str = "$2b$13$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    /// An Argon2id hash as the file writes it: its commas escaped.
    const ARGON2ID_ESCAPED: &str = "$argon2id$v=19$m=19456\\,t=2\\,p=1$c2FsdHNhbHQ$aGFzaA";

    fn header() -> Vec<&'static str> {
        let mut header = HEADER.to_vec();
        header.insert(5, PASSWORD_HASH);
        header
    }

    /// A file of the standard columns plus `password_hash`, one row per hash.
    fn text(hashes: &[&str]) -> String {
        let header = header();
        let mut text = format!("{}\n", header.join(","));
        for (n, hash) in hashes.iter().enumerate() {
            text.push_str(&row_in(&header, n as u32 + 1, &[(PASSWORD_HASH, hash)]));
            text.push('\n');
        }
        text
    }

    fn run(mode: PasswordMode, text: &str) -> Report {
        let mut checker = CsvChecker::new(&columns()).with_passwords(mode);
        checker.feed(text.as_bytes()).unwrap();
        checker.finish().unwrap()
    }

    fn assert_no_hash_in(report: &Report, hashes: &[&str]) {
        for problem in &report.problems {
            for hash in hashes.iter().filter(|h| !h.is_empty()) {
                let unescaped = hash.replace("\\,", ",");
                assert!(!problem.problem.contains(&unescaped), "{problem:?}");
            }
        }
    }

    #[test]
    fn the_column_may_sit_beside_the_pools_columns() {
        let report = run(PasswordMode::Without, &text(&["", ""]));
        assert!(report.is_valid(), "{report:#?}");
        assert_eq!(report.passwords, None);
        // Twice is still a problem.
        let mut header = header();
        header.push(PASSWORD_HASH);
        let twice = format!("{}\n{}\n", header.join(","), row_in(&header, 1, &[]));
        assert_eq!(
            places(&run(PasswordMode::Detect, &twice)),
            [(1, Some(PASSWORD_HASH))]
        );
    }

    #[test]
    fn a_named_algorithm_counts_hashes_and_empty_values() {
        let report = run(
            PasswordMode::Named(Algorithm::Bcrypt),
            &text(&[BCRYPT, "", BCRYPT]),
        );
        assert!(report.is_valid(), "{report:#?}");
        let expected = Passwords {
            algorithm: Algorithm::Bcrypt,
            total: Counts {
                hashes: 2,
                empty: 1,
            },
            parts: vec![Counts {
                hashes: 2,
                empty: 1,
            }],
        };
        assert_eq!(report.passwords, Some(expected));
    }

    #[test]
    fn a_named_algorithm_needs_the_column() {
        let report = check(&file(&[row(1, &[])]));
        assert!(report.is_valid());
        let mut checker =
            CsvChecker::new(&columns()).with_passwords(PasswordMode::Named(Algorithm::Scrypt));
        checker.feed(file(&[row(1, &[])]).as_bytes()).unwrap();
        let report = checker.finish().unwrap();
        assert_eq!(places(&report), [(1, Some(PASSWORD_HASH))]);
        assert!(report.problems[0].problem.contains("SCRYPT"), "{report:#?}");
        // Detecting, a file without the column has no algorithm.
        let mut checker = CsvChecker::new(&columns()).with_passwords(PasswordMode::Detect);
        checker.feed(file(&[row(1, &[])]).as_bytes()).unwrap();
        let report = checker.finish().unwrap();
        assert!(
            report.is_valid() && report.passwords.is_none(),
            "{report:#?}"
        );
    }

    #[test]
    fn bad_hashes_are_problems_at_their_lines_without_the_hash() {
        let hashes = [
            BCRYPT,
            BCRYPT_13,
            "",
            "$2b$10$short",
            "5f4dcc3b5aa765d61d8327deb882cf99",
        ];
        let report = run(PasswordMode::Named(Algorithm::Bcrypt), &text(&hashes));
        assert_eq!(
            places(&report),
            [
                (3, Some(PASSWORD_HASH)),
                (5, Some(PASSWORD_HASH)),
                (6, Some(PASSWORD_HASH))
            ]
        );
        assert!(report.problems[0].problem.contains("cost"));
        assert!(report.problems[2].problem.contains("unsalted"));
        assert_no_hash_in(&report, &hashes);
        // Counted all the same.
        assert_eq!(
            report.passwords.map(|p| p.total),
            Some(Counts {
                hashes: 4,
                empty: 1
            })
        );
    }

    #[test]
    fn detection_takes_the_first_hash_of_a_known_form() {
        // A Django hash first (a problem of its own), then Argon2id, commas
        // escaped as in every value; the first one out of bounds still names it.
        let argon_wide = "$argon2id$v=19$m=65536\\,t=3\\,p=4$c2FsdHNhbHQ$aGFzaA";
        let hashes = [
            "",
            "pbkdf2_sha256$870000$abc$aGFzaA==",
            argon_wide,
            ARGON2ID_ESCAPED,
        ];
        let report = run(PasswordMode::Detect, &text(&hashes));
        assert_eq!(
            places(&report),
            [(3, Some(PASSWORD_HASH)), (4, Some(PASSWORD_HASH))],
            "{report:#?}"
        );
        assert!(report.problems[0].problem.contains("Django"));
        assert!(report.problems[1].problem.contains("memory"));
        assert_no_hash_in(&report, &hashes);
        let passwords = report.passwords.unwrap();
        assert_eq!(passwords.algorithm, Algorithm::Argon2id);
        assert_eq!(
            passwords.total,
            Counts {
                hashes: 3,
                empty: 1
            }
        );
        // All empty: no algorithm. None of a known form: each a problem.
        let report = run(PasswordMode::Detect, &text(&["", ""]));
        assert!(report.is_valid() && report.passwords.is_none());
        let report = run(
            PasswordMode::Detect,
            &text(&["$1$a$b", "", "hunter2hunter2"]),
        );
        assert_eq!(
            places(&report),
            [(2, Some(PASSWORD_HASH)), (4, Some(PASSWORD_HASH))]
        );
        assert_eq!(report.passwords, None);
    }

    #[test]
    fn another_algorithms_hash_says_a_job_takes_one_and_counts_each() {
        let scrypt = "16384$8$1$0a1b$00ff";
        let hashes = [
            BCRYPT,
            scrypt,
            BCRYPT,
            scrypt,
            "",
            "$pbkdf2-sha256$1000$c2FsdA$aGFzaA",
        ];
        let report = run(PasswordMode::Detect, &text(&hashes));
        assert_eq!(
            places(&report),
            [
                (3, Some(PASSWORD_HASH)),
                (5, Some(PASSWORD_HASH)),
                (7, Some(PASSWORD_HASH))
            ]
        );
        let problem = &report.problems[0].problem;
        assert!(problem.contains("a job takes one algorithm"), "{problem}");
        assert!(
            problem.contains("BCRYPT (named by its first hash, on line 2)"),
            "{problem}"
        );
        assert!(
            problem.contains("2 BCRYPT, 2 SCRYPT, 1 PBKDF2_SHA256"),
            "{problem}"
        );
        assert_no_hash_in(&report, &hashes);
        // Named by the import, the same.
        let report = run(PasswordMode::Named(Algorithm::Scrypt), &text(&hashes));
        assert_eq!(report.problem_count, 3);
        assert!(report.problems[0].problem.contains("named by the import"));
        assert_eq!(report.problems[0].line, 2);
    }

    #[test]
    fn without_an_algorithm_every_hash_is_a_problem() {
        let report = run(PasswordMode::Without, &text(&[BCRYPT, "", "$6$x$y"]));
        assert_eq!(
            places(&report),
            [(2, Some(PASSWORD_HASH)), (4, Some(PASSWORD_HASH))]
        );
        assert!(report.problems[0]
            .problem
            .contains("without a password hashing algorithm"));
        assert!(report.problems[1].problem.contains("crypt"));
    }

    #[test]
    fn each_part_counts_its_own_rows() {
        let hashes = [BCRYPT, "", "", BCRYPT, BCRYPT];
        let limits = PartLimits {
            max_rows: 2,
            max_bytes: MAX_BYTES,
            max_parts: MAX_PARTS,
        };
        let mut checker =
            CsvChecker::parted(&columns(), limits).with_passwords(PasswordMode::Detect);
        for chunk in text(&hashes).as_bytes().chunks(7) {
            checker.feed(chunk).unwrap();
        }
        let report = checker.finish().unwrap();
        assert!(report.is_valid(), "{report:#?}");
        assert_eq!(report.cut.parts.len(), 3);
        let passwords = report.passwords.unwrap();
        assert_eq!(
            passwords.parts,
            [
                Counts {
                    hashes: 1,
                    empty: 1
                },
                Counts {
                    hashes: 1,
                    empty: 1
                },
                Counts {
                    hashes: 1,
                    empty: 0
                }
            ]
        );
        assert_eq!(
            passwords.total,
            Counts {
                hashes: 3,
                empty: 2
            }
        );
    }
}
