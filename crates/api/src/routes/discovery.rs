//! Discovery and documentation (`api-v1.md` §4.1): `/api/v1/`, `openapi.json`,
//! `swagger.json`, and the Swagger UI at `/api/v1/docs` (vendored assets).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

use crate::config::Settings;
use crate::envelope::ok;
use crate::state::AppState;

/// Discovery routes; the Swagger UI exists only when docs are enabled.
pub fn router(settings: &Settings) -> Router<AppState> {
    let r = Router::new()
        .route("/api/v1/", get(root))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/swagger.json", get(openapi_json));
    if settings.api_docs_enabled {
        r.route("/api/v1/docs", get(docs))
            .route("/api/v1/docs/{*file}", get(docs_asset))
    } else {
        r
    }
}

/// Discovery object.
#[derive(Serialize, ToSchema)]
pub struct Discovery {
    /// Null when docs are disabled.
    pub docs_url: Option<&'static str>,
    pub openapi_url: &'static str,
    pub swagger_url: &'static str,
    pub health_ping_url: &'static str,
}

/// `GET /api/v1/` — discovery object.
#[utoipa::path(get, path = "/api/v1/", tag = "admin", operation_id = "discovery_root", responses((status = 200, body = Discovery)))]
pub async fn root(State(st): State<AppState>) -> Response {
    let data = Discovery {
        docs_url: st.settings.api_docs_enabled.then_some("/api/v1/docs"),
        openapi_url: "/api/v1/openapi.json",
        swagger_url: "/api/v1/swagger.json",
        health_ping_url: "/api/v1/health/ping",
    };
    ok("API v1 已就绪", &data)
}

async fn openapi_json(State(st): State<AppState>) -> Response {
    Json(crate::openapi::swagger2(&st.settings.app_name, &st.settings.app_version).clone())
        .into_response()
}

const DOCS_HTML: &str = r##"<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="UTF-8"><title>鲸落 API v1</title>
<link rel="stylesheet" type="text/css" href="/api/v1/docs/swagger-ui.css" /></head>
<body><div id="swagger-ui"></div>
<script src="/api/v1/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
<script src="/api/v1/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
<script>window.onload = function () { window.ui = SwaggerUIBundle({ url: "/api/v1/swagger.json", dom_id: "#swagger-ui",
  deepLinking: true, presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout" }); };</script>
</body></html>"##;

async fn docs() -> Html<&'static str> {
    Html(DOCS_HTML)
}

async fn docs_asset(Path(file): Path<String>) -> Response {
    let config = Arc::new(utoipa_swagger_ui::Config::from("/api/v1/swagger.json"));
    match utoipa_swagger_ui::serve(&file, config) {
        Ok(Some(f)) if file != "index.html" && !file.is_empty() => {
            let mut resp =
                ([(header::CONTENT_TYPE, f.content_type)], f.bytes.to_vec()).into_response();
            if f.gzpipped {
                resp.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static("gzip"),
                );
            }
            resp
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
