//! `openapi.yaml` documents exactly the HTTP routes `template.yaml` declares, and every
//! operation its success and its 401. (The answers themselves are checked against the spec
//! by schemathesis, from `infra/test.sh`.)

use std::collections::BTreeSet;

use sam_template::Template;
use serde_json::Value;

/// The fields of an OpenAPI path item that are operations.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// The other fields a path item may have.
const PATH_ITEM_FIELDS: [&str; 5] = ["$ref", "summary", "description", "servers", "parameters"];

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("openapi.yaml does not parse: {e}"))
}

/// `METHOD /path` of every route `template.yaml` declares.
fn template_routes() -> BTreeSet<String> {
    let routes = Template::embedded().http_routes().expect("template.yaml has routes");
    routes.iter().map(|route| format!("{} {}", route.method.to_ascii_uppercase(), route.path)).collect()
}

/// `METHOD /path` and the operation, for every operation of the spec.
fn operations(spec: &Value) -> Vec<(String, &Value)> {
    let paths = spec["paths"].as_object().expect("paths is a mapping");
    let mut operations = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().unwrap_or_else(|| panic!("{path} is not a mapping"));
        for (field, value) in item {
            if METHODS.contains(&field.as_str()) {
                operations.push((format!("{} {path}", field.to_ascii_uppercase()), value));
            } else {
                assert!(PATH_ITEM_FIELDS.contains(&field.as_str()), "{path}: `{field}` is no path item field");
            }
        }
    }
    operations
}

#[test]
fn declares_openapi_3_1() {
    let spec = spec();
    let version = spec["openapi"].as_str().expect("openapi is a string");
    assert!(version.starts_with("3.1."), "openapi: {version}");
    assert!(spec["info"]["title"].is_string() && spec["info"]["version"].is_string(), "info needs title and version");
}

#[test]
fn documents_every_route_of_the_template() {
    let spec = spec();
    let documented: BTreeSet<String> = operations(&spec).into_iter().map(|(key, _)| key).collect();
    let routes = template_routes();
    assert!(!routes.is_empty(), "template.yaml declares no HTTP route");
    let missing: Vec<&String> = routes.difference(&documented).collect();
    assert!(missing.is_empty(), "routes of template.yaml missing from openapi.yaml: {missing:?}");
}

#[test]
fn documents_no_route_the_template_lacks() {
    let spec = spec();
    let documented: BTreeSet<String> = operations(&spec).into_iter().map(|(key, _)| key).collect();
    let routes = template_routes();
    let extra: Vec<&String> = documented.difference(&routes).collect();
    assert!(extra.is_empty(), "operations of openapi.yaml that template.yaml does not route: {extra:?}");
}

#[test]
fn every_operation_answers_success_and_unauthorized() {
    let spec = spec();
    for (key, operation) in operations(&spec) {
        let responses = operation["responses"].as_object().unwrap_or_else(|| panic!("{key}: no responses"));
        assert!(responses.keys().any(|status| status.starts_with('2')), "{key}: no 2xx response");
        let security = operation.get("security").unwrap_or(&spec["security"]);
        // A mail's unsubscribe link is its own credential (its signature): no scheme.
        if key.ends_with(" /v1/email/unsubscribe/") {
            assert_eq!(security, &serde_json::json!([]), "{key}: the link is the credential");
            continue;
        }
        // The platform's routes are signed, and API Gateway refuses what is not with a 403.
        let signed = security.as_array().is_some_and(|s| s.iter().any(|s| s.get("SigV4").is_some()));
        let refusal = if signed { "403" } else { "401" };
        assert!(responses.contains_key(refusal), "{key}: no {refusal} response");
        assert_eq!(signed, key.contains(" /v1/platform/"), "{key}: signed");
        // Every route takes a credential, so none may opt out of security; but for the Selise
        // route, whose own example sends none: its body's project key is the credential.
        let schemes = security.as_array().unwrap_or_else(|| panic!("{key}: no security"));
        assert!(!schemes.is_empty(), "{key}: security is empty");
        let anonymous = schemes.iter().any(|s| s.as_object().is_none_or(|s| s.is_empty()));
        assert_eq!(anonymous, key == "POST /conversation/sessions", "{key}: anonymous access");
    }
}

#[test]
fn token_and_bearer_schemes() {
    let spec = spec();
    let schemes = &spec["components"]["securitySchemes"];
    let token = &schemes["TokenAuth"];
    assert_eq!((token["type"].as_str(), token["in"].as_str()), (Some("apiKey"), Some("header")));
    assert_eq!(token["name"].as_str(), Some("Authorization"));
    let bearer = &schemes["BearerAuth"];
    assert_eq!((bearer["type"].as_str(), bearer["scheme"].as_str()), (Some("http"), Some("bearer")));
}

/// Every `$ref` of the document.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(target)) = fields.get("$ref") {
                found.push(target);
            }
            fields.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let spec = spec();
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target}: only local references"));
        assert!(spec.pointer(pointer).is_some(), "{target} resolves to nothing");
    }
}
