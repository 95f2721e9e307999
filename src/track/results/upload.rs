//! SPEC section 16: Track's memory is bounded whatever fails. A results file
//! is streamed to S3 as it is made: one `PutObject` while it fits in one
//! part, else a multipart upload (`CreateMultipartUpload`, `UploadPart` per
//! full part, `CompleteMultipartUpload`; `AbortMultipartUpload` when
//! anything fails). At most one part is held. The calls themselves are the
//! S3 adapter's (`aws::s3`); this file decides when each is made.

use crate::app::App;
use crate::aws::s3::Multipart;
use crate::error::ImportError;

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
            return self
                .app
                .s3()
                .put_object(&self.bucket, &self.key, CONTENT_TYPE, body)
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
        let s3 = self.app.s3();
        if let Err(error) = s3
            .abort_multipart(&self.bucket, &self.key, &multipart)
            .await
        {
            tracing::warn!(error = %error, "a results file's multipart upload was not aborted");
        }
    }

    async fn send_part(&mut self) -> Result<(), ImportError> {
        let s3 = self.app.s3();
        let multipart = match &mut self.multipart {
            Some(multipart) => multipart,
            None => {
                let created = s3
                    .create_multipart(&self.bucket, &self.key, CONTENT_TYPE)
                    .await?;
                self.multipart.insert(created)
            }
        };
        let body = self.buffer.take();
        s3.upload_part(&self.bucket, &self.key, multipart, body)
            .await
    }

    async fn complete(mut self) -> Result<(), ImportError> {
        let Some(multipart) = self.multipart.take() else {
            return Ok(());
        };
        let s3 = self.app.s3();
        if let Err((error, multipart)) = s3
            .complete_multipart(&self.bucket, &self.key, multipart)
            .await
        {
            // Put it back so that the abort reaches it.
            self.multipart = Some(multipart);
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
