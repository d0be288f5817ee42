//! Reading an invocation line as CloudWatch does: Embedded Metric Format, checked by the
//! specification's rules.

use std::collections::BTreeSet;

use serde_json::Value;

/// The units CloudWatch accepts.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// A metric as the line publishes it: name, unit, dimension names, values.
#[derive(Debug)]
pub struct Published {
    pub name: String,
    pub unit: String,
    pub dimensions: Vec<Vec<String>>,
    pub values: Vec<f64>,
}

/// The metrics `line` publishes, after checking it against the Embedded Metric Format
/// specification: a root `_aws` with an integer `Timestamp` and directives, each with a
/// namespace, dimension sets of at most 30 names that are string members of the root, and
/// at most 100 metrics, each a number or an array of at most 100 numbers in the root.
pub fn emf(line: &Value) -> Vec<Published> {
    let aws = line["_aws"].as_object().unwrap_or_else(|| panic!("no _aws object: {line}"));
    assert!(aws["Timestamp"].as_u64().is_some_and(|t| t > 1_600_000_000_000), "{line}");
    let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics is an array");
    assert!(!directives.is_empty());
    let mut published = Vec::new();
    for directive in directives {
        let namespace = directive["Namespace"].as_str().expect("a namespace");
        assert!((1..=255).contains(&namespace.len()) && namespace.starts_with("SupportChat"), "{namespace}");
        let sets = directive["Dimensions"].as_array().expect("dimension sets");
        let dimensions: Vec<Vec<String>> = sets
            .iter()
            .map(|set| {
                let names = set.as_array().expect("a dimension set is an array");
                assert!(names.len() <= 30);
                names
                    .iter()
                    .map(|name| {
                        let name = name.as_str().expect("a dimension name");
                        assert!(line[name].is_string(), "dimension {name} is no string member: {line}");
                        name.to_owned()
                    })
                    .collect()
            })
            .collect();
        let metrics = directive["Metrics"].as_array().expect("metrics");
        assert!((1..=100).contains(&metrics.len()));
        let names: BTreeSet<&str> = metrics.iter().map(|m| m["Name"].as_str().expect("a metric name")).collect();
        assert_eq!(names.len(), metrics.len(), "a name twice in one directive: {directive}");
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap();
            let unit = metric["Unit"].as_str().expect("every metric states its unit");
            assert!(UNITS.contains(&unit), "{name}: {unit}");
            let values = match &line[name] {
                Value::Number(value) => vec![value.as_f64().unwrap()],
                Value::Array(values) => {
                    assert!((1..=100).contains(&values.len()));
                    values.iter().map(|v| v.as_f64().expect("numbers")).collect()
                }
                other => panic!("{name} is {other}, not a value: {line}"),
            };
            published.push(Published { name: name.into(), unit: unit.into(), dimensions: dimensions.clone(), values });
        }
    }
    published
}

/// The value of `name` in `line`, checking its unit and dimension sets.
pub fn value(line: &Value, name: &str, unit: &str, dimensions: &[&[&str]]) -> f64 {
    let metrics = emf(line);
    let metric = metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name} in {line}"));
    assert_eq!(metric.unit, unit, "{name}");
    let expected: Vec<Vec<String>> =
        dimensions.iter().map(|set| set.iter().map(|name| (*name).to_owned()).collect()).collect();
    assert_eq!(metric.dimensions, expected, "{name}");
    assert_eq!(metric.values.len(), 1, "{name}");
    metric.values[0]
}

pub fn absent(line: &Value, name: &str) {
    assert!(emf(line).iter().all(|m| m.name != name), "{name} in {line}");
}

/// The sum of `name` over `lines`, each checked as [`value`] checks one, counting the lines
/// without it as 0.
pub fn total(lines: &[Value], name: &str, unit: &str, dimensions: &[&[&str]]) -> f64 {
    lines
        .iter()
        .filter(|line| emf(line).iter().any(|m| m.name == name))
        .map(|line| value(line, name, unit, dimensions))
        .sum()
}
