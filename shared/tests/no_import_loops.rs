//! No module of `shared` imports a module that imports it back: the layers stay layers.
//!
//! Read from the sources as text: every `crate::` and `super::` path outside the test
//! modules and comments, resolved to the module that defines what it names (a name a module
//! only re-exports from a child of its own resolves to that child, and a module's re-exports
//! of its children are written without either prefix, so they are no dependency).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type ModulePath = Vec<String>;

/// Every module of the crate with its code: test modules and comments left out.
fn modules() -> BTreeMap<ModulePath, String> {
    fn walk(dir: &Path, prefix: &[String], modules: &mut BTreeMap<ModulePath, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                walk(&path, &[prefix, &[name]].concat(), modules);
                continue;
            }
            let Some(stem) = name.strip_suffix(".rs") else { continue };
            let module = match stem {
                "lib" | "mod" => prefix.to_vec(),
                stem => [prefix, &[stem.to_owned()]].concat(),
            };
            let text = std::fs::read_to_string(&path).unwrap();
            // The unit tests, at the end of a file, may import anything.
            let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap();
            // Comments may name any module; only code imports.
            let code = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//") && line.trim() != "mod tests;")
                .collect::<Vec<_>>()
                .join("\n");
            modules.insert(module, code);
        }
    }
    let mut modules = BTreeMap::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &[], &mut modules);
    modules
}

/// The paths a `use` tree or an inline path starting at `text` names, `{a, b::c}` groups
/// expanded: `["a"], ["b", "c"]`.
fn paths(text: &str) -> (Vec<ModulePath>, usize) {
    let mut found = Vec::new();
    let mut segments: ModulePath = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i > start {
            segments.push(text[start..i].to_owned());
        }
        if text[i..].starts_with("::{") {
            i += 3;
            loop {
                while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'}' {
                    i += 1;
                    break;
                }
                let (inner, used) = paths(&text[i..]);
                found.extend(inner.into_iter().map(|tail| [segments.clone(), tail].concat()));
                i += used;
            }
            return (found, i);
        }
        if text[i..].starts_with("::") {
            i += 2;
            continue;
        }
        found.push(segments);
        return (found, i);
    }
}

/// Every path that `code` takes from another module, absolute, as written.
fn references(module: &ModulePath, code: &str) -> Vec<ModulePath> {
    let mut references = Vec::new();
    for statement in code.split_inclusive(';') {
        for (at, _) in statement.match_indices("crate::").chain(statement.match_indices("super::")) {
            let before = statement[..at].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let (root, rest) = if statement[at..].starts_with("crate::") {
                (Vec::new(), &statement[at + 7..])
            } else {
                // `super::super::` climbs once per `super::`.
                let mut rest = &statement[at..];
                let mut root = module.clone();
                while let Some(tail) = rest.strip_prefix("super::") {
                    root.pop();
                    rest = tail;
                }
                (root, rest)
            };
            references.extend(paths(rest).0.into_iter().map(|tail| [root.clone(), tail].concat()));
        }
    }
    references
}

/// The module that defines what `path` names.
fn resolve(modules: &BTreeMap<ModulePath, String>, path: &[String]) -> ModulePath {
    let mut module: ModulePath = Vec::new();
    for segment in path {
        let child = [module.clone(), vec![segment.clone()]].concat();
        if modules.contains_key(&child) {
            module = child;
            continue;
        }
        // A name the module re-exports from one of its children: `pub use child::{.., name}`.
        let code = &modules[&module];
        let from_child = code.split(';').map(str::trim).filter_map(|s| s.strip_prefix("pub use ")).find_map(|used| {
            let (child, names) = used.split_once("::")?;
            let names: Vec<&str> = names.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
            names.contains(&segment.as_str()).then(|| [module.clone(), vec![child.to_owned()]].concat())
        });
        match from_child {
            Some(child) if modules.contains_key(&child) => module = child,
            _ => break,
        }
    }
    module
}

fn name(module: &ModulePath) -> String {
    if module.is_empty() { "lib".to_owned() } else { module.join("::") }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let modules = modules();
    let mut imports: BTreeMap<ModulePath, BTreeSet<ModulePath>> = BTreeMap::new();
    for (module, code) in &modules {
        for path in references(module, code) {
            let target = resolve(&modules, &path);
            if &target != module && !target.is_empty() {
                imports.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    let reaches = |from: &ModulePath, to: &ModulePath| {
        let (mut seen, mut stack) = (BTreeSet::new(), vec![from.clone()]);
        while let Some(at) = stack.pop() {
            if &at == to {
                return true;
            }
            if seen.insert(at.clone()) {
                stack.extend(imports.get(&at).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut loops = Vec::new();
    for (module, targets) in &imports {
        for target in targets {
            if reaches(target, module) {
                loops.push(format!("{} -> {} -> … -> {}", name(module), name(target), name(module)));
            }
        }
    }
    assert!(loops.is_empty(), "modules that import each other:\n{}", loops.join("\n"));
    // The check sees what it should: the use cases rest on the domain and on storage.
    let chat = &imports[&vec!["chat".to_owned(), "messages".to_owned()]];
    assert!(chat.contains(&vec!["domain".to_owned(), "session".to_owned()]), "{chat:?}");
    assert!(chat.iter().any(|module| module[0] == "storage"), "{chat:?}");
}

#[test]
fn paths_are_read_with_their_groups() {
    let (found, _) = paths("domain::{Message, session::{Session, SessionId}}, x");
    let expected: Vec<ModulePath> =
        [&["domain", "Message"][..], &["domain", "session", "Session"], &["domain", "session", "SessionId"]]
            .iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect();
    assert_eq!(found, expected);
}
