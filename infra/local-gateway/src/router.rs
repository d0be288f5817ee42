//! Route selection as API Gateway does it, over the routes `template.yaml` declares.

use http::Method;
use sam_template::Template;

use crate::invoke::Functions;

pub struct Route {
    pub method: Method,
    pub path: String,
    pub key: String,
    /// The binary of the function behind it.
    pub binary: String,
    /// Whether its requests must be signed (`Authorizer: AWS_IAM`).
    pub iam: bool,
}

pub enum Miss {
    NotFound,
    /// The path is routed, for these methods only.
    MethodNotAllowed(Vec<Method>),
}

pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// The template's routes, each served by a function `functions` runs.
    pub fn from_template(template: &Template, functions: &Functions) -> Result<Self, String> {
        let routes = template.http_routes().map_err(|e| e.to_string())?;
        let routes = routes
            .into_iter()
            .map(|route| {
                if !functions.runs(&route.binary) {
                    return Err(format!(
                        "{} is served by {}, which the gateway cannot run",
                        route.route_key(),
                        route.binary
                    ));
                }
                let method = Method::from_bytes(route.method.as_bytes()).map_err(|e| e.to_string())?;
                Ok(Route { method, key: route.route_key(), path: route.path, binary: route.binary, iam: route.iam })
            })
            .collect::<Result<_, String>>()?;
        Ok(Router { routes })
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn find(&self, method: &Method, path: &str) -> Result<&Route, Miss> {
        let on_path: Vec<&Route> = self.routes.iter().filter(|route| route.path == path).collect();
        if on_path.is_empty() {
            return Err(Miss::NotFound);
        }
        match on_path.iter().find(|route| route.method == method) {
            Some(route) => Ok(route),
            None => Err(Miss::MethodNotAllowed(on_path.iter().map(|route| route.method.clone()).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_route_has_a_handler() {
        let app = std::sync::Arc::new(shared::App::new(
            std::sync::Arc::new(shared::storage::MemoryStore::new()),
            shared::config::Config::local("test", None, None),
        ));
        let functions = Functions::linked(app.clone(), functions::handler);
        let router = Router::from_template(&Template::embedded(), &functions).expect("every function can be run");
        assert_eq!(router.len(), Template::embedded().http_routes().unwrap().len());
        assert!(router.find(&Method::GET, "/v1/chat/store/session/").is_ok());
        assert!(matches!(
            router.find(&Method::POST, "/v1/chat/store/session/"),
            Err(Miss::MethodNotAllowed(allowed)) if allowed == [Method::GET]
        ));
        assert!(matches!(router.find(&Method::GET, "/nope"), Err(Miss::NotFound)));
        let refused = Router::from_template(&Template::embedded(), &Functions::linked(app, |_| None));
        assert!(refused.is_err_and(|error| error.contains("cannot run")));
    }
}
