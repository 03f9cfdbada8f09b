//! Sync-session history (`api-v1.md` §4.16): list, detail with per-instance records and
//! progress, error records, cancel.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use wf_domain::time;
use wf_store::entity::{sync_instance_record, sync_session};
use wf_store::repo::sessions::{self as repo, SessionFilter, SessionSort};

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// Session object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    pub id: i32,
    /// UUID.
    pub session_id: String,
    /// `manual_single`, `manual_batch`, `manual_task`, `scheduled_task`.
    pub sync_type: String,
    /// `account`, `capacity`, `config`, `aggregation`, `other`.
    pub sync_category: String,
    /// `running`, `completed`, `completed_with_errors`, `failed`, `cancelled`, `interrupted`.
    pub status: String,
    /// UTC ISO-8601.
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub total_instances: i32,
    pub successful_instances: i32,
    pub failed_instances: i32,
    /// User id of a manual run.
    pub created_by: Option<i32>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<&sync_session::Model> for SessionView {
    fn from(s: &sync_session::Model) -> Self {
        SessionView {
            id: s.id,
            session_id: s.session_id.clone(),
            sync_type: s.sync_type.clone(),
            sync_category: s.sync_category.clone(),
            status: s.status.clone(),
            started_at: Some(time::iso(&s.started_at)),
            completed_at: s.completed_at.as_ref().map(time::iso),
            total_instances: s.total_instances.unwrap_or(0),
            successful_instances: s.successful_instances.unwrap_or(0),
            failed_instances: s.failed_instances.unwrap_or(0),
            created_by: s.created_by,
            created_at: s.created_at.as_ref().map(time::iso),
            updated_at: s.updated_at.as_ref().map(time::iso),
        }
    }
}

/// Per-instance record of a session.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordView {
    pub id: i32,
    pub session_id: String,
    pub instance_id: i32,
    pub instance_name: Option<String>,
    pub sync_category: String,
    /// `pending`, `running`, `completed`, `failed`, `skipped`, `cancelled`.
    pub status: String,
    /// UTC ISO-8601.
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub items_synced: i32,
    pub items_created: i32,
    pub items_updated: i32,
    pub items_deleted: i32,
    pub error_message: Option<String>,
    /// `{inventory, collection, remote_queries}` for account syncs.
    #[schema(value_type = Option<Object>)]
    pub sync_details: Option<Value>,
    pub created_at: Option<String>,
}

impl From<sync_instance_record::Model> for RecordView {
    fn from(r: sync_instance_record::Model) -> Self {
        RecordView {
            id: r.id,
            session_id: r.session_id,
            instance_id: r.instance_id,
            instance_name: r.instance_name,
            sync_category: r.sync_category,
            status: r.status,
            started_at: r.started_at.as_ref().map(time::iso),
            completed_at: r.completed_at.as_ref().map(time::iso),
            items_synced: r.items_synced.unwrap_or(0),
            items_created: r.items_created.unwrap_or(0),
            items_updated: r.items_updated.unwrap_or(0),
            items_deleted: r.items_deleted.unwrap_or(0),
            error_message: r.error_message,
            sync_details: r.sync_details,
            created_at: r.created_at.as_ref().map(time::iso),
        }
    }
}

/// `GET /history/sessions` page: no `limit` key (`api-v1.md` §4.16).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionPage {
    pub items: Vec<SessionView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}

/// `GET /history/sessions`.
pub async fn list(
    svc: &Services,
    f: &SessionFilter,
    sort: SessionSort,
    desc: bool,
    page: u64,
    size: u64,
) -> ServiceResult<SessionPage> {
    let p = repo::page(&svc.db, f, sort, desc, page, size)
        .await
        .public("获取会话列表失败")?;
    Ok(SessionPage {
        items: p.rows.iter().map(SessionView::from).collect(),
        total: p.total,
        page,
        pages: crate::views::pages(p.total, size),
    })
}

/// Session detail: the session, its records in creation order and the progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: SessionView,
    pub instance_records: Vec<RecordView>,
    /// (successful + failed) / total × 100, 2 decimals; 0 when total is 0.
    pub progress_percentage: f64,
}

async fn find(
    svc: &Services,
    session_id: &str,
    public: &'static str,
) -> ServiceResult<sync_session::Model> {
    repo::find(&svc.db, session_id)
        .await
        .public(public)?
        .ok_or_else(|| ServiceError::not_found("会话不存在"))
}

/// `GET /history/sessions/{session_id}`.
pub async fn detail(svc: &Services, session_id: &str) -> ServiceResult<SessionDetail> {
    const PUB: &str = "获取会话详情失败";
    let s = find(svc, session_id, PUB).await?;
    let records = repo::records(&svc.db, session_id, None).await.public(PUB)?;
    let view = SessionView::from(&s);
    let done = f64::from(view.successful_instances + view.failed_instances);
    let progress_percentage = if view.total_instances == 0 {
        0.0
    } else {
        (done / f64::from(view.total_instances) * 10000.0).round() / 100.0
    };
    Ok(SessionDetail {
        session: view,
        instance_records: records.into_iter().map(RecordView::from).collect(),
        progress_percentage,
    })
}

/// `GET /history/sessions/{session_id}/error-logs`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionErrors {
    pub session: SessionView,
    pub error_records: Vec<RecordView>,
    pub error_count: usize,
}

/// The failed records of a session.
pub async fn error_logs(svc: &Services, session_id: &str) -> ServiceResult<SessionErrors> {
    const PUB: &str = "获取错误日志失败";
    let s = find(svc, session_id, PUB).await?;
    let failed = repo::records(&svc.db, session_id, Some("failed"))
        .await
        .public(PUB)?;
    Ok(SessionErrors {
        session: SessionView::from(&s),
        error_count: failed.len(),
        error_records: failed.into_iter().map(RecordView::from).collect(),
    })
}

/// `POST /history/sessions/{session_id}/cancel`: a `running` session becomes `cancelled`
/// (its runner starts no further instance and keeps that status); a finished one is left as
/// it is. 404 `取消会话失败,会话不存在或已结束` for an unknown id or a store failure.
pub async fn cancel(svc: &Services, session_id: &str) -> ServiceResult<()> {
    let not_found = || ServiceError::not_found("取消会话失败,会话不存在或已结束");
    match repo::find(&svc.db, session_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(not_found()),
        Err(e) => {
            tracing::error!(session = %session_id, error = %e, "cancel look-up failed");
            return Err(not_found());
        }
    }
    if let Err(e) = repo::cancel(&svc.db, session_id).await {
        tracing::error!(session = %session_id, error = %e, "cancel failed");
        return Err(not_found());
    }
    Ok(())
}
