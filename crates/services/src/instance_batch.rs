//! Instance batch operations and statistics (`api-v1.md` §4.7): CSV batch create, batch soft
//! or hard delete, statistics.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;
use wf_domain::{AppError, Body};
use wf_store::repo::instances::{self as repo, NewInstance};

use crate::context::{Change, Services};
use crate::error::{Public, ServiceError, ServiceResult};
use crate::instances::read_input;

const CSV_COLUMNS: [&str; 7] = [
    "name",
    "db_type",
    "host",
    "port",
    "database_name",
    "description",
    "credential_id",
];
const REQUIRED: [&str; 4] = ["name", "db_type", "host", "port"];

/// Parse the uploaded CSV into row objects (recognised, non-empty cells only; BOM and header
/// case ignored).
pub fn parse_csv(data: &[u8]) -> Result<Vec<Map<String, Value>>, AppError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| AppError::validation(format!("CSV文件处理失败: {e}")))?;
    let text = text.trim_start_matches('\u{feff}');
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| AppError::validation(format!("CSV文件处理失败: {e}")))?
        .iter()
        .map(|h| {
            h.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .to_lowercase()
        })
        .collect();
    let missing: BTreeSet<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !headers.iter().any(|h| h == r))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::validation(format!(
            "CSV文件缺少必填列: {}",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| AppError::validation(format!("CSV文件处理失败: {e}")))?;
        let mut row = Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            let v = v.trim();
            if CSV_COLUMNS.contains(&h.as_str()) && !v.is_empty() && !row.contains_key(h) {
                let v = if h == "db_type" {
                    v.to_lowercase()
                } else {
                    v.to_string()
                };
                row.insert(h.clone(), Value::String(v));
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Err(AppError::validation("CSV文件为空或未包含有效数据"));
    }
    Ok(rows)
}

/// Result of a CSV batch create.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchCreated {
    pub created_count: usize,
    /// `第<n>条数据: <message>` per invalid row, then the duplicate/existing-name notes.
    pub errors: Vec<String>,
    /// Names that occur more than once in the file (all of them skipped).
    pub duplicate_names: Vec<String>,
    /// Names that already existed (skipped).
    pub skipped_existing_names: Vec<String>,
}

/// Create instances from CSV rows (`api-v1.md` §4.7 batch create): rows are validated with
/// the create rules; names repeated in the file and names that exist are skipped; the rest
/// are inserted in one transaction (credential ids that do not exist are not linked).
pub async fn create_rows(
    svc: &Services,
    rows: Vec<Map<String, Value>>,
) -> ServiceResult<BatchCreated> {
    const PUB: &str = "批量创建实例失败";
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        match read_input(&Body::json(row), false) {
            Ok(input) => valid.push(input),
            Err(e) => errors.push(format!("第{}条数据: {}", n + 1, e.message)),
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in &valid {
        *counts.entry(v.fields.name.clone()).or_default() += 1;
    }
    let duplicates: Vec<String> = counts
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(n, _)| n.clone())
        .collect();
    if !duplicates.is_empty() {
        errors.push(format!("存在重复实例名称: {}", duplicates.join(", ")));
    }
    valid.retain(|v| counts[&v.fields.name] == 1);
    let names: Vec<String> = valid.iter().map(|v| v.fields.name.clone()).collect();
    let existing = repo::existing_names(&svc.db, &names).await.public(PUB)?;
    if !existing.is_empty() {
        errors.push(format!(
            "以下实例名称已存在: {}",
            existing.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    valid.retain(|v| !existing.contains(&v.fields.name));
    let wanted: Vec<i32> = valid
        .iter()
        .filter_map(|v| v.fields.credential_id.flatten())
        .collect();
    let known = repo::existing_credentials(&svc.db, wanted)
        .await
        .public(PUB)?;
    let new: Vec<NewInstance> = valid
        .iter()
        .map(|v| NewInstance {
            // credential ids are only checked for format: unknown ones are not linked
            credential_id: v
                .fields
                .credential_id
                .flatten()
                .filter(|c| known.contains(c)),
            is_active: true,
            ..v.fields.new_instance()
        })
        .collect();
    if !new.is_empty() {
        let txn = crate::begin(svc, PUB).await?;
        repo::insert_many(&txn, &new).await.public(PUB)?;
        txn.commit().await.public(PUB)?;
        svc.changed(Change::Instances).await;
        if let Err(e) = repo::analyze(&svc.db).await {
            tracing::warn!(error = %e, "ANALYZE instances after import failed");
        }
    }
    Ok(BatchCreated {
        created_count: new.len(),
        errors,
        duplicate_names: duplicates,
        skipped_existing_names: existing.into_iter().collect(),
    })
}

/// Result of a batch delete: counters of every table a hard delete clears (0 for soft).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct BatchDeleted {
    pub deleted_count: usize,
    pub missing_instance_ids: Vec<i64>,
    /// `soft` or `hard`.
    pub deletion_mode: &'static str,
    pub deleted_assignments: u64,
    pub deleted_account_permissions: u64,
    pub deleted_sync_records: u64,
    pub deleted_change_logs: u64,
    pub deleted_instance_accounts: u64,
    pub deleted_instance_databases: u64,
    pub deleted_instance_size_stats: u64,
    pub deleted_instance_size_aggregations: u64,
    pub deleted_database_size_stats: u64,
    pub deleted_database_size_aggregations: u64,
    pub deleted_tag_links: u64,
    /// Same as `deleted_account_permissions`.
    pub deleted_sync_data: u64,
}

impl BatchDeleted {
    fn set(&mut self, counter: &str, n: u64) {
        let slot = match counter {
            "deleted_assignments" => &mut self.deleted_assignments,
            "deleted_account_permissions" => &mut self.deleted_account_permissions,
            "deleted_sync_records" => &mut self.deleted_sync_records,
            "deleted_change_logs" => &mut self.deleted_change_logs,
            "deleted_instance_accounts" => &mut self.deleted_instance_accounts,
            "deleted_instance_databases" => &mut self.deleted_instance_databases,
            "deleted_instance_size_stats" => &mut self.deleted_instance_size_stats,
            "deleted_instance_size_aggregations" => &mut self.deleted_instance_size_aggregations,
            "deleted_database_size_stats" => &mut self.deleted_database_size_stats,
            "deleted_database_size_aggregations" => &mut self.deleted_database_size_aggregations,
            _ => &mut self.deleted_tag_links,
        };
        *slot = n;
    }
}

/// Parse `instance_ids` (integers or numeric strings, de-duplicated in order) and
/// `deletion_mode` of a batch delete body.
pub fn read_batch_delete(body: &Body) -> Result<(Vec<i64>, bool), AppError> {
    body.require_object()?;
    let raw = match body.get("instance_ids") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(AppError::validation("请选择要删除的实例")),
    };
    let mut ids: Vec<i64> = Vec::new();
    for v in raw {
        let n =
            wf_domain::body::int_value(v).ok_or_else(|| AppError::validation("实例ID列表无效"))?;
        if !ids.contains(&n) {
            ids.push(n);
        }
    }
    let hard = body
        .text("deletion_mode")
        .map(|m| m.trim().eq_ignore_ascii_case("hard"))
        .unwrap_or(false);
    Ok((ids, hard))
}

/// `POST /instances/batch-delete`: soft (default) or hard, in one transaction.
pub async fn batch_delete(svc: &Services, ids: &[i64], hard: bool) -> ServiceResult<BatchDeleted> {
    const PUB: &str = "批量删除实例失败";
    let lookup: Vec<i32> = ids.iter().filter_map(|i| i32::try_from(*i).ok()).collect();
    let found: Vec<i32> = repo::existing_ids(&svc.db, &lookup).await.public(PUB)?;
    let found_set: BTreeSet<i64> = found.iter().map(|i| i64::from(*i)).collect();
    let mut out = BatchDeleted {
        deleted_count: found.len(),
        missing_instance_ids: ids
            .iter()
            .copied()
            .filter(|i| !found_set.contains(i))
            .collect(),
        deletion_mode: if hard { "hard" } else { "soft" },
        ..Default::default()
    };
    if found.is_empty() {
        return Ok(out);
    }
    let txn = crate::begin(svc, PUB).await?;
    if hard {
        for (counter, n) in repo::hard_delete(&txn, &found).await.public(PUB)? {
            out.set(counter, n);
        }
    } else {
        repo::soft_delete_many(&txn, found.clone())
            .await
            .public(PUB)?;
    }
    txn.commit().await.public(PUB)?;
    svc.changed(Change::InstancesRemoved(found)).await;
    out.deleted_sync_data = out.deleted_account_permissions;
    Ok(out)
}

/// Instances of one type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DbTypeCount {
    pub db_type: Option<String>,
    pub count: i64,
}

/// Instances on one port (10 most used).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortCount {
    pub port: Option<i64>,
    pub count: i64,
}

/// Instances of one type and main version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionCount {
    pub db_type: Option<String>,
    /// `未知版本` when unknown.
    pub version: String,
    pub count: i64,
}

/// `GET /instances/statistics`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceStatistics {
    pub total_instances: u64,
    pub active_instances: u64,
    pub normal_instances: u64,
    pub disabled_instances: u64,
    pub inactive_instances: u64,
    pub deleted_instances: u64,
    pub db_types_count: usize,
    pub db_type_stats: Vec<DbTypeCount>,
    pub port_stats: Vec<PortCount>,
    pub version_stats: Vec<VersionCount>,
}

/// Statistics over every instance (soft-deleted included in the breakdowns).
pub async fn statistics(svc: &Services) -> ServiceResult<InstanceStatistics> {
    const PUB: &str = "获取实例统计信息失败";
    let c = repo::counters(&svc.db).await.public(PUB)?;
    let (types, ports, versions) = repo::breakdowns(&svc.db).await.public(PUB)?;
    Ok(InstanceStatistics {
        total_instances: c.total,
        active_instances: c.active,
        normal_instances: c.active,
        disabled_instances: c.disabled,
        inactive_instances: c.disabled,
        deleted_instances: c.deleted,
        db_types_count: types.len(),
        db_type_stats: types
            .into_iter()
            .map(|r| DbTypeCount {
                db_type: r.key,
                count: r.n,
            })
            .collect(),
        port_stats: ports
            .into_iter()
            .map(|r| PortCount {
                port: r.key.as_deref().and_then(|p| p.parse().ok()),
                count: r.n,
            })
            .collect(),
        version_stats: versions
            .into_iter()
            .map(|r| VersionCount {
                db_type: r.db_type,
                version: r.key.unwrap_or_else(|| "未知版本".into()),
                count: r.n,
            })
            .collect(),
    })
}

/// A CSV import rejected before any row is read.
pub fn no_csv() -> ServiceError {
    ServiceError::validation("请上传CSV格式文件")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn csv_rules() {
        let rows =
            parse_csv("\u{feff} Name ,DB_TYPE,host,port,extra\nа,MySQL,h,1,x\n,,,,\n".as_bytes())
                .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["db_type"], "mysql");
        assert!(rows[0].get("extra").is_none());
        assert_eq!(
            parse_csv(b"name,host\n").unwrap_err().message,
            "CSV文件缺少必填列: db_type, port"
        );
        assert_eq!(
            parse_csv(b"name,db_type,host,port\n").unwrap_err().message,
            "CSV文件为空或未包含有效数据"
        );
        assert!(
            parse_csv(&[0xff, 0xfe, 0x00])
                .unwrap_err()
                .message
                .starts_with("CSV文件处理失败: ")
        );
    }
}
