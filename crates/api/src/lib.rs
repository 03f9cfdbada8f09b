//! WhaleFall `/api/v1` HTTP layer (axum). One router module per namespace of the contract
//! (`shared/spec/api-v1.md`); handlers stay thin: parse, authorize, call a service, wrap the
//! envelope.

pub mod audit;
pub mod config;
pub mod ctx;
pub mod envelope;
pub mod error;
pub mod jwt;
pub mod middleware;
pub mod openapi;
pub mod payload;
pub mod ratelimit;
pub mod routes;
pub mod session;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use config::Settings;
pub use state::AppState;

/// Build the full application router with all middleware.
///
/// Layer order (outermost first): CORS → body limit → error envelope (which also loads and
/// writes the session cookie) →
/// panic guard → routes. Route layers (integer path check, then the global CSRF check) run
/// only for matched routes, so unknown paths, non-integer ids (404) and methods (405) are
/// answered before CSRF and authentication (`api-v1.md` §2.7 check order).
pub fn router(st: AppState) -> Router {
    let routes = Router::new()
        .merge(routes::discovery::router(&st.settings))
        .merge(routes::auth::router())
        .merge(routes::health::router())
        .merge(routes::instances::router())
        .merge(routes::instance_batch::router())
        .merge(routes::connections::router())
        .merge(routes::credentials::router())
        .merge(routes::accounts::router())
        .merge(routes::users::router())
        .merge(routes::tags::router())
        .merge(routes::common::router())
        .merge(routes::files::router())
        .merge(routes::cache::router())
        .merge(routes::capacity::router())
        .merge(routes::databases::router())
        .merge(routes::partition::router())
        .merge(routes::scheduler::router())
        .merge(routes::history::router())
        .merge(routes::history_logs::router())
        .merge(routes::dashboard::router())
        .merge(routes::classifications::router())
        .route_layer(axum::middleware::from_fn_with_state(
            st.clone(),
            middleware::route_checks,
        ))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(|| async {
            error::ApiError(wf_domain::AppError::framework(
                405,
                wf_domain::error::MSG_METHOD_NOT_ALLOWED,
            ))
        });
    let origins: Vec<HeaderValue> = st
        .settings
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
            HeaderName::from_static("x-csrftoken"),
        ])
        .allow_credentials(true);
    routes
        .layer(CatchPanicLayer::new())
        // the envelope middleware also loads and writes the session cookie (`middleware::session`)
        .layer(axum::middleware::from_fn_with_state(
            st.clone(),
            middleware::envelope,
        ))
        .layer(DefaultBodyLimit::max(st.settings.max_content_length))
        .layer(cors)
        .with_state(st)
}
