//! public: signed static releases. `publish` turns the desk's data into a
//! folder of static files any host can serve; `verify` proves a copy of it is
//! complete, unchanged and signed by the release key.

pub mod charts;
pub mod data;
mod publish;
pub mod site;
pub mod suppress;
pub mod table;
mod verify;

pub use data::PublicData;
pub use publish::{PublishError, Release, publish};
pub use table::{Cell, Column, ColumnKind, Table, Text};
pub use verify::{Verified, VerifyError, verify};

use std::path::PathBuf;

use axum::Router;
use tower_http::services::ServeDir;

/// Serves a release folder as static files (what `vigil demo` does locally).
pub fn site_router(dir: PathBuf) -> Router {
    vigil_web::harden(Router::new().fallback_service(ServeDir::new(dir)))
}
