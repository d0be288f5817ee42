//! A function binary started as Lambda starts it, pointed at a Runtime API the test holds
//! (the local gateway's own, which its `--lambda` mode drives instances through).

pub use local_gateway::lambda::{Outcome, Phase, RuntimeApi};

/// The project key the functions started here check (the recorded events carry it).
pub const PROJECT_KEY: &str = "example-project-key";

/// The function binary `function` with the environment `template.yaml` gives it (resolved
/// to `table` on DynamoDB Local and to no WebSocket API) and the variables Lambda itself
/// sets, pointed at `api`. Killed when dropped.
pub fn function_command(function: &str, api: &RuntimeApi, table: &str) -> tokio::process::Command {
    let template = sam_template::Template::embedded();
    let mut local = sam_template::LocalValues {
        table_name: table.to_owned(),
        bucket_name: "attachments".into(),
        ..Default::default()
    };
    let digests = shared::config::ProjectKeys::from_list(Some(PROJECT_KEY)).digests();
    local.parameters.insert("ProjectKeyDigests".into(), digests);
    let built = crate::stack::binary(function);
    let setup = local_gateway::lambda::Setup {
        template: &template,
        binaries: built.parent().expect("the binaries' directory"),
        local,
        dynamodb_endpoint: crate::stack::dynamodb().endpoint(),
        // Uploads are presigned without a request; nothing here reads or writes files.
        s3_endpoint: "http://127.0.0.1:9".into(),
        secrets_manager_endpoint: None,
        event_bus_endpoint: None,
        queue_endpoint: None,
        ses_endpoint: None,
        max_instances: None,
    };
    let spec = setup.spec(function).unwrap_or_else(|error| panic!("{function}: {error}"));
    let mut command = tokio::process::Command::new(&spec.path);
    command
        .env_clear()
        .envs(&spec.environment)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .kill_on_drop(true);
    command
}
