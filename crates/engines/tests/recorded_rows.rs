//! SQL Server and Oracle have no server on this machine: their catalogue SQL text, the row
//! mapping, snapshot building and diffing are tested on recorded rows, shaped as the catalogue
//! views return them (issue 8).

use chrono::Utc;
use serde_json::{Map, Value, json};
use wf_domain::{diff, snapshot};
use wf_engines::{RemoteAccount, oracle, sqlserver};

fn rows(v: Value) -> Vec<Map<String, Value>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

fn account<'a>(list: &'a [RemoteAccount], name: &str) -> &'a RemoteAccount {
    list.iter()
        .find(|a| a.username == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn facts(db_type: &str, a: &RemoteAccount) -> (Value, Value) {
    let snap = snapshot::build_snapshot(db_type, &a.payload);
    let facts = snapshot::build_facts(db_type, &snap, Utc::now());
    (snap, facts)
}

fn sqlserver_catalogue() -> sqlserver::Catalogue {
    sqlserver::Catalogue {
        logins: rows(json!([
            {"name": "sa", "type_desc": "SQL_LOGIN", "is_disabled": 0, "connect_to_engine": "GRANT", "is_policy_checked": 1, "is_expiration_checked": 0, "is_locked_out": 0, "is_password_expired": 0, "must_change_password": 0},
            {"name": "app_user", "type_desc": "SQL_LOGIN", "is_disabled": 1, "connect_to_engine": "GRANT", "is_policy_checked": 1, "is_expiration_checked": 1, "is_locked_out": 0, "is_password_expired": 0, "must_change_password": 0},
            {"name": "denied", "type_desc": "SQL_LOGIN", "is_disabled": 0, "connect_to_engine": "DENY", "is_policy_checked": 0, "is_expiration_checked": 0, "is_locked_out": 0, "is_password_expired": 0, "must_change_password": 0},
            {"name": "CORP\\dba", "type_desc": "WINDOWS_LOGIN", "is_disabled": 0, "connect_to_engine": "GRANT", "is_policy_checked": null, "is_expiration_checked": null, "is_locked_out": null, "is_password_expired": null, "must_change_password": null}
        ])),
        server_roles: rows(json!([
            {"login_name": "sa", "role_name": "sysadmin"},
            {"login_name": "app_user", "role_name": "dbcreator"}
        ])),
        server_permissions: rows(json!([
            {"login_name": "sa", "permission_name": "CONNECT SQL", "state_desc": "GRANT"},
            {"login_name": "app_user", "permission_name": "VIEW SERVER STATE", "state_desc": "GRANT_WITH_GRANT_OPTION"},
            {"login_name": "app_user", "permission_name": "ALTER ANY LOGIN", "state_desc": "DENY"},
            {"login_name": "denied", "permission_name": "CONNECT SQL", "state_desc": "DENY"}
        ])),
        database_roles: rows(json!([
            {"db_name": "Sales", "login_name": "app_user", "role_name": "db_datareader"},
            {"db_name": "Sales", "login_name": "app_user", "role_name": "db_datareader"},
            {"db_name": "HR", "login_name": "app_user", "role_name": "db_owner"}
        ])),
        database_permissions: rows(json!([
            {"db_name": "Sales", "login_name": "app_user", "permission_name": "SELECT", "state_desc": "GRANT", "class_desc": "DATABASE", "minor_id": 0, "schema_name": null, "object_name": null, "column_name": null},
            {"db_name": "Sales", "login_name": "app_user", "permission_name": "UPDATE", "state_desc": "GRANT", "class_desc": "SCHEMA", "minor_id": 0, "schema_name": "dbo", "object_name": null, "column_name": null},
            {"db_name": "Sales", "login_name": "app_user", "permission_name": "DELETE", "state_desc": "DENY", "class_desc": "OBJECT_OR_COLUMN", "minor_id": 0, "schema_name": "dbo", "object_name": "orders", "column_name": null},
            {"db_name": "Sales", "login_name": "app_user", "permission_name": "SELECT", "state_desc": "GRANT", "class_desc": "OBJECT_OR_COLUMN", "minor_id": 3, "schema_name": "dbo", "object_name": "orders", "column_name": "price"},
            {"db_name": "Sales", "login_name": "app_user", "permission_name": "EXECUTE", "state_desc": "GRANT", "class_desc": "TYPE", "minor_id": 0, "schema_name": null, "object_name": null, "column_name": null}
        ])),
    }
}

#[test]
fn sqlserver_sql_text() {
    let logins = sqlserver::logins_sql();
    assert!(logins.contains("sp.name NOT IN (N'public', N'guest', N'dbo')"));
    assert!(logins.contains("sp.name NOT LIKE N'##%' ESCAPE '\\'"));
    assert!(logins.contains("sp.name NOT LIKE N'NT SERVICE\\\\%' ESCAPE '\\'"));
    assert!(logins.contains("CAST(sp.is_disabled AS int) AS is_disabled"));
    let dbs = vec!["app".to_string(), "we]ird'db".to_string()];
    let perms = sqlserver::database_permissions_sql(&dbs);
    assert_eq!(perms.matches("UNION ALL").count(), 1);
    assert!(perms.contains("FROM [we]]ird'db].sys.database_permissions"));
    assert!(perms.contains("N'we]ird''db' AS db_name"));
    assert!(perms.contains("LEFT JOIN [app].sys.objects o"));
    assert!(perms.contains("perm.state_desc AS state_desc"));
    // names are resolved in each database's own catalogue, never in the connection's
    assert!(!perms.contains("OBJECT_NAME(") && !perms.contains("SCHEMA_NAME("));
    let roles = sqlserver::database_roles_sql(&dbs);
    assert!(roles.contains("JOIN sys.server_principals sp ON sp.sid = m.sid"));
    assert_eq!(sqlserver::DATABASE_BATCH, 20);
}

#[test]
fn sqlserver_rows_map_to_accounts_and_facts() {
    let accounts = sqlserver::map_accounts(&sqlserver_catalogue());
    assert_eq!(accounts.len(), 4);
    // superuser from the sysadmin role
    let (_, f) = facts("sqlserver", account(&accounts, "sa"));
    assert!(snapshot::has_capability(&f, "SUPERUSER"));
    assert!(!snapshot::has_capability(&f, "LOCKED"));
    // a disabled login is locked; DENY is kept beside GRANT
    let app = account(&accounts, "app_user");
    assert_eq!(app.payload["type_specific"]["is_disabled"], true);
    assert_eq!(
        app.payload["server_permissions"],
        json!(["VIEW SERVER STATE"])
    );
    assert_eq!(
        app.payload["server_denied_permissions"],
        json!(["ALTER ANY LOGIN"])
    );
    assert_eq!(
        app.payload["database_roles"],
        json!({"HR": ["db_owner"], "Sales": ["db_datareader"]})
    );
    assert_eq!(
        app.payload["database_permissions"],
        json!({"Sales": {"database": ["SELECT"], "schema": {"dbo": ["UPDATE"]}, "column": {"dbo.orders.price": ["SELECT"]}}})
    );
    assert_eq!(
        app.payload["database_denied_permissions"],
        json!({"Sales": {"table": {"dbo.orders": ["DELETE"]}}})
    );
    let (snap, f) = facts("sqlserver", app);
    assert!(snapshot::has_capability(&f, "LOCKED"));
    assert!(snap["categories"]["server_denied_permissions"].is_array());
    // database permissions are flattened to permission names in the facts
    let perms = &f["privileges"]["database_permissions"]["Sales"];
    assert!(perms.as_array().unwrap().contains(&json!("SELECT")), "{f}");
    assert!(perms.as_array().unwrap().contains(&json!("UPDATE")), "{f}");
    // CONNECT SQL denied → locked; a Windows login has null password flags
    let (_, f) = facts("sqlserver", account(&accounts, "denied"));
    assert!(snapshot::has_capability(&f, "LOCKED"));
    assert_eq!(
        account(&accounts, "denied").payload["type_specific"]["connect_to_engine"],
        "DENY"
    );
    assert_eq!(
        account(&accounts, "CORP\\dba").payload["type_specific"]["is_locked_out"],
        Value::Null
    );
}

#[test]
fn sqlserver_change_between_snapshots() {
    let before = sqlserver::map_accounts(&sqlserver_catalogue());
    let mut c = sqlserver_catalogue();
    // REVOKE db_owner in HR, GRANT INSERT on the Sales database, DENY removed
    c.database_roles.retain(|r| r["db_name"] != "HR");
    c.database_permissions.push(
        rows(json!([{"db_name": "Sales", "login_name": "app_user", "permission_name": "INSERT", "state_desc": "GRANT", "class_desc": "DATABASE", "minor_id": 0, "schema_name": null, "object_name": null, "column_name": null}]))
            .remove(0),
    );
    c.server_permissions
        .retain(|r| r["state_desc"] != "DENY" || r["login_name"] != "app_user");
    let after = sqlserver::map_accounts(&c);
    let (old_snap, old_facts) = facts("sqlserver", account(&before, "app_user"));
    let (new_snap, new_facts) = facts("sqlserver", account(&after, "app_user"));
    let pd = diff::privilege_diff(&old_snap["categories"], &new_snap["categories"]);
    let od = diff::other_diff("sqlserver", &old_snap, &old_facts, &new_snap, &new_facts);
    assert_eq!(diff::change_type(&pd, &od), Some(diff::MODIFY_PRIVILEGE));
    let actions: Vec<(String, String)> = pd
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("database_roles".into(), "REVOKE".into())),
        "{pd:?}"
    );
    assert!(
        actions.contains(&("server_denied_permissions".into(), "REVOKE".into())),
        "{pd:?}"
    );
    assert!(
        actions.iter().any(|(f, _)| f == "database_permissions"),
        "{pd:?}"
    );
    // nothing changed → no change-log row
    let (again, again_facts) = facts("sqlserver", account(&after, "app_user"));
    let pd = diff::privilege_diff(&new_snap["categories"], &again["categories"]);
    let od = diff::other_diff("sqlserver", &new_snap, &new_facts, &again, &again_facts);
    assert_eq!(diff::change_type(&pd, &od), None);
}

type Rows = Vec<Map<String, Value>>;

fn oracle_rows() -> (Rows, Rows, Rows) {
    (
        rows(json!([
            {"USERNAME": "APP", "USER_ID": 101, "ACCOUNT_STATUS": "OPEN", "DEFAULT_TABLESPACE": "USERS", "AUTHENTICATION_TYPE": "PASSWORD", "LOCK_DATE": null, "EXPIRY_DATE": "2027-01-01T00:00:00", "CREATED": "2024-05-01T10:00:00"},
            {"USERNAME": "OLDAPP", "USER_ID": 102, "ACCOUNT_STATUS": "expired & locked", "DEFAULT_TABLESPACE": "USERS", "AUTHENTICATION_TYPE": "PASSWORD", "LOCK_DATE": "2025-01-01T00:00:00", "EXPIRY_DATE": null, "CREATED": "2020-01-01T00:00:00"},
            {"USERNAME": "OPS", "USER_ID": 103, "ACCOUNT_STATUS": "OPEN", "DEFAULT_TABLESPACE": "SYSAUX", "AUTHENTICATION_TYPE": "PASSWORD", "LOCK_DATE": null, "EXPIRY_DATE": null, "CREATED": "2021-01-01T00:00:00"}
        ])),
        rows(json!([
            {"GRANTEE": "APP", "GRANTED_ROLE": "CONNECT"},
            {"GRANTEE": "APP", "GRANTED_ROLE": "RESOURCE"},
            {"GRANTEE": "OPS", "GRANTED_ROLE": "DBA"}
        ])),
        rows(json!([
            {"GRANTEE": "APP", "PRIVILEGE": "CREATE SESSION"},
            {"GRANTEE": "OPS", "PRIVILEGE": "GRANT ANY PRIVILEGE"}
        ])),
    )
}

#[test]
fn oracle_sql_text() {
    let users = oracle::users_sql();
    assert!(users.starts_with("SELECT username, user_id, account_status, default_tablespace"));
    assert!(users.contains("'SCOTT'") && users.contains("'XS$NULL'"));
    // patterns are applied in SQL with escaped literals (`_` is not a wildcard)
    assert!(users.contains("username NOT LIKE 'SYS$%' ESCAPE '\\'"));
    assert!(users.contains("username NOT LIKE 'SPATIAL\\_%' ESCAPE '\\'"));
    // grants in bulk: one statement each for every listed user
    for sql in [oracle::role_privs_sql(), oracle::sys_privs_sql()] {
        assert!(
            sql.contains(
                "WHERE grantee IN (SELECT username FROM dba_users WHERE username NOT IN ("
            )
        );
        assert!(!sql.contains(":1"));
    }
}

#[test]
fn oracle_rows_map_to_accounts_and_facts() {
    let (u, r, p) = oracle_rows();
    let accounts = oracle::map_accounts(&u, &r, &p);
    assert_eq!(accounts.len(), 3);
    let app = account(&accounts, "APP");
    assert_eq!(app.payload["oracle_roles"], json!(["CONNECT", "RESOURCE"]));
    assert_eq!(app.payload["system_privileges"], json!(["CREATE SESSION"]));
    // the listing attributes survive the permission phase (domain.md §13.1 #4)
    assert_eq!(app.payload["type_specific"]["default_tablespace"], "USERS");
    assert_eq!(app.payload["type_specific"]["oracle_id"], 101);
    let (_, f) = facts("oracle", app);
    assert!(!snapshot::has_capability(&f, "LOCKED") && !snapshot::has_capability(&f, "SUPERUSER"));
    // locked accounts are detected; superuser comes from facts (DBA), not from the name SYS
    let (_, f) = facts("oracle", account(&accounts, "OLDAPP"));
    assert!(snapshot::has_capability(&f, "LOCKED"));
    assert_eq!(
        account(&accounts, "OLDAPP").payload["type_specific"]["account_status"],
        "EXPIRED & LOCKED"
    );
    let (_, f) = facts("oracle", account(&accounts, "OPS"));
    assert!(snapshot::has_capability(&f, "SUPERUSER"));
    assert!(snapshot::has_capability(&f, "GRANT_ADMIN"));
}

#[test]
fn oracle_change_between_snapshots() {
    let (u, r, p) = oracle_rows();
    let before = oracle::map_accounts(&u, &r, &p);
    let mut r2 = r.clone();
    r2.push(rows(json!([{"GRANTEE": "APP", "GRANTED_ROLE": "DBA"}])).remove(0));
    let mut u2 = u.clone();
    u2[0].insert("ACCOUNT_STATUS".into(), json!("LOCKED"));
    let after = oracle::map_accounts(&u2, &r2, &p);
    let (old_snap, old_facts) = facts("oracle", account(&before, "APP"));
    let (new_snap, new_facts) = facts("oracle", account(&after, "APP"));
    let pd = diff::privilege_diff(&old_snap["categories"], &new_snap["categories"]);
    let od = diff::other_diff("oracle", &old_snap, &old_facts, &new_snap, &new_facts);
    assert_eq!(diff::change_type(&pd, &od), Some(diff::MODIFY_PRIVILEGE));
    assert_eq!(pd.len(), 1);
    assert_eq!(
        (pd[0]["field"].as_str(), pd[0]["action"].as_str()),
        (Some("oracle_roles"), Some("GRANT"))
    );
    assert_eq!(pd[0]["permissions"], json!(["DBA"]));
    let fields: Vec<&str> = od.iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(
        fields.contains(&"is_superuser") && fields.contains(&"is_locked"),
        "{od:?}"
    );
    let message = diff::message("APP", diff::MODIFY_PRIVILEGE, &pd, &od);
    assert!(
        message.starts_with("账户 APP 权限更新:新增 1 项授权"),
        "{message}"
    );
}

#[test]
fn sqlserver_capacity_sql_and_rows() {
    use wf_engines::capacity::{self, DatabaseSize, RemoteDatabase};
    assert!(capacity::SQLSERVER_DATABASES_SQL.contains("database_id <= 4"));
    assert!(capacity::SQLSERVER_SIZES_SQL.contains("type_desc = 'ROWS'"));
    assert!(capacity::SQLSERVER_SIZES_SQL.contains("type_desc = 'LOG'"));
    let inv = capacity::map_inventory(
        "sqlserver",
        &rows(json!([
            {"name": "master", "is_system": 1},
            {"name": "Sales", "is_system": 0},
            {"name": "  ", "is_system": 0},
            {"name": null, "is_system": 0}
        ])),
    );
    assert_eq!(
        inv,
        vec![
            RemoteDatabase {
                name: "master".into(),
                is_system: true
            },
            RemoteDatabase {
                name: "Sales".into(),
                is_system: false
            }
        ]
    );
    let sizes = capacity::map_sizes(
        "sqlserver",
        &rows(json!([
            {"database_name": "Sales", "data_mb": 2048, "log_mb": 512},
            {"database_name": "tempdb", "data_mb": 8, "log_mb": null}
        ])),
    );
    assert_eq!(
        sizes[0],
        DatabaseSize {
            name: "Sales".into(),
            size_mb: 2048,
            data_size_mb: Some(2048),
            log_size_mb: Some(512)
        }
    );
    assert_eq!(sizes[1].log_size_mb, None);
}

#[test]
fn oracle_capacity_sql_and_rows() {
    use wf_engines::capacity;
    assert!(capacity::ORACLE_DATABASES_SQL.contains("dba_data_files"));
    assert!(capacity::ORACLE_SIZES_SQL.contains("GROUP BY tablespace_name"));
    let inv = capacity::map_inventory(
        "oracle",
        &rows(json!([{"TABLESPACE_NAME": "SYSTEM"}, {"TABLESPACE_NAME": "APP_DATA"}])),
    );
    assert_eq!(inv.len(), 2);
    assert!(inv.iter().all(|d| !d.is_system));
    // NUMBER columns arrive as numbers or as decimal text
    let sizes = capacity::map_sizes(
        "oracle",
        &rows(json!([
            {"DATABASE_NAME": "APP_DATA", "SIZE_MB": "1536"},
            {"DATABASE_NAME": "USERS", "SIZE_MB": 5.0}
        ])),
    );
    assert_eq!(
        (sizes[0].size_mb, sizes[1].size_mb, sizes[1].log_size_mb),
        (1536, 5, None)
    );
}
