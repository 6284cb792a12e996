//! public: signed static releases. `publish` turns the desk's data into
//! tables and pages; `opendata` writes the tables as files; `release` writes
//! the folder with its manifest, signatures and changes; `verify` proves a
//! copy of it is complete, unchanged, signed by the release key and chained to
//! the release before it.

pub mod changes;
pub mod charts;
pub mod data;
pub mod opendata;
mod publish;
pub mod release;
pub mod sign;
pub mod site;
pub mod suppress;
pub mod table;
mod verify;

pub use data::PublicData;
pub use publish::{Publication, PublishError, RecordTable, Release, publish};
pub use table::{Cell, Column, ColumnKind, Table, Text};
pub use verify::{Verified, VerifyError, verify, verify_chain};

use std::path::PathBuf;

use axum::Router;
use tower_http::services::ServeDir;

/// Serves a release folder as static files (what `vigil demo` does locally).
pub fn site_router(dir: PathBuf) -> Router {
    vigil_web::harden(Router::new().fallback_service(ServeDir::new(dir)))
}
