//! What Lambda would run for one function, from `template.yaml`: which binary, with which
//! environment, for how long, and how many instances at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sam_template::{LocalValues, Template};

/// Instances of one function at once when the template reserves no concurrency for it.
pub const DEFAULT_MAX_INSTANCES: usize = 10;

/// The credentials a function gets: Lambda hands it its role's; here the caller's own, or
/// dummies that DynamoDB Local takes.
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
            // The one variable Lambda does not set: the SDK's endpoint for DynamoDB.
            own("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb_endpoint.clone()),
        ]);
        for (name, fallback) in CREDENTIALS {
            if let Some(value) = std::env::var(name).ok().or(fallback.map(str::to_owned)) {
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
