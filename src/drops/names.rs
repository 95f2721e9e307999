//! Job names derived from the object alone (SPEC sections 10 and 14), so
//! that every delivery of a drop finds the jobs an earlier one created:
//! `s3-<16 hex>-<file name>` for a drop of one part, and
//! `s3-<16 hex>-p<k>of<n>-<file name>` for part k of n. The 16 hex digits
//! also name the drop's plan, `<RESULTS_PREFIX>plans/<16 hex>.json`.

use sha2::{Digest, Sha256};

use crate::model::ObjectRef;

/// Cognito's limit on `JobName`.
const MAX_JOB_NAME: usize = 128;

/// The first 16 lowercase hex digits of SHA-256(`bucket \n key \n version`),
/// the ETag (without quotes) standing in for the version when there is none.
pub fn drop_hash(object: &ObjectRef) -> String {
    let revision = object
        .version_id
        .as_deref()
        .or(object.etag.as_deref())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{}\n{}\n{revision}", object.bucket, object.key));
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The key's file name (after the last `/`), every character outside
/// `[A-Za-z0-9._-]` made `-`.
fn file_name(key: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or_default();
    file.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn cut(name: String) -> String {
    name.chars().take(MAX_JOB_NAME).collect()
}

/// `s3-<16 hex>-<file name>`, cut to 128 characters.
pub fn job_name(object: &ObjectRef) -> String {
    cut(format!(
        "s3-{}-{}",
        drop_hash(object),
        file_name(&object.key)
    ))
}

/// `s3-<16 hex>-p<k>of<n>-<file name>`, cut to 128 characters.
pub fn part_job_name(object: &ObjectRef, number: u64, count: u64) -> String {
    cut(format!(
        "{}{}",
        part_prefix(&drop_hash(object), number, count),
        file_name(&object.key)
    ))
}

/// What every name of part k of n of the drop `hash` starts with.
pub fn part_prefix(hash: &str, number: u64, count: u64) -> String {
    format!("s3-{hash}-p{number}of{count}-")
}

/// A part's job name, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedPart {
    pub hash: String,
    pub number: u64,
    pub count: u64,
}

/// The drop and part a job name says, if it is a part's name.
pub fn part_of(name: &str) -> Option<NamedPart> {
    let hash = hash_of(name)?;
    let rest = name.get("s3-".len() + hash.len()..)?.strip_prefix("-p")?;
    let (number, rest) = rest.split_once("of")?;
    let (count, _) = rest.split_once('-')?;
    let number: u64 = number.parse().ok()?;
    let count: u64 = count.parse().ok()?;
    (1..=count).contains(&number).then(|| NamedPart {
        hash: hash.to_string(),
        number,
        count,
    })
}

/// The job name of part `number` of a drop of `count` parts: section 10's
/// name for a drop of one part, the part's name otherwise.
pub fn drop_job_name(object: &ObjectRef, number: u64, count: u64) -> String {
    match count {
        1 => job_name(object),
        _ => part_job_name(object, number, count),
    }
}

/// The part of `object`'s drop that job `name` is, when the name is exactly
/// the one derived for it. A name read back alone says nothing: the file
/// `p1of2-users.csv` of one part has a name that reads as part 1 of 2 of
/// some drop, but not as a part of its own (SPEC section 16).
pub fn part_in(object: &ObjectRef, name: &str) -> Option<NamedPart> {
    let part = part_of(name)?;
    (part.hash == drop_hash(object) && part_job_name(object, part.number, part.count) == name)
        .then_some(part)
}

/// The 16 hex digits of a drop's job name, of one part or many.
pub fn hash_of(name: &str) -> Option<&str> {
    let hash = name.strip_prefix("s3-")?.get(..16)?;
    hash.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        .then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, version: Option<&str>, etag: Option<&str>) -> ObjectRef {
        ObjectRef {
            etag: etag.map(str::to_string),
            ..ObjectRef::new("drop-bucket", key, version.map(str::to_string))
        }
    }

    // Expected digests from `printf 'drop-bucket\n<key>\n<revision>' | sha256sum`.
    #[test]
    fn job_name_is_the_spec_derivation() {
        let name = job_name(&object("imports/users 2026.csv", Some("v1"), Some("abc")));
        assert_eq!(name, "s3-34a651bf0934651b-users-2026.csv");
    }

    #[test]
    fn job_name_uses_the_etag_without_a_version() {
        let by_etag = job_name(&object("a.csv", None, Some("0123abcd")));
        assert_eq!(by_etag, "s3-bbcbbdb21f7a942f-a.csv");
        assert_ne!(by_etag, job_name(&object("a.csv", None, Some("other"))));
    }

    #[test]
    fn a_null_version_counts_as_unversioned() {
        // Versioning suspended: every new file at the key is version "null",
        // so only the ETag tells them apart.
        let first = object("a.csv", Some("null"), Some("0123abcd"));
        assert_eq!(first.version_id, None);
        assert_eq!(
            job_name(&first),
            job_name(&object("a.csv", None, Some("0123abcd")))
        );
        assert_ne!(
            job_name(&first),
            job_name(&object("a.csv", Some("null"), Some("ffff0000")))
        );
    }

    #[test]
    fn job_name_replaces_each_character_and_is_cut_to_128() {
        let name = job_name(&object("dir/\u{fc} +x;y.csv", Some("v"), None));
        assert_eq!(name, "s3-d634ce9d5803969e----x-y.csv");
        let long = job_name(&object(&"n".repeat(300), Some("v"), None));
        assert_eq!(long.chars().count(), 128);
        assert!(long.starts_with("s3-"));
    }

    #[test]
    fn part_names_carry_the_part_and_read_back() {
        let o = object("imports/users 2026.csv", Some("v1"), Some("abc"));
        let name = part_job_name(&o, 3, 10);
        assert_eq!(name, "s3-34a651bf0934651b-p3of10-users-2026.csv");
        assert_eq!(
            part_of(&name),
            Some(NamedPart {
                hash: "34a651bf0934651b".into(),
                number: 3,
                count: 10
            })
        );
        assert_eq!(hash_of(&name), Some("34a651bf0934651b"));
        assert_eq!(part_of(&job_name(&o)), None);
        assert_eq!(hash_of(&job_name(&o)), Some("34a651bf0934651b"));
        // A file named like a part is not one: the prefix is checked whole.
        assert_eq!(part_of("s3-34a651bf0934651b-p0of2-x"), None);
        assert_eq!(part_of("s3-34a651bf0934651b-p3of2-x"), None);
        assert_eq!(part_of("s3-NOTHEX0934651b-p1of2-x"), None);
        let long = part_job_name(&object(&"n".repeat(300), Some("v"), None), 12, 100);
        assert_eq!(long.chars().count(), 128);
        assert_eq!(part_of(&long).map(|p| (p.number, p.count)), Some((12, 100)));
    }

    #[test]
    fn a_file_named_like_a_part_is_no_part_of_its_own_drop() {
        let o = object("imports/p1of2-users.csv", Some("v1"), None);
        let single = job_name(&o);
        assert!(
            part_of(&single).is_some(),
            "read alone, the name looks like a part"
        );
        assert_eq!(part_in(&o, &single), None);
        assert_eq!(drop_job_name(&o, 1, 1), single);
        let part = drop_job_name(&o, 2, 3);
        assert_eq!(part, part_job_name(&o, 2, 3));
        assert_eq!(
            part_in(&o, &part).map(|p| (p.number, p.count)),
            Some((2, 3))
        );
        // Another object's part is not this one's.
        let other = object("imports/p1of2-users.csv", Some("v2"), None);
        assert_eq!(part_in(&other, &part), None);
    }
}
