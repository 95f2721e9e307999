//! SPEC section 16: Track's memory is bounded whatever fails. A results file
//! is streamed to S3 as it is made: one `PutObject` while it fits in one
//! part, else a multipart upload (`CreateMultipartUpload`, `UploadPart` per
//! full part, `CompleteMultipartUpload`; `AbortMultipartUpload` when
//! anything fails). At most one part is held. Every S3 call of the results
//! files is here, so that they move together.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::app::App;
use crate::error::{classify_sdk_error, ImportError, Service};
use crate::resolve;

/// A part of a multipart upload: S3 takes 5 MiB at least (but the last);
/// 8 MiB as the AWS CLI cuts them.
pub const PART_SIZE: usize = 8 << 20;

const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The bytes of the part being filled, never more than one part.
#[derive(Debug)]
pub struct PartBuffer {
    bytes: Vec<u8>,
    part_size: usize,
}

impl PartBuffer {
    pub fn new(part_size: usize) -> PartBuffer {
        PartBuffer {
            bytes: Vec::new(),
            part_size,
        }
    }

    /// Takes what fits of `bytes` into the part; returns the rest.
    pub fn fill<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let taken = bytes.len().min(self.part_size - self.bytes.len());
        let needed = self.bytes.len() + taken;
        if needed > self.bytes.capacity() {
            // Grow as a Vec does (doubling), but never past one part.
            let target = needed.max(2 * self.bytes.capacity()).min(self.part_size);
            self.bytes.reserve_exact(target - self.bytes.len());
        }
        self.bytes.extend_from_slice(&bytes[..taken]);
        &bytes[taken..]
    }

    pub fn is_full(&self) -> bool {
        self.bytes.len() == self.part_size
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The part's bytes; the buffer starts again empty.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// Bytes allocated for the part.
    pub fn held(&self) -> usize {
        self.bytes.capacity()
    }
}

/// One results object being written.
pub struct Upload<'a> {
    app: &'a App,
    bucket: String,
    key: String,
    buffer: PartBuffer,
    multipart: Option<Multipart>,
}

struct Multipart {
    upload_id: String,
    parts: Vec<CompletedPart>,
}

impl<'a> Upload<'a> {
    pub fn new(app: &'a App, bucket: &str, key: &str) -> Upload<'a> {
        Upload {
            app,
            bucket: bucket.to_string(),
            key: key.to_string(),
            buffer: PartBuffer::new(PART_SIZE),
            multipart: None,
        }
    }

    /// Appends `bytes`, sending each part as it fills.
    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<(), ImportError> {
        while !bytes.is_empty() {
            bytes = self.buffer.fill(bytes);
            if self.buffer.is_full() {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    /// Writes the object: all of it at once when it fit in one part, else
    /// its last part and the completion.
    pub async fn finish(mut self) -> Result<(), ImportError> {
        if self.multipart.is_none() {
            let body = self.buffer.take();
            return resolve::put_object(self.app, &self.bucket, &self.key, CONTENT_TYPE, body)
                .await;
        }
        if !self.buffer.is_empty() {
            self.send_part().await?;
        }
        self.complete().await
    }

    /// Gives up an upload under way (S3 would keep its parts, and bill them,
    /// until a lifecycle rule removes them). Best effort: a failure is logged.
    pub async fn abort(mut self) {
        let Some(multipart) = self.multipart.take() else {
            return;
        };
        let aborted = self
            .app
            .clients
            .s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&multipart.upload_id)
            .set_expected_bucket_owner(self.app.config.expected_bucket_owner.clone())
            .send()
            .await;
        if let Err(error) = aborted {
            let error = classify_sdk_error(Service::S3, &self.what("AbortMultipartUpload"), &error);
            tracing::warn!(error = %error, "a results file's multipart upload was not aborted");
        }
    }

    fn what(&self, operation: &str) -> String {
        format!("{operation} s3://{}/{}", self.bucket, self.key)
    }

    async fn send_part(&mut self) -> Result<(), ImportError> {
        if self.multipart.is_none() {
            self.multipart = Some(self.create().await?);
        }
        let number = self.multipart.as_ref().map_or(0, |m| m.parts.len()) + 1;
        let number = i32::try_from(number).unwrap_or(i32::MAX);
        let body = ByteStream::from(self.buffer.take());
        let upload_id = self.upload_id();
        let output = self
            .app
            .clients
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(body)
            .set_expected_bucket_owner(self.app.config.expected_bucket_owner.clone())
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::S3, &self.what("UploadPart"), &e))?;
        let part = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(output.e_tag().map(str::to_string))
            .build();
        if let Some(multipart) = &mut self.multipart {
            multipart.parts.push(part);
        }
        Ok(())
    }

    fn upload_id(&self) -> String {
        self.multipart
            .as_ref()
            .map(|m| m.upload_id.clone())
            .unwrap_or_default()
    }

    async fn create(&self) -> Result<Multipart, ImportError> {
        let what = self.what("CreateMultipartUpload");
        let output = self
            .app
            .clients
            .s3
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type(CONTENT_TYPE)
            .set_expected_bucket_owner(self.app.config.expected_bucket_owner.clone())
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::S3, &what, &e))?;
        match output.upload_id() {
            Some(upload_id) => Ok(Multipart {
                upload_id: upload_id.to_string(),
                parts: Vec::new(),
            }),
            None => Err(ImportError::new(
                crate::error::ErrorKind::ServiceUnavailable,
                format!("{what}: S3 answered without an upload ID; it will be retried"),
            )),
        }
    }

    async fn complete(mut self) -> Result<(), ImportError> {
        let Some(multipart) = self.multipart.take() else {
            return Ok(());
        };
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(multipart.parts))
            .build();
        let result = self
            .app
            .clients
            .s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&multipart.upload_id)
            .multipart_upload(completed)
            .set_expected_bucket_owner(self.app.config.expected_bucket_owner.clone())
            .send()
            .await;
        if let Err(error) = result {
            let error =
                classify_sdk_error(Service::S3, &self.what("CompleteMultipartUpload"), &error);
            // Put it back so that the caller's abort reaches it.
            self.multipart = Some(Multipart {
                upload_id: multipart.upload_id,
                parts: Vec::new(),
            });
            self.abort().await;
            return Err(error);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in `chunk`-sized pieces, taking each full part as the
    /// writer sends it; returns the parts and the most ever held.
    fn cut(input: &[u8], chunk: usize, part_size: usize) -> (Vec<Vec<u8>>, usize) {
        let mut buffer = PartBuffer::new(part_size);
        let mut parts = Vec::new();
        let mut most_held = 0;
        for mut piece in input.chunks(chunk) {
            while !piece.is_empty() {
                piece = buffer.fill(piece);
                most_held = most_held.max(buffer.held());
                if buffer.is_full() {
                    parts.push(buffer.take());
                }
            }
        }
        if !buffer.is_empty() {
            parts.push(buffer.take());
        }
        (parts, most_held)
    }

    #[test]
    fn the_writer_holds_at_most_one_part() {
        let input: Vec<u8> = (0..10_000u32).map(|n| (n % 251) as u8).collect();
        for chunk in [1, 7, 999, 1000, 1001, 4096, 20_000] {
            let (parts, most_held) = cut(&input, chunk, 1000);
            assert!(most_held <= 1000, "chunk {chunk}: held {most_held}");
            assert_eq!(parts.len(), 10, "chunk {chunk}");
            assert!(parts.iter().all(|p| p.len() == 1000), "chunk {chunk}");
            assert_eq!(parts.concat(), input, "chunk {chunk}");
        }
        let (parts, _) = cut(&input[..2500], 300, 1000);
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
    }
}
