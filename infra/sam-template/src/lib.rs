//! `template.yaml` is the one place that declares the routes and the table. The local
//! gateway, the operator CLI and the tests read them from here instead of repeating them.

mod table;

use serde_norway::Value;

pub use table::{TableDefinition, create_table};

/// The template as compiled into this binary.
pub const TEMPLATE_YAML: &str = include_str!("../../../template.yaml");

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

/// An HTTP API route and the function that serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
    /// The function's logical id in the template.
    pub function: String,
    /// The Cargo package that builds the function: the last part of its `CodeUri`.
    pub package: String,
}

impl HttpRoute {
    /// The API Gateway route key, e.g. `GET /v1/chat/store/session/`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

pub struct Template {
    doc: Value,
}

impl Template {
    /// The template compiled into this binary.
    pub fn embedded() -> Self {
        Self::parse(TEMPLATE_YAML).expect("the embedded template.yaml parses (checked by this crate's tests)")
    }

    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        Ok(Template { doc: serde_norway::from_str(yaml)? })
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(id, resource)| Some((id.as_str()?, resource)))
    }

    fn resources_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources().filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
    }

    /// Every `HttpApi` event of every function.
    pub fn http_routes(&self) -> Result<Vec<HttpRoute>, TemplateError> {
        let mut routes = Vec::new();
        for (function, resource) in self.resources_of_type("AWS::Serverless::Function") {
            let properties = &resource["Properties"];
            let events = properties.get("Events").and_then(Value::as_mapping).into_iter().flatten();
            for (_, event) in events.filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("HttpApi")) {
                let field = |name: &str| {
                    event["Properties"]
                        .get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| TemplateError::Shape(format!("{function}: an HttpApi event without {name}")))
                };
                routes.push(HttpRoute {
                    method: field("Method")?.to_ascii_uppercase(),
                    path: field("Path")?,
                    function: function.to_owned(),
                    package: package_of(function, properties)?,
                });
            }
        }
        Ok(routes)
    }

    /// The definition of the `AWS::DynamoDB::Table` resource.
    pub fn table(&self) -> Result<TableDefinition, TemplateError> {
        let mut tables = self.resources_of_type("AWS::DynamoDB::Table");
        let (_, table) = tables.next().ok_or_else(|| TemplateError::Shape("no AWS::DynamoDB::Table".into()))?;
        TableDefinition::from_properties(&table["Properties"])
    }
}

fn package_of(function: &str, properties: &Value) -> Result<String, TemplateError> {
    properties
        .get("CodeUri")
        .and_then(Value::as_str)
        .and_then(|uri| uri.trim_end_matches('/').rsplit('/').next())
        .map(str::to_owned)
        .ok_or_else(|| TemplateError::Shape(format!("{function}: no CodeUri")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_their_packages() {
        let routes = Template::embedded().http_routes().unwrap();
        let store = routes.iter().find(|r| r.path == "/v1/chat/store/session/").unwrap();
        assert_eq!(store.route_key(), "GET /v1/chat/store/session/");
        assert_eq!(store.package, "store-get-session");
        // Every package a route names is a crate of this workspace.
        for route in &routes {
            let manifest = format!("{}/../../functions/{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"), route.package);
            assert!(std::path::Path::new(&manifest).exists(), "{} has no crate", route.package);
        }
    }

    #[test]
    fn table_keys_and_indexes() {
        let table = Template::embedded().table().unwrap();
        assert_eq!(table.key_schema, [("PK".into(), "HASH".into()), ("SK".into(), "RANGE".into())]);
        assert!(table.indexes.iter().any(|i| i.name == "OpenQueue"));
        assert_eq!(table.ttl_attribute.as_deref(), Some("expires_at"));
    }
}
