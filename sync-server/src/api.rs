//! The route table. Each endpoint is declared once, next to its handler: method, path,
//! handler and its OpenAPI operation together. The same table builds the axum router
//! ([`Routes::into_router`]) and the `paths` of the document at `GET /v1/openapi.json`
//! ([`crate::openapi`]), so an endpoint cannot be served undocumented or documented unserved.
//!
//! ```ignore
//! Routes::new().post("/v1/auth/logout", logout, |_| {
//!     Operation::new("logout", "auth", "Sign out")
//!         .describe("Revokes the token of this request.")
//!         .bearer()
//!         .db()
//!         .empty(204, "Signed out.")
//! })
//! ```

use std::convert::Infallible;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{self, MethodRouter, Route};
use schemars::generate::SchemaGenerator;
use tower::{Layer, Service};

use crate::AppState;
pub(crate) use crate::openapi::Operation;

/// Writes an endpoint's operation; gets the generator that collects `components.schemas`
/// (shared by every endpoint of the document).
type Describe = Box<dyn FnOnce(&mut SchemaGenerator) -> Operation + Send>;

/// One declared endpoint, as the document sees it.
pub(crate) struct Endpoint {
    /// Lower case, as OpenAPI names methods.
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) describe: Describe,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method.to_uppercase(), self.path)
    }
}

/// Endpoints being declared: the router so far and the operations of its routes.
#[derive(Debug)]
#[must_use]
pub(crate) struct Routes {
    router: Router<AppState>,
    endpoints: Vec<Endpoint>,
}

/// `Routes::$method(path, handler, describe)`: the endpoint `$METHOD path`, served by `handler`
/// and documented by `describe`.
macro_rules! method {
    ($(#[$doc:meta])* $method:ident) => {
        $(#[$doc])*
        pub(crate) fn $method<H, T>(
            self,
            path: &'static str,
            handler: H,
            describe: impl FnOnce(&mut SchemaGenerator) -> Operation + Send + 'static,
        ) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(stringify!($method), path, routing::$method(handler), describe)
        }
    };
}

impl Routes {
    pub(crate) fn new() -> Self {
        Routes {
            router: Router::new(),
            endpoints: Vec::new(),
        }
    }

    method!(
        /// `GET path` (axum also answers `HEAD` with it, unless `HEAD` is declared too).
        get
    );
    method!(head);
    method!(post);
    method!(put);
    method!(patch);
    method!(delete);

    /// Routes `method path` to `route` (a second method of a path joins the first) and keeps
    /// its description.
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        route: MethodRouter<AppState>,
        describe: impl FnOnce(&mut SchemaGenerator) -> Operation + Send + 'static,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.endpoints.push(Endpoint {
            method,
            path,
            describe: Box::new(describe),
        });
        self
    }

    /// Adds another module's endpoints.
    pub(crate) fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.endpoints.extend(other.endpoints);
        self
    }

    /// Wraps the routes declared so far in `layer` (as [`Router::layer`]).
    pub(crate) fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    pub(crate) fn into_router(self) -> Router<AppState> {
        self.router
    }

    pub(crate) fn into_endpoints(self) -> Vec<Endpoint> {
        self.endpoints
    }
}
