//! Files attached to messages, kept in S3: presigned uploads that take only the type and
//! size a party declared, within minutes. Presigning is local computation: handing out an
//! upload costs no request to S3.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use serde::Serialize;

use crate::config::is_loopback_endpoint;
use crate::{ChatError, Timestamp};

/// How long a presigned upload may be used.
pub const UPLOAD_EXPIRES: Duration = Duration::from_secs(5 * 60);
/// The tag an upload carries until a message takes it; the bucket expires those that keep it.
pub const PENDING_TAG: &str = "attached=false";

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
}

impl Attachments {
    /// From the SDK's configuration; an endpoint on this machine (`AWS_ENDPOINT_URL_S3`) is
    /// addressed by path, as local S3 servers expect.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Self {
        let local = sdk.endpoint_url().is_some_and(is_loopback_endpoint)
            || std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|endpoint| is_loopback_endpoint(&endpoint));
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build();
        Attachments { client: aws_sdk_s3::Client::from_conf(config), bucket: bucket.to_owned() }
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
        Attachments { client: aws_sdk_s3::Client::from_conf(config), bucket: bucket.to_owned() }
    }

    /// Creates the bucket if it does not exist (for a local server; in AWS the template does).
    pub async fn create_bucket(&self) -> Result<(), String> {
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => Ok(()),
            Err(error) => Err(format!("creating bucket {}: {error:?}", self.bucket)),
        }
    }

    /// An upload to `key` that S3 takes only with `content_type`, exactly `size` bytes and the
    /// pending tag, for [`UPLOAD_EXPIRES`].
    pub async fn presign_upload(
        &self,
        upload_id: String,
        key: &str,
        content_type: &str,
        size: u64,
    ) -> Result<PresignedUpload, ChatError> {
        let now = SystemTime::now();
        let config =
            PresigningConfig::builder().start_time(now).expires_in(UPLOAD_EXPIRES).build().map_err(|error| {
                tracing::error!(%error, "presigning configuration");
                ChatError::Unavailable
            })?;
        let size = i64::try_from(size).map_err(|_| ChatError::bad_request("size is too large"))?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size)
            .tagging(PENDING_TAG)
            .presigned(config)
            .await
            .map_err(|error| {
                tracing::error!(%error, "presigning an upload");
                ChatError::Unavailable
            })?;
        crate::telemetry::record_s3_actions(&["PutObject", "PutObjectTagging"]);
        let headers = presigned.headers().map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())).collect();
        Ok(PresignedUpload {
            upload_id,
            method: presigned.method().to_owned(),
            url: presigned.uri().to_owned(),
            headers,
            expires_at: Timestamp::from_system_time(now + UPLOAD_EXPIRES),
        })
    }
}
