//! A drop's plan (SPEC sections 14 and 16): written after the preflight as
//! `<RESULTS_PREFIX>plans/<16 hex>.json` in the drop's bucket, for every
//! create-mode drop (one part too), so that later receives and `Track` find
//! each part without reading the file again. It says which object it is
//! of, the header's length, each part's rows and bytes, which job received
//! each part's CSV, and which parts' Started events were published. No
//! import metadata: it can start nothing, and its own event is ignored (it
//! lies under `RESULTS_PREFIX`).
//!
//! A plan is a cache, not a source: it is checked against the object
//! before use ([`PartPlan::check`]), and no byte of an upload comes from it.
//! Fields added later are optional (`serde(default)`), so a plan written by
//! an older version is read for what it holds; `Version` says which wrote
//! it (a plan without one is version 1).

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::csv_check::groups::{GroupCounts, Groups};
use crate::csv_check::parts::{Cut, PartLimits, PartRange};
use crate::csv_check::password::Passwords;
use crate::drops::cut::UploadShape;
use crate::error::ImportError;
use crate::model::{ObjectRef, PasswordCounts};

/// A plan is a few kilobytes; a larger object under its key is not one.
const MAX_PLAN_BYTES: usize = 1024 * 1024;

/// The format this version writes: 2 adds `Version`, each part's `JobId`,
/// and drops `Header` (a part's header is read from the object).
pub const VERSION: u32 = 2;

fn first_version() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartPlan {
    #[serde(rename = "Version", default = "first_version")]
    pub version: u32,
    #[serde(rename = "Object")]
    pub object: PlannedObject,
    #[serde(rename = "UserPoolId")]
    pub user_pool_id: String,
    /// The header line's length, its line ending included: every part's
    /// upload starts with bytes `0..HeaderBytes` of the source.
    #[serde(rename = "HeaderBytes")]
    pub header_bytes: u64,
    /// The header line, as version 1 wrote it. Only read, to check the plan
    /// (its length must be `HeaderBytes`), and never used: a read plan has
    /// none, and no version writes it any more.
    #[serde(rename = "Header", default, skip_serializing)]
    pub header: Option<String>,
    /// The `PART_MAX_ROWS` the file was cut with.
    #[serde(rename = "PartMaxRows")]
    pub part_max_rows: u64,
    #[serde(rename = "Parts")]
    pub parts: Vec<PlannedPart>,
    /// SPEC section 15: the algorithm every part's job is created with,
    /// when the file has hashes.
    #[serde(
        rename = "PasswordHashingAlgorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub password_algorithm: Option<String>,
    /// SPEC section 17: where the `cognito:groups` column is in the header,
    /// when the file has one: every part's upload goes without it.
    #[serde(
        rename = "GroupsColumn",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub groups_column: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedObject {
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "VersionId", default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(rename = "ETag", default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPart {
    #[serde(flatten)]
    pub range: PartRange,
    /// Its Started event was published: the cursor may move past it.
    #[serde(rename = "StartedEventPublished", default)]
    pub published: bool,
    /// The job that received the part's CSV, recorded once the upload
    /// succeeded: that job is started, never uploaded to again.
    #[serde(rename = "JobId", default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// SPEC section 15: the part's rows with a hash and without one.
    #[serde(rename = "Passwords", default, skip_serializing_if = "Option::is_none")]
    pub passwords: Option<PartPasswords>,
    /// SPEC section 17: the part's groups, and the length of its upload
    /// (header and rows) without the `cognito:groups` column.
    #[serde(rename = "Groups", default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<PartGroupsPlan>,
}

/// A part's groups as the plan keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartGroupsPlan {
    #[serde(flatten)]
    pub counts: GroupCounts,
    #[serde(rename = "UploadBytes")]
    pub upload_bytes: u64,
}

/// A part's counts of the `password_hash` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartPasswords {
    #[serde(rename = "Hashes")]
    pub hashes: u64,
    #[serde(rename = "Empty")]
    pub empty: u64,
}

impl PlannedObject {
    pub fn of(object: &ObjectRef) -> PlannedObject {
        // The version pins a versioned object; only an unversioned one is
        // pinned by its ETag.
        PlannedObject {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            version_id: object.version_id.clone(),
            etag: object.etag.clone().filter(|_| object.version_id.is_none()),
        }
    }
}

impl PartPlan {
    pub fn new(object: &ObjectRef, pool: &str, cut: &Cut, part_max_rows: u64) -> PartPlan {
        PartPlan {
            version: VERSION,
            object: PlannedObject::of(object),
            user_pool_id: pool.to_string(),
            header_bytes: cut.header_bytes,
            header: None,
            part_max_rows,
            parts: cut
                .parts
                .iter()
                .map(|&range| PlannedPart {
                    range,
                    published: false,
                    job_id: None,
                    passwords: None,
                    groups: None,
                })
                .collect(),
            password_algorithm: None,
            groups_column: None,
        }
    }

    /// The plan with where the `cognito:groups` column is, and each part's
    /// groups and upload length (SPEC section 17), from the pass that cut
    /// the file.
    pub fn with_groups(mut self, groups: Option<&Groups>) -> PartPlan {
        let Some(groups) = groups else {
            return self;
        };
        self.groups_column = Some(groups.column);
        for (part, counted) in self.parts.iter_mut().zip(&groups.parts) {
            part.groups = Some(PartGroupsPlan {
                counts: counted.counts,
                upload_bytes: counted.upload_bytes,
            });
        }
        self
    }

    /// Part `number`'s `Groups`, for its Started event.
    pub fn groups_of(&self, number: u64) -> Option<GroupCounts> {
        self.part(number)?.groups.map(|g| g.counts)
    }

    /// What goes to Cognito of part `number`: without the `cognito:groups`
    /// column when the file has one.
    pub fn upload_shape(&self, number: u64) -> UploadShape {
        let part = self.part(number).and_then(|p| p.groups);
        match (self.groups_column, part) {
            (Some(column), Some(part)) => UploadShape::WithoutGroups {
                column,
                length: part.upload_bytes,
            },
            _ => UploadShape::AsIs,
        }
    }

    /// The plan with the file's algorithm and each part's counts (SPEC
    /// section 15), from the preflight that cut it.
    pub fn with_passwords(mut self, passwords: Option<&Passwords>) -> PartPlan {
        let Some(passwords) = passwords else {
            return self;
        };
        self.password_algorithm = Some(passwords.algorithm.to_string());
        for (part, counts) in self.parts.iter_mut().zip(&passwords.parts) {
            part.passwords = Some(PartPasswords {
                hashes: counts.hashes,
                empty: counts.empty,
            });
        }
        self
    }

    /// Part `number`'s `Passwords`, for its Started event: when the plan
    /// has both the algorithm and the part's counts.
    pub fn passwords_of(&self, number: u64) -> Option<PasswordCounts> {
        let algorithm = self.password_algorithm.clone()?;
        let counts = self.part(number)?.passwords?;
        Some(PasswordCounts {
            algorithm,
            hashes: counts.hashes,
            empty: counts.empty,
        })
    }

    /// Whether the plan is of this object (a plan of another version or
    /// ETag at the same key is made again).
    pub fn is_of(&self, object: &ObjectRef) -> bool {
        self.object == PlannedObject::of(object)
    }

    /// Whether the plan can be used for `object` of `size` bytes (when
    /// known): of that object, its parts numbered in order, their rows and
    /// bytes following each other from the header's end to the object's
    /// end, each part within one job's limits. The reason when not.
    pub fn check(
        &self,
        object: &ObjectRef,
        size: Option<u64>,
        limits: PartLimits,
    ) -> Result<(), String> {
        if !self.is_of(object) {
            return Err("it is the plan of another object".into());
        }
        if self.parts.is_empty() || self.count() > limits.max_parts {
            return Err(format!("it has {} parts", self.parts.len()));
        }
        if self.header_bytes == 0 || self.part_max_rows > crate::csv_check::MAX_ROWS {
            return Err("its header length or its PartMaxRows is out of bounds".into());
        }
        if let Some(header) = &self.header {
            if header.len() as u64 != self.header_bytes {
                return Err("its header line is not HeaderBytes long".into());
            }
        }
        let (mut byte, mut row) = (self.header_bytes, 1);
        for (index, part) in self.parts.iter().enumerate() {
            let r = part.range;
            let number = index as u64 + 1;
            if r.number != number || r.first_byte != byte || r.first_row != row {
                return Err(format!("part {number} does not follow the one before"));
            }
            // Every row takes a byte at least.
            if r.last_row < r.first_row || r.end_byte < r.first_byte || r.rows() > r.bytes() {
                return Err(format!("part {number} has a bad range"));
            }
            if r.rows() > self.part_max_rows || self.header_bytes + r.bytes() > limits.max_bytes {
                return Err(format!("part {number} is over one job's limits"));
            }
            (byte, row) = (r.end_byte, r.last_row + 1);
        }
        match size {
            Some(size) if size != byte => Err(format!(
                "its parts end at byte {byte}, the object at {size}"
            )),
            _ => Ok(()),
        }
    }

    pub fn count(&self) -> u64 {
        self.parts.len() as u64
    }

    /// Part `number` (1-based).
    pub fn part(&self, number: u64) -> Option<&PlannedPart> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.parts.get(index)
    }

    fn part_mut(&mut self, number: u64) -> Option<&mut PlannedPart> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.parts.get_mut(index)
    }

    /// The plan once part `number`'s Started event is published.
    pub fn published(mut self, number: u64) -> PartPlan {
        if let Some(part) = self.part_mut(number) {
            part.published = true;
        }
        self
    }

    /// The plan once part `number`'s CSV is uploaded to `job_id`.
    pub fn uploaded(mut self, number: u64, job_id: &str) -> PartPlan {
        if let Some(part) = self.part_mut(number) {
            part.job_id = Some(job_id.to_string());
        }
        self
    }

    /// The job recorded as holding part `number`'s CSV.
    pub fn uploaded_job(&self, number: u64) -> Option<&str> {
        self.part(number)?.job_id.as_deref()
    }
}

/// `<RESULTS_PREFIX>plans/<16 hex>.json`.
pub fn key(results_prefix: &str, hash: &str) -> String {
    format!("{results_prefix}plans/{hash}.json")
}

/// The plan of drop `hash` in `bucket`; `None` when there is none (or what
/// is there is not a plan: it is made again). Its `Header` is dropped
/// once its length is checked: no caller takes bytes from a plan.
pub async fn read(app: &App, bucket: &str, hash: &str) -> Result<Option<PartPlan>, ImportError> {
    let Some(mut plan) = read_raw(app, bucket, hash).await? else {
        return Ok(None);
    };
    if plan
        .header
        .take()
        .is_some_and(|h| h.len() as u64 != plan.header_bytes)
    {
        tracing::warn!(
            key = key(&app.config.results_prefix, hash),
            "the plan's header line is not HeaderBytes long; it is made again"
        );
        return Ok(None);
    }
    Ok(Some(plan))
}

/// The plan of drop `hash` when it passes [`PartPlan::check`] for `object` of
/// `size` bytes; one that fails it is logged and `None` (made again from the
/// file).
pub async fn read_checked(
    app: &App,
    object: &ObjectRef,
    size: Option<u64>,
    hash: &str,
) -> Result<Option<PartPlan>, ImportError> {
    let Some(mut plan) = read_raw(app, &object.bucket, hash).await? else {
        return Ok(None);
    };
    let limits = crate::drops::cut::limits(app.config.part_max_rows);
    if let Err(why) = plan.check(object, size, limits) {
        tracing::warn!(
            key = key(&app.config.results_prefix, hash),
            object = %object,
            why,
            "the drop's plan failed its check; it is made again from the file"
        );
        return Ok(None);
    }
    plan.header = None;
    Ok(Some(plan))
}

/// The plan as stored, unchecked.
async fn read_raw(app: &App, bucket: &str, hash: &str) -> Result<Option<PartPlan>, ImportError> {
    let key = key(&app.config.results_prefix, hash);
    let what = format!("GetObject s3://{bucket}/{key}");
    let Some(mut body) = app.s3().get_own(bucket, &key).await? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            ImportError::new(
                crate::error::ErrorKind::ServiceUnavailable,
                format!("{what}: the plan's stream broke off; it will be retried"),
            )
        })?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_PLAN_BYTES {
            tracing::warn!(key, "not a plan (too large); it is made again");
            return Ok(None);
        }
    }
    match serde_json::from_slice::<PartPlan>(&bytes) {
        Ok(plan) if !plan.parts.is_empty() => Ok(Some(plan)),
        _ => {
            tracing::warn!(key, "not a plan this function wrote; it is made again");
            Ok(None)
        }
    }
}

/// Writes the plan (again), in this version's format.
pub async fn write(app: &App, hash: &str, plan: &PartPlan) -> Result<(), ImportError> {
    let bucket = &plan.object.bucket;
    let key = key(&app.config.results_prefix, hash);
    let current = PartPlan {
        version: VERSION,
        header: None,
        ..plan.clone()
    };
    let body = serde_json::to_vec_pretty(&current).map_err(|error| {
        ImportError::new(
            crate::error::ErrorKind::ServiceUnavailable,
            format!(
                "the plan of {} could not be written: {error}",
                plan.object.key
            ),
        )
    })?;
    app.s3()
        .put_object(bucket, &key, "application/json", body)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> ObjectRef {
        ObjectRef {
            etag: Some("abc".into()),
            ..ObjectRef::new("b", "k.csv", None)
        }
    }

    fn range(number: u64, rows: (u64, u64), bytes: (u64, u64)) -> PartRange {
        PartRange {
            number,
            first_row: rows.0,
            last_row: rows.1,
            first_byte: bytes.0,
            end_byte: bytes.1,
        }
    }

    fn cut() -> Cut {
        Cut {
            header_bytes: 12,
            header: Some("h1,h2,h3,h4\n".into()),
            parts: vec![range(1, (1, 2), (12, 30)), range(2, (3, 3), (30, 39))],
        }
    }

    const LIMITS: PartLimits = PartLimits {
        max_rows: 2,
        max_bytes: 100,
        max_parts: 100,
    };

    #[test]
    fn the_plan_is_json_with_the_spec_fields() {
        let object = object();
        let plan = PartPlan::new(&object, "us-east-1_P1", &cut(), 2)
            .uploaded(1, "import-A")
            .published(1);
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "Version": 2,
                "Object": {"Bucket": "b", "Key": "k.csv", "ETag": "abc"},
                "UserPoolId": "us-east-1_P1", "HeaderBytes": 12, "PartMaxRows": 2,
                "Parts": [
                    {"Number": 1, "FirstLine": 1, "LastLine": 2, "FirstByte": 12, "EndByte": 30, "StartedEventPublished": true, "JobId": "import-A"},
                    {"Number": 2, "FirstLine": 3, "LastLine": 3, "FirstByte": 30, "EndByte": 39, "StartedEventPublished": false}
                ]
            })
        );
        let back: PartPlan = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan);
        assert!(plan.is_of(&object));
        let replaced = ObjectRef {
            etag: Some("def".into()),
            ..object.clone()
        };
        assert!(!plan.is_of(&replaced));
        assert_eq!(plan.part(2).map(|p| p.range.first_row), Some(3));
        assert_eq!(plan.uploaded_job(1), Some("import-A"));
        assert_eq!(plan.uploaded_job(2), None);
        assert_eq!(plan.part(0), None);
        assert_eq!(plan.part(3), None);
    }

    #[test]
    fn a_plan_of_the_first_format_is_read_for_what_it_holds() {
        // As version 1 wrote it: no Version, the header line, no JobId.
        let v1 = serde_json::json!({
            "Object": {"Bucket": "b", "Key": "k.csv", "ETag": "abc"},
            "UserPoolId": "us-east-1_P1", "HeaderBytes": 12, "Header": "h1,h2,h3,h4\n", "PartMaxRows": 2,
            "Parts": [
                {"Number": 1, "FirstLine": 1, "LastLine": 2, "FirstByte": 12, "EndByte": 30, "StartedEventPublished": true},
                {"Number": 2, "FirstLine": 3, "LastLine": 3, "FirstByte": 30, "EndByte": 39, "StartedEventPublished": false}
            ],
            "SomeLaterField": {"ignored": true}
        });
        let plan: PartPlan = serde_json::from_value(v1).unwrap();
        assert_eq!(plan.version, 1);
        assert!(plan.part(1).unwrap().published);
        assert_eq!(plan.uploaded_job(1), None);
        assert_eq!(plan.check(&object(), Some(39), LIMITS), Ok(()));
        // Written again, it is the current format, without the header.
        let written = serde_json::to_value(PartPlan {
            version: VERSION,
            ..plan
        })
        .unwrap();
        assert_eq!(written["Version"], 2);
        assert!(written.get("Header").is_none());
    }

    #[test]
    fn a_plan_is_checked_against_its_object_before_use() {
        let good = PartPlan::new(&object(), "us-east-1_P1", &cut(), 2);
        assert_eq!(good.check(&object(), Some(39), LIMITS), Ok(()));
        assert_eq!(good.check(&object(), None, LIMITS), Ok(()));
        let failing = |edit: &dyn Fn(&mut PartPlan), size: u64| {
            let mut plan = good.clone();
            edit(&mut plan);
            plan.check(&object(), Some(size), LIMITS).unwrap_err()
        };
        let other = ObjectRef {
            etag: Some("def".into()),
            ..object()
        };
        assert_eq!(
            good.check(&other, Some(39), LIMITS),
            Err("it is the plan of another object".into())
        );
        assert!(failing(&|_| {}, 40).contains("end at byte 39"));
        assert!(failing(&|p| p.parts[1].range.first_byte = 31, 39).contains("part 2"));
        assert!(failing(&|p| p.parts[0].range.first_byte = 0, 39).contains("part 1"));
        assert!(failing(&|p| p.parts[1].range.first_row = 4, 39).contains("part 2"));
        assert!(failing(&|p| p.parts[1].range.number = 3, 39).contains("part 2"));
        // Ranges that would underflow are refused, not computed.
        let bad = failing(
            &|p| {
                p.parts[1].range.last_row = 2;
            },
            39,
        );
        assert!(bad.contains("bad range"), "{bad}");
        assert!(failing(&|p| p.part_max_rows = 1, 39).contains("limits"));
        assert!(failing(&|p| p.parts.clear(), 39).contains("0 parts"));
        assert!(failing(&|p| p.header = Some("h1,h2\nforged\n".into()), 39).contains("header"));
        let tight = PartLimits {
            max_bytes: 29,
            ..LIMITS
        };
        let over = good.check(&object(), Some(39), tight).unwrap_err();
        assert!(over.contains("over one job's limits"), "{over}");
    }

    #[test]
    fn the_plan_keeps_the_algorithm_and_each_parts_counts() {
        use crate::csv_check::password::{Algorithm, Counts};
        let object = ObjectRef::new("b", "k.csv", Some("v1".into()));
        let range = |number, first_byte, end_byte| PartRange {
            number,
            first_row: number,
            last_row: number,
            first_byte,
            end_byte,
        };
        let cut = Cut {
            header_bytes: 3,
            header: None,
            parts: vec![range(1, 3, 5), range(2, 5, 7)],
        };
        let passwords = Passwords {
            algorithm: Algorithm::Bcrypt,
            total: Counts {
                hashes: 1,
                empty: 1,
            },
            parts: vec![
                Counts {
                    hashes: 1,
                    empty: 0,
                },
                Counts {
                    hashes: 0,
                    empty: 1,
                },
            ],
        };
        let plan = PartPlan::new(&object, "us-east-1_P1", &cut, 1).with_passwords(Some(&passwords));
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["PasswordHashingAlgorithm"], "BCRYPT");
        assert_eq!(
            json["Parts"][1]["Passwords"],
            serde_json::json!({"Hashes": 0, "Empty": 1})
        );
        let second = plan.passwords_of(2).unwrap();
        assert_eq!(
            (second.algorithm.as_str(), second.hashes, second.empty),
            ("BCRYPT", 0, 1)
        );
        // A plan written without them (an older one, or a file without
        // hashes) reads as before.
        let mut old = json.clone();
        old.as_object_mut()
            .unwrap()
            .remove("PasswordHashingAlgorithm");
        for part in old["Parts"].as_array_mut().unwrap() {
            part.as_object_mut().unwrap().remove("Passwords");
        }
        let back: PartPlan = serde_json::from_value(old).unwrap();
        assert_eq!(back, PartPlan::new(&object, "us-east-1_P1", &cut, 1));
        assert_eq!(back.passwords_of(1), None);
    }
}
