//! Files attached to messages, kept in S3: presigned uploads that take only the type and
//! size a party declared, within minutes, and short-lived presigned download links.
//! Presigning is local computation: handing out an upload or a link costs no request to S3.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;

use crate::config::{DEFAULT_LINK_LIFETIME, is_loopback_endpoint};
use crate::domain::{SessionId, StoreId};
use crate::{ChatError, Timestamp, telemetry};

/// How long a presigned upload may be used.
pub const UPLOAD_EXPIRES: Duration = Duration::from_secs(5 * 60);

/// An uploaded file as S3 keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub content_type: String,
    pub size: u64,
    /// Names these bytes: a copy made on the condition of it copies them and no others.
    pub etag: String,
}

/// A presigned upload: the client sends the file with exactly this method, URL and headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PresignedUpload {
    pub upload_id: String,
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

/// The bucket attachments are kept in.
pub struct Attachments {
    client: aws_sdk_s3::Client,
    bucket: String,
    link_lifetime: Duration,
}

impl Attachments {
    /// From the SDK's configuration; an endpoint on this machine (`AWS_ENDPOINT_URL_S3`) is
    /// addressed by path, as local S3 servers expect.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Self {
        let local = sdk.endpoint_url().is_some_and(is_loopback_endpoint)
            || std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|endpoint| is_loopback_endpoint(&endpoint));
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build();
        Attachments {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_owned(),
            link_lifetime: DEFAULT_LINK_LIFETIME,
        }
    }

    /// The bucket `bucket` of the S3 server at `endpoint` on this machine, with the key pair
    /// local servers take.
    pub fn local(endpoint: &str, bucket: &str) -> Self {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("local", "local", None, None, "local"))
            .force_path_style(true)
            .build();
        Attachments {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_owned(),
            link_lifetime: DEFAULT_LINK_LIFETIME,
        }
    }

    /// Download links that work for `lifetime`.
    pub fn with_link_lifetime(self, lifetime: Duration) -> Self {
        Attachments { link_lifetime: lifetime, ..self }
    }

    /// Creates the bucket if it does not exist (for a local server; in AWS the template does).
    pub async fn create_bucket(&self) -> Result<(), String> {
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => Ok(()),
            Err(error) => Err(format!("creating bucket {}: {error:?}", self.bucket)),
        }
    }

    /// An upload to `key` that S3 takes only with `content_type` and exactly `size` bytes, for
    /// [`UPLOAD_EXPIRES`]. The file keeps `file_name` for whoever downloads it.
    pub async fn presign_upload(
        &self,
        upload_id: String,
        key: &str,
        file_name: &str,
        content_type: &str,
        size: u64,
    ) -> Result<PresignedUpload, ChatError> {
        let now = SystemTime::now();
        let config = presigning(now, UPLOAD_EXPIRES)?;
        let size = i64::try_from(size).map_err(|_| ChatError::bad_request("size is too large"))?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size)
            .content_disposition(download_as(file_name))
            .presigned(config)
            .await
            .map_err(|error| unavailable("presigning an upload", error))?;
        telemetry::record_s3_action("PutObject", key);
        let headers = presigned.headers().map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())).collect();
        Ok(PresignedUpload {
            upload_id,
            method: presigned.method().to_owned(),
            url: presigned.uri().to_owned(),
            headers,
            expires_at: Timestamp::from_system_time(now + UPLOAD_EXPIRES),
        })
    }

    /// The file at `key`, if one was uploaded there.
    pub async fn stored_file(&self, key: &str) -> Result<Option<StoredFile>, ChatError> {
        telemetry::record_s3_action("GetObject", key);
        let _call = telemetry::record_s3_request();
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(StoredFile {
                content_type: head.content_type().unwrap_or_default().to_owned(),
                size: head.content_length().and_then(|size| u64::try_from(size).ok()).unwrap_or_default(),
                etag: head.e_tag().unwrap_or_default().to_owned(),
            })),
            // S3 answers 403 for a missing key to a caller that may read objects there but
            // not list the bucket, as the functions may not.
            Err(error) if error.raw_response().is_some_and(|raw| matches!(raw.status().as_u16(), 403 | 404)) => {
                Ok(None)
            }
            Err(error) => Err(unavailable("reading an upload", error)),
        }
    }

    /// Copies `file`, as it was found at `from`, to `to`, where it is kept (with its type and
    /// name); not if `from` has changed since.
    pub async fn keep(&self, from: &str, file: &StoredFile, to: &str) -> Result<(), ChatError> {
        telemetry::record_s3_action("GetObject", from);
        telemetry::record_s3_action("PutObject", to);
        let _call = telemetry::record_s3_request();
        let source = format!("{}/{from}", self.bucket);
        let copy = self.client.copy_object().bucket(&self.bucket).key(to).copy_source(source);
        match copy.copy_source_if_match(&file.etag).send().await {
            Ok(_) => Ok(()),
            Err(error) if error.raw_response().is_some_and(|raw| raw.status().as_u16() == 412) => {
                Err(ChatError::Conflict("The upload changed while it was being attached; send again".into()))
            }
            Err(error) => Err(unavailable("keeping an attached file", error)),
        }
    }

    /// Deletes the kept file at `key`: a copy that no message came to show.
    pub async fn discard(&self, key: &str) -> Result<(), ChatError> {
        telemetry::record_s3_action("DeleteObject", key);
        let _call = telemetry::record_s3_request();
        match self.client.delete_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(unavailable("deleting a copy no message shows", error)),
        }
    }

    /// The bytes of the file at `key`; `None` if there is none.
    pub async fn file_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, ChatError> {
        telemetry::record_s3_action("GetObject", key);
        let _call = telemetry::record_s3_request();
        let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(error) if error.raw_response().is_some_and(|raw| matches!(raw.status().as_u16(), 403 | 404)) => {
                return Ok(None);
            }
            Err(error) => return Err(unavailable("reading a file", error)),
        };
        let bytes = object.body.collect().await.map_err(|error| unavailable("reading a file", error))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Stores `archive` (a ZIP file) at `key`.
    pub async fn put_archive(&self, key: &str, archive: Vec<u8>) -> Result<(), ChatError> {
        telemetry::record_s3_action("PutObject", key);
        let _call = telemetry::record_s3_request();
        let put = self.client.put_object().bucket(&self.bucket).key(key).content_type("application/zip");
        match put.body(archive.into()).send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(unavailable("storing an export", error)),
        }
    }

    /// How long a download link lasts.
    pub fn link_lifetime(&self) -> Duration {
        self.link_lifetime
    }

    /// Deletes every file of `session`, attached or still waiting to be: how many there were.
    pub async fn erase_session_files(&self, session: SessionId) -> Result<u64, ChatError> {
        self.erase_under(&[format!("sessions/{session}/"), format!("uploads/{session}/")]).await
    }

    /// Deletes the exports of `store`: how many there were.
    pub async fn erase_exports(&self, store: StoreId) -> Result<u64, ChatError> {
        self.erase_under(&[export_prefix(store)]).await
    }

    /// Deletes every file under `prefixes`: how many there were.
    async fn erase_under(&self, prefixes: &[String]) -> Result<u64, ChatError> {
        let mut erased = 0;
        for prefix in prefixes {
            telemetry::record_s3_action("ListBucket", prefix);
            telemetry::record_s3_action("DeleteObject", prefix);
            loop {
                // Each page deleted before the next is listed: the listing starts over each time.
                let listed = {
                    let _call = telemetry::record_s3_request();
                    self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).send().await
                };
                let listed = listed.map_err(|error| unavailable("listing a session's files", error))?;
                let keys: Vec<String> =
                    listed.contents().iter().filter_map(|object| object.key().map(str::to_owned)).collect();
                if keys.is_empty() {
                    break;
                }
                let objects = keys.iter().map(|key| ObjectIdentifier::builder().key(key).build());
                let objects =
                    objects.collect::<Result<Vec<_>, _>>().map_err(|error| unavailable("naming files", error))?;
                let delete = Delete::builder().set_objects(Some(objects)).quiet(true).build();
                let delete = delete.map_err(|error| unavailable("naming files", error))?;
                let _call = telemetry::record_s3_request();
                let deleted = self.client.delete_objects().bucket(&self.bucket).delete(delete).send().await;
                let deleted = deleted.map_err(|error| unavailable("deleting a session's files", error))?;
                if !deleted.errors().is_empty() {
                    tracing::error!(failed = deleted.errors().len(), "S3 kept some files of an erased session");
                    return Err(ChatError::Unavailable);
                }
                erased += keys.len() as u64;
            }
        }
        Ok(erased)
    }

    /// A link that downloads the file at `key` for the link lifetime.
    pub async fn download_link(&self, key: &str) -> Result<String, ChatError> {
        telemetry::record_s3_action("GetObject", key);
        let config = presigning(SystemTime::now(), self.link_lifetime)?;
        match self.client.get_object().bucket(&self.bucket).key(key).presigned(config).await {
            Ok(presigned) => Ok(presigned.uri().to_owned()),
            Err(error) => Err(unavailable("presigning a download", error)),
        }
    }
}

/// Where the exports of `store` are kept.
pub fn export_prefix(store: StoreId) -> String {
    format!("exports/store-{store}/")
}

/// A `Content-Disposition` that saves the file as `file_name` rather than showing it in
/// the browser (RFC 6266; the name percent-encoded, so any name fits a header).
fn download_as(file_name: &str) -> String {
    let name = percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename*=UTF-8''{name}")
}

fn presigning(start: SystemTime, lifetime: Duration) -> Result<PresigningConfig, ChatError> {
    PresigningConfig::builder().start_time(start).expires_in(lifetime).build().map_err(|error| {
        tracing::error!(%error, "presigning configuration");
        ChatError::Unavailable
    })
}

fn unavailable(doing: &str, error: impl std::error::Error + 'static) -> ChatError {
    tracing::error!(error = %aws_sdk_s3::error::DisplayErrorContext(&error), "{doing}");
    ChatError::Unavailable
}
