//! What Lambda would run for one function, from `template.yaml`: which binary, with which
//! environment, for how long, and how many instances at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sam_template::{LocalValues, Template};
use shared::config::is_loopback_endpoint;

/// Instances of one function at once when the template reserves no concurrency for it.
pub const DEFAULT_MAX_INSTANCES: usize = 10;

/// The credentials a function gets: Lambda hands it its role's; here the key pair the local
/// servers take, or the caller's own for endpoints elsewhere.
const CREDENTIALS: [(&str, Option<&str>); 3] =
    [("AWS_ACCESS_KEY_ID", Some("local")), ("AWS_SECRET_ACCESS_KEY", Some("local")), ("AWS_SESSION_TOKEN", None)];

#[derive(Clone, Debug)]
pub struct FunctionSpec {
    pub binary: String,
    pub logical_id: String,
    pub path: PathBuf,
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    pub max_instances: usize,
}

/// What every function of one gateway shares.
pub struct Setup<'a> {
    pub template: &'a Template,
    /// Where the binaries are: `target/<profile>/` (a file per binary) or `sam build`'s
    /// `.aws-sam/build/` (a `<LogicalId>/bootstrap` per function).
    pub binaries: &'a Path,
    pub local: LocalValues,
    pub dynamodb_endpoint: String,
    pub s3_endpoint: String,
    /// Secrets Manager's, when one is given (moto, for a HS256 secret).
    pub secrets_manager_endpoint: Option<String>,
    /// EventBridge's, when one is given (moto).
    pub event_bus_endpoint: Option<String>,
    /// SQS's, when one is given (moto, for the webhook delivery and email job queues).
    pub queue_endpoint: Option<String>,
    /// SES v2's, when one is given (aws-ses-v2-local).
    pub ses_endpoint: Option<String>,
    /// Overrides each function's cap on instances.
    pub max_instances: Option<usize>,
}

impl Setup<'_> {
    pub fn spec(&self, binary: &str) -> Result<FunctionSpec, String> {
        let settings = self.template.settings_of(binary).map_err(|error| error.to_string())?;
        let path = [self.binaries.join(binary), self.binaries.join(&settings.logical_id).join("bootstrap")]
            .into_iter()
            .find(|path| path.is_file())
            .ok_or_else(|| {
                format!(
                    "no binary for {binary} in {} (build them with `cargo build --bins -p functions`, or point \
                     --functions at `sam build`'s .aws-sam/build)",
                    self.binaries.display()
                )
            })?;
        let mut environment = self.template.environment_of(binary, &self.local).map_err(|error| error.to_string())?;
        let own = |name: &str, value: String| (name.to_owned(), value);
        environment.extend([
            own("AWS_LAMBDA_FUNCTION_NAME", settings.logical_id.clone()),
            own("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", settings.memory_mb.to_string()),
            own("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            own("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", settings.logical_id)),
            own("AWS_REGION", "us-east-1".into()),
            own("AWS_DEFAULT_REGION", "us-east-1".into()),
            own("LAMBDA_TASK_ROOT", path.parent().unwrap_or(Path::new("/")).display().to_string()),
            own("_HANDLER", "bootstrap".into()),
            own("TZ", ":UTC".into()),
            // The variables Lambda does not set: the SDK's endpoints for DynamoDB and S3 (and
            // Secrets Manager's and EventBridge's, below, when they are given).
            own("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb_endpoint.clone()),
            own("AWS_ENDPOINT_URL_S3", self.s3_endpoint.clone()),
        ]);
        let optional = [
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &self.secrets_manager_endpoint),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", &self.event_bus_endpoint),
            ("AWS_ENDPOINT_URL_SQS", &self.queue_endpoint),
            ("AWS_ENDPOINT_URL_SESV2", &self.ses_endpoint),
        ];
        for (name, endpoint) in optional {
            if let Some(endpoint) = endpoint {
                environment.insert(name.to_owned(), endpoint.clone());
            }
        }
        let endpoints = [Some(&self.dynamodb_endpoint), Some(&self.s3_endpoint)]
            .into_iter()
            .chain(optional.iter().map(|(_, endpoint)| endpoint.as_ref()));
        let on_this_machine = endpoints.into_iter().flatten().all(|e| is_loopback_endpoint(e));
        for (name, local) in CREDENTIALS {
            let value = if on_this_machine { local.map(str::to_owned) } else { std::env::var(name).ok() };
            if let Some(value) = value {
                environment.insert(name.to_owned(), value);
            }
        }
        let max_instances = self
            .max_instances
            .or(settings.reserved_concurrency.and_then(|reserved| usize::try_from(reserved).ok()))
            .unwrap_or(DEFAULT_MAX_INSTANCES)
            .max(1);
        Ok(FunctionSpec {
            binary: binary.to_owned(),
            logical_id: settings.logical_id,
            path,
            environment,
            timeout: Duration::from_secs(settings.timeout_seconds),
            max_instances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup<'a>(template: &'a Template, binaries: &'a Path) -> Setup<'a> {
        let mut local = LocalValues { table_name: "chat-local".into(), ..LocalValues::default() };
        local.parameters.insert("ProjectKeyDigests".into(), "0".repeat(64));
        Setup {
            template,
            binaries,
            local,
            dynamodb_endpoint: "http://127.0.0.1:8000".into(),
            s3_endpoint: "http://127.0.0.1:9000".into(),
            secrets_manager_endpoint: None,
            event_bus_endpoint: None,
            queue_endpoint: None,
            ses_endpoint: None,
            max_instances: None,
        }
    }

    #[test]
    fn a_function_runs_from_target_or_from_sam_build_with_the_template_environment() {
        let template = Template::embedded();
        let dir = std::env::temp_dir().join(format!("local-gateway-spec-{}", std::process::id()));
        // `sam build`'s layout: a directory per function, named by its logical id.
        let sam_built = dir.join("StoreGetSessionFunction").join("bootstrap");
        std::fs::create_dir_all(sam_built.parent().unwrap()).unwrap();
        std::fs::write(&sam_built, "").unwrap();
        let spec = setup(&template, &dir).spec("store-get-session").unwrap();
        assert_eq!(spec.path, sam_built);
        assert_eq!((spec.timeout, spec.max_instances), (Duration::from_secs(10), DEFAULT_MAX_INSTANCES));
        let variable = |name: &str| spec.environment.get(name).map(String::as_str);
        assert_eq!(variable("TABLE_NAME"), Some("chat-local"));
        assert_eq!(variable("AWS_LAMBDA_FUNCTION_NAME"), Some("StoreGetSessionFunction"));
        assert_eq!(variable("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("256"));
        assert_eq!(variable("AWS_ENDPOINT_URL_DYNAMODB"), Some("http://127.0.0.1:8000"));
        // Cargo's layout: a file per binary, which wins when both are there.
        let cargo_built = dir.join("store-get-session");
        std::fs::write(&cargo_built, "").unwrap();
        assert_eq!(setup(&template, &dir).spec("store-get-session").unwrap().path, cargo_built);

        let missing = setup(&template, &dir).spec("store-send-message").unwrap_err();
        assert!(missing.contains("cargo build"), "{missing}");
        let capped = Setup { max_instances: Some(4), ..setup(&template, &dir) };
        assert_eq!(capped.spec("store-get-session").unwrap().max_instances, 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
