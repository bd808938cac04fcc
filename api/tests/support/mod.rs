//! The API in process, over a real controller and a real SQLite store in a
//! temp dir: the router to drive with `oneshot`, on a runtime of its own.

#![allow(dead_code)] // each test binary uses its part

use std::path::Path;

use axum::Router;
use muster_api::{ApiState, Tokens, router};
use muster_controller::engine::{Engine, SharedObserved};
use muster_controller::policy::load_str;
use muster_controller::runner::{now_millis, spawn_controller};
use muster_controller::store::Store;
use tokio_util::sync::CancellationToken;

/// A small farm: two roles, static hosts, open enrolment.
pub(crate) const POLICY: &str = r#"
zone: lists.example.test
nameservers: [ns1.lists.example.test]
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: A } ] }
  web: { min: 1, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out, static: true }
  - { name: smurf2, address: 127.0.1.2, role: web, static: true }
  - { name: smurf3, address: 127.0.1.3, static: true }
enrolment: open
"#;

/// The router and what keeps it alive.
pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) runtime: tokio::runtime::Runtime,
    _cancel: tokio_util::sync::DropGuard,
    _dir: tempfile::TempDir,
}

impl App {
    /// [`POLICY`] served with `tokens`, on a runtime with its own worker
    /// thread (handler futures are large for a test thread's stack).
    pub(crate) fn start(tokens: Tokens) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let db = format!("sqlite://{}", dir.path().join("muster.db").display());
        let cancel = CancellationToken::new();
        let router = runtime.block_on(async {
            let policy = load_str(Path::new("app.yaml"), POLICY).expect("policy");
            let store = Store::open(&db).await.expect("store");
            let observed = SharedObserved::default();
            let engine = Engine::start(policy, store.clone(), observed.clone(), now_millis())
                .await
                .expect("engine");
            let zone = engine.shared();
            let (controller, _task) = spawn_controller(engine, observed, cancel.clone());
            router(ApiState {
                zone,
                controller,
                store,
                tokens,
                dns_stats: Default::default(),
                history: Default::default(),
            })
        });
        Self {
            router,
            runtime,
            _cancel: cancel.drop_guard(),
            _dir: dir,
        }
    }
}
