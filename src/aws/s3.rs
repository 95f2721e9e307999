//! The S3 adapter: every S3 call the function makes (HeadObject, pinned
//! GetObject, PutObject, the multipart upload of a results file) and the
//! classification of their errors into `ImportError`.

use std::collections::HashMap;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::model::{is_version, ObjectRef};

/// What `HeadObject` told about the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHead {
    /// The object with the version and ETag S3 reported.
    pub object: ObjectRef,
    pub metadata: HashMap<String, String>,
    pub size: Option<i64>,
}

/// The S3 client and the bucket owner every call names
/// (`EXPECTED_BUCKET_OWNER`).
#[derive(Clone, Copy, Debug)]
pub struct S3<'a> {
    pub client: &'a aws_sdk_s3::Client,
    pub expected_bucket_owner: Option<&'a str>,
}

/// Why a pinned read found no bytes to read.
#[derive(Debug)]
pub enum ReadFailure {
    /// HTTP 404: the key holds no object now.
    Gone,
    /// HTTP 412: the key holds another object (the ETag no longer matches).
    Replaced,
    /// Any other failure, classified.
    Failed(ImportError),
}

/// The bytes `first..end` of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub end: u64,
}

/// A multipart upload under way: its ID and the parts sent so far.
#[derive(Debug)]
pub struct Multipart {
    pub upload_id: String,
    parts: Vec<CompletedPart>,
}

impl S3<'_> {
    fn owner(&self) -> Option<String> {
        self.expected_bucket_owner.map(str::to_string)
    }

    pub async fn head_object(&self, object: &ObjectRef) -> Result<ObjectHead, ImportError> {
        let output = self
            .client
            .head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::S3, &format!("HeadObject {object}"), &e))?;
        let mut reported = object.clone();
        match output.version_id() {
            Some(version) if is_version(version) => reported.version_id = Some(version.to_string()),
            // Unversioned, or versioning suspended: the ETag pins the object.
            Some(_) => reported.version_id = None,
            None => {}
        }
        if let Some(etag) = output.e_tag() {
            reported.etag = Some(etag.trim_matches('"').to_string());
        }
        Ok(ObjectHead {
            object: reported,
            metadata: output.metadata().cloned().unwrap_or_default(),
            size: output.content_length(),
        })
    }

    /// Opens the object for reading, pinned to what `HeadObject` saw: its
    /// version when it has one, else its ETag (so that the check and the
    /// upload read the same bytes, or the read fails and the delivery comes
    /// again). Returns the body and the length S3 reported.
    pub async fn get_object(
        &self,
        object: &ObjectRef,
    ) -> Result<(ByteStream, Option<i64>), ImportError> {
        let output = self
            .get(object, None)
            .await
            .map_err(|e| classify_sdk_error(Service::S3, &format!("GetObject {object}"), &e))?;
        let length = output.content_length();
        Ok((output.body, length))
    }

    /// [`S3::get_object`] (of `range` when given) for a caller that tells a
    /// changed object (412) or a missing one (404) from a failed read.
    pub async fn read_pinned(
        &self,
        object: &ObjectRef,
        range: Option<ByteRange>,
    ) -> Result<ByteStream, ReadFailure> {
        let range = range.map(|r| format!("bytes={}-{}", r.first, r.end.saturating_sub(1)));
        match self.get(object, range).await {
            Ok(output) => Ok(output.body),
            Err(error) => Err(read_failure(object, &error)),
        }
    }

    /// Bytes `first..end` of the pinned object (fewer when `end` is past
    /// its end); `None` when `first` is at or past the object's end (HTTP
    /// 416: nothing there to read).
    pub async fn read_pinned_from(
        &self,
        object: &ObjectRef,
        first: u64,
        end: u64,
    ) -> Result<Option<ByteStream>, ReadFailure> {
        let range = format!("bytes={first}-{}", end.saturating_sub(1));
        match self.get(object, Some(range)).await {
            Ok(output) => Ok(Some(output.body)),
            Err(error) if error.raw_response().map(|r| r.status().as_u16()) == Some(416) => {
                Ok(None)
            }
            Err(error) => Err(read_failure(object, &error)),
        }
    }

    async fn get(
        &self,
        object: &ObjectRef,
        range: Option<String>,
    ) -> Result<GetObjectOutput, SdkError<GetObjectError, HttpResponse>> {
        let if_match = match (&object.version_id, &object.etag) {
            (None, Some(etag)) => Some(format!("\"{etag}\"")),
            _ => None,
        };
        self.client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .set_if_match(if_match)
            .set_range(range)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
    }

    /// An object the function wrote itself (a drop's plan), unpinned;
    /// `None` when there is none.
    pub async fn get_own(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ByteStream>, ImportError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match output {
            Ok(output) => Ok(Some(output.body)),
            Err(error) if error.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
                Ok(None)
            }
            Err(error) => Err(classify_sdk_error(
                Service::S3,
                &format!("GetObject s3://{bucket}/{key}"),
                &error,
            )),
        }
    }

    /// Writes an object the function makes (results files, a drop's plan):
    /// never with user metadata, so that it can never start an import when
    /// it lands in the drop bucket.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(), ImportError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
            .map_err(|e| {
                classify_sdk_error(Service::S3, &format!("PutObject s3://{bucket}/{key}"), &e)
            })?;
        Ok(())
    }

    pub async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> Result<Multipart, ImportError> {
        let what = format!("CreateMultipartUpload s3://{bucket}/{key}");
        let output = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::S3, &what, &e))?;
        match output.upload_id() {
            Some(upload_id) => Ok(Multipart {
                upload_id: upload_id.to_string(),
                parts: Vec::new(),
            }),
            None => Err(ImportError::new(
                ErrorKind::ServiceUnavailable,
                format!("{what}: S3 answered without an upload ID; it will be retried"),
            )),
        }
    }

    /// Sends the next part of `multipart`.
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        multipart: &mut Multipart,
        body: Vec<u8>,
    ) -> Result<(), ImportError> {
        let number = i32::try_from(multipart.parts.len() + 1).unwrap_or(i32::MAX);
        let output = self
            .client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&multipart.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
            .map_err(|e| {
                classify_sdk_error(Service::S3, &format!("UploadPart s3://{bucket}/{key}"), &e)
            })?;
        multipart.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    /// Completes `multipart`; on failure hands it back (without its parts)
    /// for the caller to abort.
    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        multipart: Multipart,
    ) -> Result<(), (ImportError, Multipart)> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(multipart.parts))
            .build();
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&multipart.upload_id)
            .multipart_upload(completed)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        result.map(|_| ()).map_err(|error| {
            let what = format!("CompleteMultipartUpload s3://{bucket}/{key}");
            let error = classify_sdk_error(Service::S3, &what, &error);
            let multipart = Multipart {
                upload_id: multipart.upload_id,
                parts: Vec::new(),
            };
            (error, multipart)
        })
    }

    pub async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        multipart: &Multipart,
    ) -> Result<(), ImportError> {
        self.client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&multipart.upload_id)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
            .map_err(|e| {
                let what = format!("AbortMultipartUpload s3://{bucket}/{key}");
                classify_sdk_error(Service::S3, &what, &e)
            })?;
        Ok(())
    }
}

/// A pinned read's failure: gone (404), replaced (412) or classified.
fn read_failure(object: &ObjectRef, error: &SdkError<GetObjectError, HttpResponse>) -> ReadFailure {
    match error.raw_response().map(|r| r.status().as_u16()) {
        Some(404) => ReadFailure::Gone,
        Some(412) => ReadFailure::Replaced,
        _ => ReadFailure::Failed(classify_sdk_error(
            Service::S3,
            &format!("GetObject {object}"),
            error,
        )),
    }
}
