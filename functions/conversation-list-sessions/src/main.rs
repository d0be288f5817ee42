use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    run(service_fn(|request| shared::http::serve(&app, request, conversation_list_sessions::handle))).await
}
