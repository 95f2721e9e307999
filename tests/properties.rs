//! Property tests (proptest) for the pure parts: S3 key decoding (SPEC
//! section 2), event-shape parsing (never panics, only `UnsupportedEvent`),
//! the ID patterns of SPEC section 3, and the password hash checks of SPEC
//! section 15.

use cognito_import_starter::resolve::validate::{is_job_id, is_user_pool_id, parse_ids};
use cognito_import_starter::trigger::{decode_s3_key, parse};
use cognito_import_starter::ErrorKind;
use proptest::prelude::*;
use serde_json::{Map, Value};

// ---------------------------------------------------------------- S3 keys

/// Form encoding as S3 does it: space as `+`, every byte outside the
/// unreserved set as `%XX`.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 %+/._~()=&?#-]{0,40}",
        "[ %+0-9a-fA-FgG\u{e9}\u{1F600}]{0,24}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn form_encoding_then_decoding_gives_the_key_back(s in key_text()) {
        let encoded = form_encode(&s);
        prop_assert_eq!(decode_s3_key(&encoded), Some(s));
    }

    #[test]
    fn lowercase_hex_escapes_decode_too(s in key_text()) {
        // Lowercasing also lowercases the unreserved ASCII letters, and only them.
        let encoded = form_encode(&s).to_ascii_lowercase();
        prop_assert_eq!(decode_s3_key(&encoded), Some(s.to_ascii_lowercase()));
    }

    #[test]
    fn decoding_never_panics(s in key_text()) {
        let _ = decode_s3_key(&s);
    }

    #[test]
    fn keys_without_escapes_are_unchanged(s in key_text()) {
        let s: String = s.chars().filter(|&c| c != '%' && c != '+').collect();
        prop_assert_eq!(decode_s3_key(&s), Some(s.clone()));
    }
}

// ---------------------------------------------------------------- parse

const KEYS: &[&str] = &[
    "Records",
    "eventSource",
    "eventName",
    "aws:s3",
    "aws:sqs",
    "s3",
    "bucket",
    "name",
    "object",
    "key",
    "versionId",
    "version-id",
    "eTag",
    "etag",
    "messageId",
    "body",
    "Action",
    "Event",
    "UserPoolId",
    "JobId",
    "Bucket",
    "Key",
    "VersionId",
    "source",
    "detail-type",
    "detail",
];

const STRINGS: &[&str] = &[
    "aws:s3",
    "aws:sqs",
    "aws.s3",
    "Object Created",
    "Object Deleted",
    "ObjectCreated:Put",
    "ObjectRemoved:Delete",
    "s3:TestEvent",
    "Track",
    "us-east-1_Abc123",
    "import-AbC123",
    "dir/",
    "a%ZZ%e9+b",
    "%C3%A9",
    "%FF",
    "",
];

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-zA-Z:-]{0,8}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        3 => prop::sample::select(STRINGS).prop_map(Value::from),
        1 => any::<String>().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            3 => prop::collection::vec((json_key(), inner.clone()), 0..7)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
            // JSON inside a string, as an SQS body carries it.
            1 => inner.prop_map(|v| Value::String(v.to_string())),
        ]
    })
}

/// Events that look much like the real shapes, with arbitrary parts.
fn shaped_event() -> impl Strategy<Value = Value> {
    let source = prop_oneof![
        prop::sample::select(&["aws:s3", "aws:sqs", "aws.s3", "x"][..]).prop_map(Value::from),
        json_value(),
    ];
    let record = (
        source,
        prop::collection::vec((json_key(), json_value()), 0..5),
    )
        .prop_map(|(source, extra)| {
            let mut record: Map<String, Value> = extra.into_iter().collect();
            record.insert("eventSource".into(), source);
            Value::Object(record)
        });
    prop_oneof![
        prop::collection::vec(record, 0..4).prop_map(|records| {
            let mut event = Map::new();
            event.insert("Records".into(), Value::Array(records));
            Value::Object(event)
        }),
        (json_value(), json_value(), json_value()).prop_map(|(source, detail_type, detail)| {
            let mut event = Map::new();
            event.insert("source".into(), source);
            event.insert("detail-type".into(), detail_type);
            event.insert("detail".into(), detail);
            Value::Object(event)
        }),
    ]
}

fn check_parse(event: &Value) -> Result<(), TestCaseError> {
    if let Err(error) = parse(event) {
        prop_assert_eq!(
            error.kind,
            ErrorKind::UnsupportedEvent,
            "event {} gave {:?}",
            event,
            error
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_and_only_refuses_as_unsupported(event in json_value()) {
        check_parse(&event)?;
    }

    #[test]
    fn parse_of_near_real_shapes_never_panics(event in shaped_event()) {
        check_parse(&event)?;
    }
}

// ---------------------------------------------------------------- IDs

const MAX: usize = 55;

fn word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Full match of `[\w-]+_[0-9a-zA-Z]+`, 1 to 55 characters, by trying every
/// `_` as the separator.
fn reference_pool(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() || chars.len() > MAX {
        return false;
    }
    (1..chars.len().saturating_sub(1)).any(|i| {
        chars[i] == '_'
            && chars[..i].iter().all(|&c| word(c) || c == '-')
            && chars[i + 1..].iter().all(|c| c.is_ascii_alphanumeric())
    })
}

/// Full match of `import-[0-9a-zA-Z-]+`, 1 to 55 characters.
fn reference_job(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let prefix: Vec<char> = "import-".chars().collect();
    chars.len() <= MAX
        && chars.len() > prefix.len()
        && chars[..prefix.len()] == prefix[..]
        && chars[prefix.len()..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == '-')
}

const ALPHABET: &[char] = &[
    'a', 'Z', '0', '9', '_', '-', ' ', '.', '\t', '\n', '\u{0}', '\u{7f}', '\u{e9}', '\u{85}',
    '\u{3000}', 'i', 'm', 'p', 'o', 'r', 't',
];

fn id_candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(ALPHABET), 0..64)
            .prop_map(|c| c.into_iter().collect()),
        "[a-zA-Z0-9_-]{0,60}",
        "[a-z]{2}-[a-z]{1,9}-[0-9]_[a-zA-Z0-9_-]{0,50}",
        "import-[a-zA-Z0-9_-]{0,55}",
        "(import)?[a-zA-Z0-9_\u{e9} -]{0,20}",
        any::<String>(),
    ]
}

fn valid_pool() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,20}_[a-zA-Z0-9]{1,30}"
}

fn valid_job() -> impl Strategy<Value = String> {
    "import-[a-zA-Z0-9-]{1,40}"
}

/// A character that makes any ID invalid, even after trimming when placed
/// inside it: an ASCII or C1 control character, or any non-ASCII character.
fn bad_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u8..0x20).prop_map(char::from),
        Just('\u{7f}'),
        (0x80u32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
        any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii()),
    ]
}

#[derive(Debug, Clone)]
enum Corruption {
    Insert(char, prop::sample::Index),
    TooLong(usize),
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        (bad_char(), any::<prop::sample::Index>()).prop_map(|(c, i)| Corruption::Insert(c, i)),
        (MAX + 1..MAX + 40).prop_map(Corruption::TooLong),
    ]
}

fn corrupt(value: &str, how: &Corruption, pad: char) -> String {
    match how {
        // Strictly inside, so that trimming cannot remove it.
        Corruption::Insert(c, index) => {
            let at = 1 + index.index(value.len() - 1);
            let mut out = value.to_string();
            out.insert(at, *c);
            out
        }
        Corruption::TooLong(len) => {
            let mut out = value.to_string();
            while out.len() < *len {
                out.push(pad);
            }
            out
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn user_pool_ids_match_the_reference(s in prop_oneof![id_candidate(), valid_pool()]) {
        prop_assert_eq!(is_user_pool_id(&s), reference_pool(&s), "{:?}", s);
    }

    #[test]
    fn job_ids_match_the_reference(s in prop_oneof![id_candidate(), valid_job()]) {
        prop_assert_eq!(is_job_id(&s), reference_job(&s), "{:?}", s);
    }

    #[test]
    fn valid_ids_pass_parse_ids_trimmed(
        pool in valid_pool(),
        job in valid_job(),
        pad in "[ \t\n\r]{0,3}",
    ) {
        let ids = parse_ids(
            ("pool", &format!("{pad}{pool}{pad}")),
            ("job", &format!("{pad}{job}{pad}")),
        );
        let ids = ids.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(ids.user_pool_id, pool);
        prop_assert_eq!(ids.job_id, job);
    }

    #[test]
    fn bad_values_are_refused_as_invalid_metadata_with_a_clean_message(
        pool in valid_pool(),
        job in valid_job(),
        how in corruption(),
        corrupt_pool in any::<bool>(),
    ) {
        let (pool, job) = if corrupt_pool {
            (corrupt(&pool, &how, 'a'), job)
        } else {
            (pool, corrupt(&job, &how, 'a'))
        };
        let error = match parse_ids(("metadata user-pool-id", &pool), ("metadata job-id", &job)) {
            Ok(ids) => return Err(TestCaseError::fail(format!("accepted {pool:?} / {job:?} as {ids:?}"))),
            Err(error) => error,
        };
        prop_assert_eq!(error.kind, ErrorKind::InvalidImportMetadata);
        prop_assert!(
            !error.message.chars().any(char::is_control),
            "raw control character in {:?}",
            error.message
        );
        prop_assert!(error.message.is_ascii(), "raw non-ASCII in {:?}", error.message);
        let origin = if corrupt_pool { "metadata user-pool-id" } else { "metadata job-id" };
        prop_assert!(error.message.contains(origin), "{:?}", error.message);
    }
}

// ------------------------------------------------ password hashes (SPEC 15)

mod password_hashes {
    use cognito_import_starter::csv_check::password::{check_hash, Algorithm, PasswordMode};
    use cognito_import_starter::csv_check::CsvChecker;
    use proptest::prelude::*;

    const BCRYPT_CHARS: &str = "[./A-Za-z0-9]{53}";
    const BASE64: &str = "[A-Za-z0-9+/]{1,43}";

    fn hex() -> impl Strategy<Value = String> {
        "([0-9a-fA-F]{2}){1,32}"
    }

    fn bcrypt(cost: impl Strategy<Value = u32>) -> impl Strategy<Value = String> {
        ("[abxy]", cost, BCRYPT_CHARS).prop_map(|(v, cost, rest)| format!("$2{v}${cost:02}${rest}"))
    }

    fn scrypt(
        n: impl Strategy<Value = u64>,
        r: impl Strategy<Value = u64>,
        p: impl Strategy<Value = u64>,
    ) -> impl Strategy<Value = String> {
        (n, r, p, hex(), hex()).prop_map(|(n, r, p, s, h)| format!("{n}${r}${p}${s}${h}"))
    }

    fn argon2id(
        m: impl Strategy<Value = u64>,
        t: impl Strategy<Value = u64>,
        p: impl Strategy<Value = u64>,
    ) -> impl Strategy<Value = String> {
        (m, t, p, BASE64, BASE64)
            .prop_map(|(m, t, p, s, h)| format!("$argon2id$v=19$m={m},t={t},p={p}${s}${h}"))
    }

    fn pbkdf2(iterations: impl Strategy<Value = u64>) -> impl Strategy<Value = String> {
        (iterations, "[A-Za-z0-9+/.]{1,43}", "[A-Za-z0-9+/.]{1,43}")
            .prop_map(|(i, s, h)| format!("$pbkdf2-sha256${i}${s}${h}"))
    }

    /// Hashes of each algorithm within Cognito's bounds.
    fn within() -> impl Strategy<Value = (Algorithm, String)> {
        prop_oneof![
            bcrypt(4u32..=12).prop_map(|h| (Algorithm::Bcrypt, h)),
            scrypt((1u32..=16).prop_map(|k| 1u64 << k), 1u64..=8, Just(1))
                .prop_map(|h| (Algorithm::Scrypt, h)),
            argon2id(8u64..=19_456, 1u64..=2, Just(1)).prop_map(|h| (Algorithm::Argon2id, h)),
            pbkdf2(1u64..=600_000).prop_map(|h| (Algorithm::Pbkdf2Sha256, h)),
        ]
    }

    /// Hashes one past (or beyond) one of the bounds, the rest within.
    fn past_a_bound() -> impl Strategy<Value = (Algorithm, String)> {
        let bcrypt_cost = prop_oneof![0u32..=3, 13u32..=99];
        let not_power = (2u64..=65_536).prop_filter("not a power of two", |n| !n.is_power_of_two());
        prop_oneof![
            bcrypt(bcrypt_cost).prop_map(|h| (Algorithm::Bcrypt, h)),
            scrypt(
                prop_oneof![Just(1u64), not_power, 65_537u64..=1 << 40],
                1u64..=8,
                Just(1)
            )
            .prop_map(|h| (Algorithm::Scrypt, h)),
            scrypt(Just(16_384), prop_oneof![Just(0u64), 9u64..=1000], Just(1))
                .prop_map(|h| (Algorithm::Scrypt, h)),
            scrypt(Just(16_384), 1u64..=8, prop_oneof![Just(0u64), 2u64..=64])
                .prop_map(|h| (Algorithm::Scrypt, h)),
            argon2id(
                prop_oneof![0u64..=7, 19_457u64..=1 << 30],
                1u64..=2,
                Just(1)
            )
            .prop_map(|h| (Algorithm::Argon2id, h)),
            argon2id(8u64..=19_456, prop_oneof![Just(0u64), 3u64..=100], Just(1))
                .prop_map(|h| (Algorithm::Argon2id, h)),
            argon2id(8u64..=19_456, 1u64..=2, prop_oneof![Just(0u64), 2u64..=64])
                .prop_map(|h| (Algorithm::Argon2id, h)),
            pbkdf2(prop_oneof![Just(0u64), 600_001u64..=100_000_000])
                .prop_map(|h| (Algorithm::Pbkdf2Sha256, h)),
        ]
    }

    /// The problems of a one-user file whose hash is `hash` under `algorithm`.
    fn file_problems(algorithm: Algorithm, hash: &str) -> Vec<String> {
        let columns: Vec<String> = ["cognito:username", "email", "email_verified"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        let file = format!(
            "cognito:username,email,email_verified,password_hash\nann,ann@example.com,true,{}\n",
            hash.replace(',', "\\,")
        );
        let mut checker = CsvChecker::new(&columns).with_passwords(PasswordMode::Named(algorithm));
        checker.feed(file.as_bytes()).unwrap();
        let report = checker.finish().unwrap();
        report.problems.into_iter().map(|p| p.problem).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_hash_within_the_bounds_passes((algorithm, hash) in within()) {
            prop_assert_eq!(check_hash(algorithm, hash.as_bytes()), Ok(()));
            prop_assert_eq!(file_problems(algorithm, &hash), Vec::<String>::new());
        }

        #[test]
        fn a_hash_past_a_bound_is_a_problem_that_never_holds_it(
            (algorithm, hash) in past_a_bound()
        ) {
            let problem = check_hash(algorithm, hash.as_bytes()).unwrap_err();
            prop_assert!(!problem.contains(&hash), "{}", problem);
            let problems = file_problems(algorithm, &hash);
            prop_assert_eq!(problems.len(), 1);
            prop_assert!(!problems[0].contains(&hash), "{}", problems[0]);
        }

        #[test]
        fn another_algorithms_hash_is_a_problem_that_never_holds_it(
            (algorithm, hash) in within(),
            named in 0usize..4,
        ) {
            let named = cognito_import_starter::csv_check::password::ALGORITHMS[named];
            let problems = file_problems(named, &hash);
            prop_assert_eq!(problems.len(), usize::from(named != algorithm));
            for problem in problems {
                prop_assert!(!problem.contains(&hash), "{}", problem);
            }
        }
    }
}
