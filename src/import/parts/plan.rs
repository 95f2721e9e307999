//! A drop's plan (SPEC section 14): written once after the preflight as
//! `<RESULTS_PREFIX>plans/<16 hex>.json` in the drop's bucket, so that later
//! receives and `Track` find each part without reading the file again. It
//! says which object it is of, the header's length, each part's rows and
//! bytes, and which parts' Started events were published. No import
//! metadata: it can start nothing, and its own event is ignored (it lies
//! under `RESULTS_PREFIX`).

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::csv_check::parts::{Cut, PartRange};
use crate::csv_check::password::Passwords;
use crate::error::{classify_sdk_error, ImportError, Service};
use crate::model::{ObjectRef, PasswordCounts};

/// A plan is a few kilobytes; a larger object under its key is not one.
const MAX_PLAN_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    #[serde(rename = "Object")]
    pub object: PlannedObject,
    #[serde(rename = "UserPoolId")]
    pub user_pool_id: String,
    /// The header line's length, its line ending included: every part's
    /// upload starts with bytes `0..HeaderBytes` of the source.
    #[serde(rename = "HeaderBytes")]
    pub header_bytes: u64,
    /// The header line itself (when it is UTF-8, as a file that passed the
    /// preflight's is), so that a part's upload reads only the part's bytes.
    #[serde(rename = "Header", default, skip_serializing_if = "Option::is_none")]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPart {
    #[serde(flatten)]
    pub range: PartRange,
    /// Its Started event was published: the cursor may move past it.
    #[serde(rename = "StartedEventPublished")]
    pub published: bool,
    /// SPEC section 15: the part's rows with a hash and without one.
    #[serde(rename = "Passwords", default, skip_serializing_if = "Option::is_none")]
    pub passwords: Option<PartPasswords>,
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

impl Plan {
    pub fn new(object: &ObjectRef, pool: &str, cut: &Cut, part_max_rows: u64) -> Plan {
        Plan {
            object: PlannedObject::of(object),
            user_pool_id: pool.to_string(),
            header_bytes: cut.header_bytes,
            header: cut
                .header
                .clone()
                .filter(|h| h.len() as u64 == cut.header_bytes),
            part_max_rows,
            parts: cut
                .parts
                .iter()
                .map(|&range| PlannedPart {
                    range,
                    published: false,
                    passwords: None,
                })
                .collect(),
            password_algorithm: None,
        }
    }

    /// The plan with the file's algorithm and each part's counts (SPEC
    /// section 15), from the preflight that cut it.
    pub fn with_passwords(mut self, passwords: Option<&Passwords>) -> Plan {
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

    pub fn count(&self) -> u64 {
        self.parts.len() as u64
    }

    /// Part `number` (1-based).
    pub fn part(&self, number: u64) -> Option<&PlannedPart> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.parts.get(index)
    }

    /// The plan once part `number`'s Started event is published.
    pub fn published(mut self, number: u64) -> Plan {
        if let Some(part) = number
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.parts.get_mut(i))
        {
            part.published = true;
        }
        self
    }
}

/// `<RESULTS_PREFIX>plans/<16 hex>.json`.
pub fn key(app: &App, hash: &str) -> String {
    format!("{}plans/{hash}.json", app.config.results_prefix)
}

/// The plan of drop `hash` in `bucket`; `None` when there is none (or what
/// is there is not a plan: it is made again).
pub async fn read(app: &App, bucket: &str, hash: &str) -> Result<Option<Plan>, ImportError> {
    let key = key(app, hash);
    let what = format!("GetObject s3://{bucket}/{key}");
    let output = app
        .clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .set_expected_bucket_owner(app.config.expected_bucket_owner.clone())
        .send()
        .await;
    let output = match output {
        Ok(output) => output,
        Err(error) if error.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
            return Ok(None)
        }
        Err(error) => return Err(classify_sdk_error(Service::S3, &what, &error)),
    };
    let mut body = output.body;
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
    match serde_json::from_slice::<Plan>(&bytes) {
        Ok(plan) if !plan.parts.is_empty() => Ok(Some(plan)),
        _ => {
            tracing::warn!(key, "not a plan this function wrote; it is made again");
            Ok(None)
        }
    }
}

/// Writes the plan (again).
pub async fn write(app: &App, hash: &str, plan: &Plan) -> Result<(), ImportError> {
    let bucket = &plan.object.bucket;
    let key = key(app, hash);
    let body = serde_json::to_vec_pretty(plan).map_err(|error| {
        ImportError::new(
            crate::error::ErrorKind::ServiceUnavailable,
            format!(
                "the plan of {} could not be written: {error}",
                plan.object.key
            ),
        )
    })?;
    crate::resolve::put_object(app, bucket, &key, "application/json", body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_json_with_the_spec_fields() {
        let object = ObjectRef {
            etag: Some("abc".into()),
            ..ObjectRef::new("b", "k.csv", None)
        };
        let cut = Cut {
            header_bytes: 12,
            header: Some("h1,h2,h3,h4\n".into()),
            parts: vec![
                PartRange {
                    number: 1,
                    first_row: 1,
                    last_row: 2,
                    first_byte: 12,
                    end_byte: 30,
                },
                PartRange {
                    number: 2,
                    first_row: 3,
                    last_row: 3,
                    first_byte: 30,
                    end_byte: 39,
                },
            ],
        };
        let plan = Plan::new(&object, "us-east-1_P1", &cut, 2).published(1);
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "Object": {"Bucket": "b", "Key": "k.csv", "ETag": "abc"},
                "UserPoolId": "us-east-1_P1", "HeaderBytes": 12, "Header": "h1,h2,h3,h4\n", "PartMaxRows": 2,
                "Parts": [
                    {"Number": 1, "FirstLine": 1, "LastLine": 2, "FirstByte": 12, "EndByte": 30, "StartedEventPublished": true},
                    {"Number": 2, "FirstLine": 3, "LastLine": 3, "FirstByte": 30, "EndByte": 39, "StartedEventPublished": false}
                ]
            })
        );
        let back: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan);
        assert!(plan.is_of(&object));
        let replaced = ObjectRef {
            etag: Some("def".into()),
            ..object.clone()
        };
        assert!(!plan.is_of(&replaced));
        assert_eq!(plan.part(2).map(|p| p.range.first_row), Some(3));
        assert_eq!(plan.part(0), None);
        assert_eq!(plan.part(3), None);
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
        let plan = Plan::new(&object, "us-east-1_P1", &cut, 1).with_passwords(Some(&passwords));
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
        let back: Plan = serde_json::from_value(old).unwrap();
        assert_eq!(back, Plan::new(&object, "us-east-1_P1", &cut, 1));
        assert_eq!(back.passwords_of(1), None);
    }
}
