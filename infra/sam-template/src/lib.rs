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
    /// The function's binary: its `BuildProperties.Binary`, a file of `functions/src/bin/`.
    pub binary: String,
}

/// A WebSocket API route (`$connect`, `$disconnect`, `$default` or an action) and the
/// function that serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketRoute {
    pub route_key: String,
    pub function: String,
    pub binary: String,
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
                    binary: binary_of(function, resource)?,
                });
            }
        }
        Ok(routes)
    }

    /// Every `AWS::ApiGatewayV2::Route`, followed through its integration to its function.
    pub fn websocket_routes(&self) -> Result<Vec<WebSocketRoute>, TemplateError> {
        let shape = |what: String| TemplateError::Shape(what);
        let mut routes = Vec::new();
        for (id, route) in self.resources_of_type("AWS::ApiGatewayV2::Route") {
            let properties = &route["Properties"];
            let route_key = properties["RouteKey"].as_str().ok_or_else(|| shape(format!("{id}: no RouteKey")))?;
            let integration = substituted_resource(&properties["Target"])
                .ok_or_else(|| shape(format!("{id}: Target is not !Sub integrations/${{...}}")))?;
            let uri = &self.resource(&integration).ok_or_else(|| shape(format!("{id}: no {integration}")))?["Properties"]
                ["IntegrationUri"];
            let function = substituted_resource(uri)
                .ok_or_else(|| shape(format!("{integration}: IntegrationUri names no function")))?;
            let resource = self.resource(&function).ok_or_else(|| shape(format!("no {function}")))?;
            routes.push(WebSocketRoute {
                route_key: route_key.to_owned(),
                binary: binary_of(&function, resource)?,
                function,
            });
        }
        Ok(routes)
    }

    fn resource(&self, id: &str) -> Option<&Value> {
        self.resources().find(|(name, _)| *name == id).map(|(_, resource)| resource)
    }

    /// The definition of the `AWS::DynamoDB::Table` resource.
    pub fn table(&self) -> Result<TableDefinition, TemplateError> {
        let mut tables = self.resources_of_type("AWS::DynamoDB::Table");
        let (_, table) = tables.next().ok_or_else(|| TemplateError::Shape("no AWS::DynamoDB::Table".into()))?;
        TableDefinition::from_properties(&table["Properties"])
    }
}

/// The resource a `!Sub` string refers to (pseudo parameters aside): `integrations/${X}` or
/// `arn:${AWS::Partition}:…${X.Arn}…` give `X`.
fn substituted_resource(value: &Value) -> Option<String> {
    let Value::Tagged(tagged) = value else { return None };
    let text = tagged.value.as_str()?;
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(reference, _)| reference))
        .find(|reference| !reference.starts_with("AWS::"))
        .and_then(|reference| reference.split('.').next())
        .map(str::to_owned)
}

/// The binary that builds `function`: its `Metadata.BuildProperties.Binary`.
pub fn binary_of(function: &str, resource: &Value) -> Result<String, TemplateError> {
    resource
        .get("Metadata")
        .and_then(|metadata| metadata.get("BuildProperties"))
        .and_then(|properties| properties.get("Binary"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| TemplateError::Shape(format!("{function}: no Metadata.BuildProperties.Binary")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_their_binaries() {
        let routes = Template::embedded().http_routes().unwrap();
        let store = routes.iter().find(|r| r.path == "/v1/chat/store/session/").unwrap();
        assert_eq!(store.route_key(), "GET /v1/chat/store/session/");
        assert_eq!(store.binary, "store-get-session");
        // Every binary a route names is a function of the `functions` crate.
        for route in &routes {
            let source = format!("{}/../../functions/src/bin/{}.rs", env!("CARGO_MANIFEST_DIR"), route.binary);
            assert!(std::path::Path::new(&source).exists(), "{} has no functions/src/bin/{0}.rs", route.binary);
        }
    }

    #[test]
    fn websocket_routes_lead_to_their_functions() {
        let routes = Template::embedded().websocket_routes().unwrap();
        let connect = routes.iter().find(|r| r.route_key == "$connect").unwrap();
        assert_eq!((connect.function.as_str(), connect.binary.as_str()), ("WsConnectFunction", "ws-connect"));
        for key in ["$disconnect", "$default", "send_message", "typing", "mark_read", "mark_delivered", "ping"] {
            assert!(routes.iter().any(|r| r.route_key == key), "{key}");
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
