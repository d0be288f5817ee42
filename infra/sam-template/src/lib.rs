//! `template.yaml` is the one place that declares the routes and the table. The local
//! gateway, the operator CLI and the tests read them from here instead of repeating them.

mod table;
mod upgrade;

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
    /// Whether API Gateway lets only SigV4-signed requests through (`Auth.Authorizer: AWS_IAM`).
    pub iam: bool,
}

/// A WebSocket API route (`$connect`, `$disconnect`, `$default` or an action) and the
/// function that serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketRoute {
    pub route_key: String,
    pub function: String,
    pub binary: String,
}

/// A function that runs on a schedule (a `Schedule` event of `rate(...)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFunction {
    pub function: String,
    pub binary: String,
    pub every: std::time::Duration,
}

/// A function the table's change stream invokes (an `AWS::Lambda::EventSourceMapping` of
/// the table's `StreamArn`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamFunction {
    pub function: String,
    pub binary: String,
    /// Records per invocation, at most.
    pub batch_size: usize,
    /// How often a failed batch is tried again before its records are given up.
    pub maximum_retry_attempts: u32,
    /// The patterns of its `FilterCriteria`: a record matching none is not handed over.
    pub filters: Vec<serde_json::Value>,
}

impl StreamFunction {
    /// Whether the mapping hands `record` (as Lambda's event shows it) to the function: it has
    /// no filter, or a pattern of its filter matches the record. Patterns are read as Lambda
    /// reads the ones the template uses: objects of fields, each a list of values or prefixes.
    pub fn takes(&self, record: &serde_json::Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|pattern| pattern_matches(pattern, record))
    }
}

fn pattern_matches(pattern: &serde_json::Value, value: &serde_json::Value) -> bool {
    use serde_json::Value as Json;
    match pattern {
        Json::Object(fields) => {
            fields.iter().all(|(name, inner)| pattern_matches(inner, value.get(name).unwrap_or(&Json::Null)))
        }
        Json::Array(alternatives) => {
            alternatives.iter().any(|alternative| match alternative.get("prefix").and_then(Json::as_str) {
                Some(prefix) => value.as_str().is_some_and(|text| text.starts_with(prefix)),
                None => alternative == value,
            })
        }
        _ => false,
    }
}

/// A function an SQS queue invokes (an `AWS::Lambda::EventSourceMapping` of a queue's `Arn`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueFunction {
    pub function: String,
    pub binary: String,
    /// The queue's resource id.
    pub queue: String,
    /// Messages per invocation, at most.
    pub batch_size: usize,
    /// Invocations at once, at most (`ScalingConfig.MaximumConcurrency`; Lambda's own
    /// limit, 1,000, without it).
    pub maximum_concurrency: usize,
}

impl HttpRoute {
    /// The API Gateway route key, e.g. `GET /v1/chat/store/session/`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// How often an EventBridge `rate(<n> <unit>)` expression runs.
fn rate(expression: &str) -> Option<std::time::Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (value, unit) = inner.trim().split_once(' ')?;
    let value: u64 = value.parse().ok().filter(|value| *value > 0)?;
    let seconds = match unit.trim() {
        "minute" if value == 1 => 60,
        "minutes" if value > 1 => 60,
        "hour" if value == 1 => 3600,
        "hours" if value > 1 => 3600,
        "day" if value == 1 => 86_400,
        "days" if value > 1 => 86_400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(value * seconds))
}

pub struct Template {
    doc: Value,
}

/// CORS settings, as API Gateway applies an HTTP API's or S3 a bucket's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsConfiguration {
    /// Origins, `*`, or `https://*` / `http://*`.
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age: Option<u64>,
}

/// How Lambda runs one function, globals merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSettings {
    pub logical_id: String,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    /// `ReservedConcurrentExecutions`: at most this many instances at once.
    pub reserved_concurrency: Option<u64>,
}

/// What the template's references come to on one machine.
#[derive(Clone, Debug, Default)]
pub struct LocalValues {
    /// The table's name (`!Ref` of the `AWS::DynamoDB::Table`).
    pub table_name: String,
    /// The attachments bucket's name (`!Ref` of the `AWS::S3::Bucket`); empty where none runs.
    pub bucket_name: String,
    /// The WebSocket API's `@connections` endpoint, if one runs here; a variable built from
    /// the WebSocket API is left out without one.
    pub websocket_endpoint: Option<String>,
    /// The event bus's name (`!Ref` of the `AWS::Events::EventBus`); empty where none runs.
    pub event_bus_name: String,
    /// The HTTP API's base URL here (`http://127.0.0.1:3000`): what an address built from
    /// the HTTP API comes to, its path kept.
    pub http_api_url: String,
    /// Queues' URLs (`!Ref` of an `AWS::SQS::Queue`), by resource id; empty where none runs.
    pub queue_urls: std::collections::BTreeMap<String, String>,
    /// Parameter values; the others take their `Default`.
    pub parameters: std::collections::BTreeMap<String, String>,
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
                    iam: event["Properties"]["Auth"]["Authorizer"].as_str() == Some("AWS_IAM"),
                });
            }
        }
        Ok(routes)
    }

    /// Every function with a `Schedule` event, and how often it runs.
    pub fn scheduled_functions(&self) -> Result<Vec<ScheduledFunction>, TemplateError> {
        let mut scheduled = Vec::new();
        for (function, resource) in self.resources_of_type("AWS::Serverless::Function") {
            let events = resource["Properties"].get("Events").and_then(Value::as_mapping).into_iter().flatten();
            for (_, event) in events.filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("Schedule")) {
                let expression = event["Properties"].get("Schedule").and_then(Value::as_str).unwrap_or_default();
                let every = rate(expression).ok_or_else(|| {
                    TemplateError::Shape(format!("{function}: {expression:?} is no rate(...) schedule"))
                })?;
                scheduled.push(ScheduledFunction {
                    function: function.to_owned(),
                    binary: binary_of(function, resource)?,
                    every,
                });
            }
        }
        Ok(scheduled)
    }

    /// Every event source mapping on the table's stream, with the function it invokes.
    pub fn stream_functions(&self) -> Result<Vec<StreamFunction>, TemplateError> {
        let mut functions = Vec::new();
        for (source, function, binary, properties) in self.event_source_mappings()? {
            if source.ends_with(".StreamArn") {
                let number = |name: &str, default: u64| properties.get(name).and_then(Value::as_u64).unwrap_or(default);
                let patterns =
                    properties.get("FilterCriteria").and_then(|c| c.get("Filters")).and_then(Value::as_sequence);
                let filters = patterns.into_iter().flatten().map(|filter| {
                    let pattern = filter.get("Pattern").and_then(Value::as_str).unwrap_or_default();
                    serde_json::from_str(pattern)
                        .map_err(|error| TemplateError::Shape(format!("{function}'s filter pattern: {error}")))
                });
                functions.push(StreamFunction {
                    filters: filters.collect::<Result<_, _>>()?,
                    function,
                    binary,
                    batch_size: number("BatchSize", 100) as usize,
                    maximum_retry_attempts: number("MaximumRetryAttempts", 10) as u32,
                });
            }
        }
        Ok(functions)
    }

    /// Every function an SQS queue invokes.
    pub fn queue_functions(&self) -> Result<Vec<QueueFunction>, TemplateError> {
        let mut functions = Vec::new();
        for (source, function, binary, properties) in self.event_source_mappings()? {
            if let Some(queue) = source.strip_suffix(".Arn")
                && self.resource_type(queue) == Some("AWS::SQS::Queue")
            {
                let number = |value: Option<&Value>, default: u64| value.and_then(Value::as_u64).unwrap_or(default);
                functions.push(QueueFunction {
                    function,
                    binary,
                    queue: queue.to_owned(),
                    batch_size: number(properties.get("BatchSize"), 10) as usize,
                    maximum_concurrency: number(
                        properties.get("ScalingConfig").and_then(|c| c.get("MaximumConcurrency")),
                        1000,
                    ) as usize,
                });
            }
        }
        Ok(functions)
    }

    /// Every `AWS::Lambda::EventSourceMapping`: its source (what its `EventSourceArn`'s
    /// `!GetAtt` names), its function and binary, and its properties.
    fn event_source_mappings(&self) -> Result<Vec<(String, String, String, &Value)>, TemplateError> {
        let shape = |what: String| TemplateError::Shape(what);
        let mut mappings = Vec::new();
        for (id, mapping) in self.resources_of_type("AWS::Lambda::EventSourceMapping") {
            let properties = &mapping["Properties"];
            let function = match &properties["FunctionName"] {
                Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().unwrap_or_default().to_owned(),
                _ => return Err(shape(format!("{id}: FunctionName is not a !Ref"))),
            };
            let source = match &properties["EventSourceArn"] {
                Value::Tagged(tagged) if tagged.tag == "!GetAtt" => {
                    tagged.value.as_str().unwrap_or_default().to_owned()
                }
                _ => return Err(shape(format!("{id}: EventSourceArn is not a !GetAtt"))),
            };
            let resource = self.resource(&function).ok_or_else(|| shape(format!("{id}: no {function}")))?;
            mappings.push((source, function.clone(), binary_of(&function, resource)?, properties));
        }
        Ok(mappings)
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

    /// The function built from `binary`: its logical id and resource.
    fn function_of(&self, binary: &str) -> Result<(&str, &Value), TemplateError> {
        self.resources_of_type("AWS::Serverless::Function")
            .find(|(id, resource)| binary_of(id, resource).is_ok_and(|b| b == binary))
            .ok_or_else(|| TemplateError::Shape(format!("no function builds {binary}")))
    }

    /// A property of `function`, its own or else the globals'.
    fn property_of<'a>(&'a self, function: &'a Value, name: &str) -> Option<&'a Value> {
        function["Properties"]
            .get(name)
            .or_else(|| self.doc.get("Globals").and_then(|g| g.get("Function")).and_then(|f| f.get(name)))
    }

    /// How Lambda runs the function built from `binary`.
    pub fn settings_of(&self, binary: &str) -> Result<FunctionSettings, TemplateError> {
        let (id, function) = self.function_of(binary)?;
        let number = |name: &str| -> Result<Option<u64>, TemplateError> {
            match self.property_of(function, name) {
                None => Ok(None),
                Some(value) => value
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| TemplateError::Shape(format!("{id}: {name} is not a whole number"))),
            }
        };
        Ok(FunctionSettings {
            logical_id: id.to_owned(),
            // Lambda's defaults when the template says nothing.
            timeout_seconds: number("Timeout")?.unwrap_or(3),
            memory_mb: number("MemorySize")?.unwrap_or(128),
            reserved_concurrency: number("ReservedConcurrentExecutions")?,
        })
    }

    /// The environment the template gives the function built from `binary`: the globals'
    /// variables with the function's own over them, references resolved to `local`.
    pub fn environment_of(
        &self,
        binary: &str,
        local: &LocalValues,
    ) -> Result<std::collections::BTreeMap<String, String>, TemplateError> {
        let (id, function) = self.function_of(binary)?;
        let variables = |scope: &Value| {
            scope.get("Environment").and_then(|e| e.get("Variables")).and_then(Value::as_mapping).cloned()
        };
        let globals = self.doc.get("Globals").and_then(|g| g.get("Function")).and_then(variables);
        let own = variables(&function["Properties"]);
        let mut environment = std::collections::BTreeMap::new();
        for (name, value) in globals.into_iter().flatten().chain(own.into_iter().flatten()) {
            let name = name.as_str().ok_or_else(|| TemplateError::Shape(format!("{id}: a variable name")))?;
            match self.resolve(&value, local).map_err(|what| TemplateError::Shape(format!("{id}: {name}: {what}")))? {
                Some(value) => environment.insert(name.to_owned(), value),
                None => environment.remove(name),
            };
        }
        Ok(environment)
    }

    /// The HTTP API's `CorsConfiguration`, references resolved to `local`; `None` without one.
    pub fn cors_of_http_api(&self, local: &LocalValues) -> Result<Option<CorsConfiguration>, TemplateError> {
        let Some((id, api)) = self.resources_of_type("AWS::Serverless::HttpApi").next() else {
            return Ok(None);
        };
        let Some(cors) = api["Properties"].get("CorsConfiguration") else {
            return Ok(None);
        };
        let names = ["AllowOrigins", "AllowHeaders", "AllowMethods", "ExposeHeaders"];
        self.cors(id, cors, names, local).map(Some)
    }

    /// The first CORS rule of the bucket `id`, as S3 applies it to browsers' requests;
    /// `None` without one.
    pub fn cors_of_bucket(&self, id: &str, local: &LocalValues) -> Result<Option<CorsConfiguration>, TemplateError> {
        let rule = self
            .resource(id)
            .and_then(|bucket| bucket["Properties"].get("CorsConfiguration"))
            .and_then(|cors| cors.get("CorsRules"))
            .and_then(|rules| rules.get(0));
        let Some(rule) = rule else {
            return Ok(None);
        };
        let names = ["AllowedOrigins", "AllowedHeaders", "AllowedMethods", "ExposedHeaders"];
        self.cors(id, rule, names, local).map(Some)
    }

    /// CORS settings from `cors`, whose lists of origins, headers, methods and exposed
    /// headers are named `names` (API Gateway and S3 name them differently).
    fn cors(
        &self,
        id: &str,
        cors: &Value,
        names: [&str; 4],
        local: &LocalValues,
    ) -> Result<CorsConfiguration, TemplateError> {
        let shape = |what: String| TemplateError::Shape(format!("{id}: CORS: {what}"));
        let list = |name: &str| match cors.get(name) {
            None => Ok(Vec::new()),
            Some(value) => self.strings(value, local).map_err(|error| shape(format!("{name}: {error}"))),
        };
        let [origins, headers, methods, exposed] = names;
        Ok(CorsConfiguration {
            allow_origins: list(origins)?,
            allow_headers: list(headers)?,
            allow_methods: list(methods)?,
            expose_headers: list(exposed)?,
            allow_credentials: cors.get("AllowCredentials").and_then(Value::as_bool).unwrap_or(false),
            max_age: cors.get("MaxAge").and_then(Value::as_u64),
        })
    }

    /// A list as it comes to on this machine: items, or a text split (`!Split`).
    fn strings(&self, value: &Value, local: &LocalValues) -> Result<Vec<String>, String> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .map(|item| self.resolve(item, local)?.ok_or_else(|| "an item has no local value".to_owned()))
                .collect(),
            Value::Tagged(tagged) if tagged.tag == "!Split" => match tagged.value.as_sequence().map(Vec::as_slice) {
                Some([Value::String(delimiter), text]) => {
                    let text = self.chosen(text, local)?.ok_or("a split text has no local value")?;
                    Ok(text
                        .split(delimiter.as_str())
                        .map(str::trim)
                        .filter(|i| !i.is_empty())
                        .map(str::to_owned)
                        .collect())
                }
                _ => Err("!Split takes a delimiter and a text".to_owned()),
            },
            other => Err(format!("{other:?} is not a list")),
        }
    }

    /// A text as it comes to on this machine, when a condition chooses it (`!If`) or not.
    fn chosen(&self, value: &Value, local: &LocalValues) -> Result<Option<String>, String> {
        let Value::Tagged(tagged) = value else {
            return self.resolve(value, local);
        };
        if tagged.tag != "!If" {
            return self.resolve(value, local);
        }
        match tagged.value.as_sequence().map(Vec::as_slice) {
            Some([Value::String(condition), when_true, when_false]) => {
                self.chosen(if self.condition(condition, local)? { when_true } else { when_false }, local)
            }
            _ => Err("!If takes a condition and two values".to_owned()),
        }
    }

    /// Whether the template's condition `name` (an `!Equals` of two values) holds here.
    fn condition(&self, name: &str, local: &LocalValues) -> Result<bool, String> {
        let condition = self.doc.get("Conditions").and_then(|c| c.get(name)).ok_or(format!("no condition {name}"))?;
        let Value::Tagged(equals) = condition else {
            return Err(format!("condition {name} is not an !Equals"));
        };
        match (equals.tag == "!Equals", equals.value.as_sequence().map(Vec::as_slice)) {
            (true, Some([left, right])) => Ok(self.resolve(left, local)? == self.resolve(right, local)?),
            _ => Err(format!("condition {name} is not an !Equals of two values")),
        }
    }

    /// A value as it comes to on this machine; `None` for one built from a resource that
    /// does not run here.
    fn resolve(&self, value: &Value, local: &LocalValues) -> Result<Option<String>, String> {
        let Value::Tagged(tagged) = value else {
            return value.as_str().map(|s| Some(s.to_owned())).ok_or_else(|| format!("{value:?} is not text"));
        };
        let text = tagged.value.as_str().ok_or_else(|| format!("{} of something other than text", tagged.tag))?;
        if tagged.tag == "!Ref" {
            return self.reference(text, local).map(Some);
        }
        if tagged.tag != "!Sub" {
            return Err(format!("{} is not resolved locally", tagged.tag));
        }
        let mut resolved = String::new();
        let mut rest = text;
        while let Some((before, after)) = rest.split_once("${") {
            let (name, after) = after.split_once('}').ok_or("an unclosed ${")?;
            resolved.push_str(before);
            if self.resource_type(name) == Some("AWS::ApiGatewayV2::Api") {
                // The whole value is that API's address: here, its local endpoint.
                return Ok(local.websocket_endpoint.clone());
            }
            if self.resource_type(name) == Some("AWS::Serverless::HttpApi") {
                // An address on the HTTP API: here, its path on the local one.
                let path = after.find('/').map_or("", |start| &after[start..]);
                return Ok(Some(format!("{}{path}", local.http_api_url)));
            }
            resolved.push_str(&match name {
                "AWS::Region" => "us-east-1".to_owned(),
                "AWS::URLSuffix" => "amazonaws.com".to_owned(),
                "AWS::StackName" => "local".to_owned(),
                name => self.reference(name, local)?,
            });
            rest = after;
        }
        resolved.push_str(rest);
        Ok(Some(resolved))
    }

    /// What `!Ref name` comes to: a parameter's value, or the table's name.
    fn reference(&self, name: &str, local: &LocalValues) -> Result<String, String> {
        if let Some(value) = local.parameters.get(name) {
            return Ok(value.clone());
        }
        if let Some(parameter) = self.doc.get("Parameters").and_then(|p| p.get(name)) {
            let default = parameter.get("Default").ok_or_else(|| format!("parameter {name} has no value here"))?;
            return match default {
                Value::String(text) => Ok(text.clone()),
                Value::Number(number) => Ok(number.to_string()),
                other => Err(format!("parameter {name}'s default {other:?}")),
            };
        }
        match self.resource_type(name) {
            Some("AWS::DynamoDB::Table") => Ok(local.table_name.clone()),
            Some("AWS::S3::Bucket") => Ok(local.bucket_name.clone()),
            Some("AWS::Events::EventBus") => Ok(local.event_bus_name.clone()),
            Some("AWS::SQS::Queue") => Ok(local.queue_urls.get(name).cloned().unwrap_or_default()),
            Some(kind) => Err(format!("{name} ({kind}) has no local value")),
            None => Err(format!("{name} is neither a parameter nor a resource")),
        }
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.resource(id)?.get("Type").and_then(Value::as_str)
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
    fn the_stream_functions_take_sessions_messages_and_notes_only() {
        let record = |pk: &str, sk: &str| serde_json::json!({"dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": sk}}}});
        let streamed = Template::embedded().stream_functions().unwrap();
        assert_eq!(streamed.len(), 2);
        for function in streamed {
            for (pk, sk) in
                [("SESSION#3", "SESSION"), ("SESSION#3", "MSG#00000000000000000007"), ("TEAM#SESSION#3", "NOTE#x#1")]
            {
                assert!(function.takes(&record(pk, sk)), "{} takes {pk}/{sk}", function.binary);
            }
            for (pk, sk) in [
                ("REPORTS", "DAY#2026-12-04"),
                ("REPORTED#message-3-7", "REPORTED"),
                ("SESSION#3", "IDS"),
                ("COUNTER", "SESSION_ID"),
            ] {
                assert!(!function.takes(&record(pk, sk)), "{} passes over {pk}/{sk}", function.binary);
            }
            assert!(!function.takes(&serde_json::json!({"dynamodb": {}})), "no keys");
        }
    }

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
    fn the_sweep_runs_every_minute() {
        let scheduled = Template::embedded().scheduled_functions().unwrap();
        assert_eq!(scheduled.len(), 1);
        assert_eq!((scheduled[0].binary.as_str(), scheduled[0].every.as_secs()), ("assignment-sweep", 60));
        assert_eq!(rate("rate(5 minutes)").map(|d| d.as_secs()), Some(300));
        assert_eq!(rate("rate(1 minutes)"), None, "EventBridge wants the singular for 1");
        assert_eq!(rate("cron(0 * * * ? *)"), None);
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
    fn the_http_apis_cors_configuration_resolves_its_parameters() {
        let template = Template::embedded();
        let cors = template.cors_of_http_api(&LocalValues::default()).unwrap().expect("the API configures CORS");
        assert_eq!(cors.allow_origins, ["*"], "the parameter's default");
        assert_eq!(cors.allow_headers, ["Authorization", "Content-Type"]);
        assert_eq!(cors.max_age, Some(600));
        let mut local = LocalValues::default();
        local.parameters.insert("CorsOrigins".into(), "https://shop.example, https://admin.example".into());
        let cors = template.cors_of_http_api(&local).unwrap().unwrap();
        assert_eq!(cors.allow_origins, ["https://shop.example", "https://admin.example"]);
        // Hosting the web clients adds CloudFront's origin, which has no local value.
        local.parameters.insert("HostWebClients".into(), "true".into());
        assert!(template.cors_of_http_api(&local).is_err());
    }

    #[test]
    fn the_buckets_cors_rule_reads_as_the_apis_does() {
        let template = Template::embedded();
        let cors = template.cors_of_bucket("AttachmentsBucket", &LocalValues::default()).unwrap().expect("a rule");
        assert_eq!(cors.allow_origins, ["*"]);
        assert_eq!(cors.allow_methods, ["PUT", "GET"]);
        assert_eq!(cors.allow_headers, ["content-type", "content-disposition"]);
        assert_eq!(template.cors_of_bucket("ChatTable", &LocalValues::default()).unwrap(), None);
    }

    #[test]
    fn a_functions_settings_are_its_own_over_the_globals() {
        let template = Template::embedded();
        let settings = template.settings_of("ws-connect").unwrap();
        assert_eq!(settings.logical_id, "WsConnectFunction");
        assert_eq!((settings.timeout_seconds, settings.memory_mb), (10, 256));
        let own = Template::parse(
            "Globals: {Function: {Timeout: 10}}\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    \
             Properties: {Timeout: 3, ReservedConcurrentExecutions: 4}\n    Metadata: {BuildProperties: {Binary: f}}\n",
        )
        .unwrap();
        let settings = own.settings_of("f").unwrap();
        assert_eq!((settings.timeout_seconds, settings.memory_mb, settings.reserved_concurrency), (3, 128, Some(4)));
        assert!(own.settings_of("g").is_err());
    }

    #[test]
    fn a_functions_environment_is_the_globals_and_its_own_resolved_here() {
        let template = Template::embedded();
        let mut local = LocalValues { table_name: "chat-local".into(), ..LocalValues::default() };
        local.parameters.insert("ProjectKeyDigests".into(), "0".repeat(64));
        let plain = template.environment_of("store-get-session", &local).unwrap();
        assert_eq!(plain.get("TABLE_NAME").map(String::as_str), Some("chat-local"));
        assert_eq!(plain.get("LOG_LEVEL").map(String::as_str), Some("info"), "the parameter's default");
        assert!(!plain.contains_key("WEBSOCKET_ENDPOINT"), "no WebSocket API here: {plain:?}");
        assert!(!plain.contains_key("PROJECT_KEY_SHA256"), "only the function that checks it has it");

        local.websocket_endpoint = Some("http://127.0.0.1:3001/local".into());
        let keyed = template.environment_of("conversation-list-sessions", &local).unwrap();
        assert_eq!(keyed.get("PROJECT_KEY_SHA256").map(String::as_str), Some("0".repeat(64).as_str()));
        assert_eq!(keyed.get("WEBSOCKET_ENDPOINT").map(String::as_str), Some("http://127.0.0.1:3001/local"));
        assert!(template.environment_of("no-such-function", &local).is_err());
    }

    #[test]
    fn table_keys_and_indexes() {
        let table = Template::embedded().table().unwrap();
        assert_eq!(table.key_schema, [("PK".into(), "HASH".into()), ("SK".into(), "RANGE".into())]);
        assert!(table.indexes.iter().any(|i| i.name == "OpenQueue"));
        assert_eq!(table.ttl_attribute.as_deref(), Some("expires_at"));
    }
}
