//! Credentials (`api-v1.md` §4.9, `domain.md` §1.4, §9.2): the password is encrypted at rest
//! and only ever returned masked.

use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::body::sanitize;
use wf_domain::db_type::DbType;
use wf_domain::{AppError, Body, password, time};
use wf_store::entity::credential;
use wf_store::repo::credentials::{
    self as repo, CredentialFields, CredentialFilter, CredentialSort,
};

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult, constraint_or};
use crate::views::require_strings;

const TYPES: [&str; 5] = ["database", "ssh", "windows", "api", "ldap"];

/// Credential object (masked password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialView {
    pub id: i32,
    pub name: String,
    pub credential_type: String,
    pub db_type: Option<String>,
    pub username: String,
    pub category_id: Option<i32>,
    /// UTC ISO-8601.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// Masked, never the secret.
    pub password: String,
}

impl From<&credential::Model> for CredentialView {
    fn from(c: &credential::Model) -> Self {
        CredentialView {
            id: c.id,
            name: c.name.clone(),
            credential_type: c.credential_type.clone(),
            db_type: c.db_type.clone(),
            username: c.username.clone(),
            category_id: c.category_id,
            created_at: c.created_at.as_ref().map(time::iso),
            updated_at: c.updated_at.as_ref().map(time::iso),
            password: password::mask(&c.password),
        }
    }
}

/// A credential of the list: the object plus description, state and usage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialListItem {
    #[serde(flatten)]
    pub credential: CredentialView,
    pub description: Option<String>,
    pub is_active: bool,
    /// Instances using it (soft-deleted included).
    pub instance_count: i64,
    /// `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
    pub created_at_display: String,
}

crate::page_type!(
    /// `GET /credentials` page.
    CredentialPage,
    CredentialListItem
);

/// `GET /credentials`.
pub async fn list(
    svc: &Services,
    f: &CredentialFilter,
    sort: CredentialSort,
    desc: bool,
    page: u64,
    size: u64,
) -> ServiceResult<CredentialPage> {
    const PUB: &str = "获取凭据列表失败";
    let p = repo::page(&svc.db, f, sort, desc, page, size)
        .await
        .public(PUB)?;
    let usage = repo::usage(&svc.db, p.rows.iter().map(|c| c.id).collect())
        .await
        .public(PUB)?;
    let items = p
        .rows
        .iter()
        .map(|c| CredentialListItem {
            credential: CredentialView::from(c),
            description: c.description.clone(),
            is_active: c.is_active,
            instance_count: usage.get(&c.id).copied().unwrap_or(0),
            created_at_display: c
                .created_at
                .as_ref()
                .map(|d| time::china_display(Some(d)))
                .unwrap_or_default(),
        })
        .collect();
    Ok(CredentialPage::new(items, p.total, page, size))
}

fn read_input(svc: &Services, body: &Body, update: bool) -> Result<CredentialFields, AppError> {
    body.require_object()?;
    require_strings(
        body,
        &[
            "name",
            "credential_type",
            "username",
            "password",
            "db_type",
            "description",
        ],
    )?;
    let field = |k: &str| body.text(k).map(|s| sanitize(&s)).filter(|s| !s.is_empty());
    let name = field("name").ok_or_else(|| AppError::validation("name不能为空"))?;
    if name.chars().count() > 255 {
        return Err(AppError::validation("name长度不能超过255个字符"));
    }
    let credential_type =
        field("credential_type").ok_or_else(|| AppError::validation("credential_type不能为空"))?;
    let username = field("username").ok_or_else(|| AppError::validation("username不能为空"))?;
    // The password is never HTML-escaped (docs/decisions.md); it is used verbatim.
    let password = body.text("password").filter(|p| !p.is_empty());
    if password.is_none() && !update {
        return Err(AppError::validation("password不能为空"));
    }
    if !TYPES.contains(&credential_type.to_lowercase().as_str()) {
        return Err(AppError::validation(format!(
            "不支持的凭据类型: {credential_type}"
        )));
    }
    let ulen = username.chars().count();
    if ulen < 3 {
        return Err(AppError::validation("用户名长度至少3个字符"));
    }
    if ulen > 50 {
        return Err(AppError::validation("用户名长度不能超过50个字符"));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(AppError::validation(
            "用户名只能包含字母、数字、下划线、连字符和点",
        ));
    }
    if let Some(p) = &password {
        password::check_length(p).map_err(AppError::validation)?;
    }
    let db_type = if body.has("db_type") {
        match field("db_type") {
            None => Some(None),
            Some(raw) => Some(Some(
                DbType::parse(&raw)
                    .ok_or_else(|| AppError::validation(format!("不支持的数据库类型: {raw}")))?
                    .as_str()
                    .to_string(),
            )),
        }
    } else {
        None
    };
    let description = if body.has("description") {
        Some(field("description"))
    } else {
        None
    };
    let is_active = body.optional_bool("is_active")?;
    Ok(CredentialFields {
        name,
        credential_type,
        username,
        password: password.map(|p| svc.cipher.encrypt(&p)),
        db_type,
        description,
        is_active,
    })
}

fn name_exists() -> ServiceError {
    ServiceError::validation("凭据名称已存在,请使用其他名称")
}

/// `POST /credentials`.
pub async fn create(svc: &Services, body: &Body) -> ServiceResult<CredentialView> {
    let input = read_input(svc, body, false)?;
    if repo::name_taken(&svc.db, &input.name, None).await? {
        return Err(name_exists());
    }
    let c = constraint_or(
        repo::insert(&svc.db, &input).await,
        AppError::database("凭据名称已存在,请使用其他名称"),
        "创建凭据失败,请稍后重试",
    )?;
    Ok(CredentialView::from(&c))
}

async fn find(
    svc: &Services,
    id: Option<i32>,
    public: &'static str,
) -> ServiceResult<credential::Model> {
    let found = match id {
        Some(id) => repo::find(&svc.db, id).await.public(public)?,
        None => None,
    };
    found.ok_or_else(|| ServiceError::not_found("凭据不存在"))
}

/// `GET /credentials/{id}`.
pub async fn detail(svc: &Services, id: Option<i32>) -> ServiceResult<CredentialView> {
    Ok(CredentialView::from(
        &find(svc, id, "获取凭据详情失败").await?,
    ))
}

/// `PUT /credentials/{id}` (the password changes only when given).
pub async fn update(svc: &Services, id: Option<i32>, body: &Body) -> ServiceResult<CredentialView> {
    let current = find(svc, id, "更新凭据失败").await?;
    let input = read_input(svc, body, true)?;
    if repo::name_taken(&svc.db, &input.name, Some(current.id)).await? {
        return Err(name_exists());
    }
    let c = constraint_or(
        repo::update(&svc.db, current, &input).await,
        AppError::database("凭据名称已存在,请使用其他名称"),
        "更新凭据失败,请稍后重试",
    )?;
    Ok(CredentialView::from(&c))
}

/// `POST /credentials/{id}/delete`: hard delete in one transaction; instances keep existing
/// with `credential_id` null.
pub async fn delete(svc: &Services, id: Option<i32>) -> ServiceResult<i32> {
    const PUB: &str = "删除凭据失败,请稍后重试";
    let c = find(svc, id, "删除凭据失败").await?;
    let cid = c.id;
    let txn = crate::begin(svc, PUB).await?;
    repo::delete(&txn, c).await.public(PUB)?;
    txn.commit().await.public(PUB)?;
    svc.changed(crate::context::Change::Instances).await;
    Ok(cid)
}
