-- WhaleFall schema (domain.md §1). Portable DDL: {PK} {TS} {JSON} {NOW} {BIGPK} are replaced
-- per backend by migration/mod.rs. Partitioned capacity tables live in capacity.sql.
CREATE TABLE users (
    id {PK},
    username varchar(255) NOT NULL UNIQUE,
    password varchar(255) NOT NULL,
    role varchar(50) NOT NULL DEFAULT 'user',
    created_at {TS} NOT NULL DEFAULT {NOW},
    last_login {TS},
    is_active boolean NOT NULL DEFAULT true
);
CREATE TABLE credentials (
    id {PK},
    name varchar(255) NOT NULL UNIQUE,
    credential_type varchar(50) NOT NULL,
    db_type varchar(50),
    username varchar(255) NOT NULL,
    password text NOT NULL,
    description text,
    category_id integer,
    is_active boolean NOT NULL DEFAULT true,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW},
    deleted_at {TS}
);
CREATE INDEX ix_credentials_credential_type ON credentials (credential_type);
CREATE INDEX ix_credentials_db_type ON credentials (db_type);
CREATE TABLE instances (
    id {PK},
    name varchar(255) NOT NULL UNIQUE,
    db_type varchar(50) NOT NULL,
    host varchar(255) NOT NULL,
    port integer NOT NULL,
    database_name varchar(255),
    database_version varchar(1000),
    main_version varchar(20),
    detailed_version varchar(50),
    sync_count integer NOT NULL DEFAULT 0,
    credential_id integer REFERENCES credentials(id) ON DELETE SET NULL,
    description text,
    is_active boolean NOT NULL DEFAULT true,
    last_connected {TS},
    last_check_at {TS},
    last_connection_error text,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW},
    deleted_at {TS}
);
CREATE INDEX ix_instances_db_type ON instances (db_type);
CREATE INDEX ix_instances_deleted_at ON instances (deleted_at);
CREATE INDEX ix_instances_credential_id ON instances (credential_id);
CREATE TABLE tags (
    id {PK},
    name varchar(50) NOT NULL UNIQUE,
    display_name varchar(100) NOT NULL,
    category varchar(50) NOT NULL,
    color varchar(20) NOT NULL DEFAULT 'primary',
    is_active boolean NOT NULL DEFAULT true,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW}
);
CREATE INDEX ix_tags_category ON tags (category);
CREATE TABLE instance_tags (
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    tag_id integer NOT NULL REFERENCES tags(id),
    created_at {TS} DEFAULT {NOW},
    PRIMARY KEY (instance_id, tag_id)
);
CREATE INDEX ix_instance_tags_tag_id ON instance_tags (tag_id);
CREATE TABLE database_type_configs (
    id {PK},
    name varchar(50) NOT NULL UNIQUE,
    display_name varchar(100) NOT NULL,
    driver varchar(50) NOT NULL,
    default_port integer NOT NULL,
    default_schema varchar(50) NOT NULL,
    connection_timeout integer DEFAULT 30,
    description text,
    icon varchar(50) DEFAULT 'fa-database',
    color varchar(20) DEFAULT 'primary',
    features text,
    is_active boolean DEFAULT true,
    is_system boolean DEFAULT false,
    sort_order integer DEFAULT 0,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW}
);
CREATE TABLE instance_accounts (
    id {PK},
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    username varchar(255) NOT NULL,
    db_type varchar(50) NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    first_seen_at {TS} NOT NULL DEFAULT {NOW},
    last_seen_at {TS} NOT NULL DEFAULT {NOW},
    deleted_at {TS},
    created_at {TS} NOT NULL DEFAULT {NOW},
    updated_at {TS} NOT NULL DEFAULT {NOW},
    CONSTRAINT uq_instance_account_instance_username UNIQUE (instance_id, db_type, username)
);
CREATE INDEX ix_instance_accounts_username ON instance_accounts (username);
CREATE INDEX ix_instance_accounts_is_active ON instance_accounts (is_active);
CREATE INDEX ix_instance_accounts_last_seen ON instance_accounts (last_seen_at);
CREATE TABLE account_permission (
    id {PK},
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    db_type varchar(20) NOT NULL,
    username varchar(255) NOT NULL,
    instance_account_id integer NOT NULL REFERENCES instance_accounts(id) ON DELETE CASCADE,
    type_specific {JSON},
    permission_snapshot {JSON},
    permission_facts {JSON},
    is_superuser boolean NOT NULL DEFAULT false,
    is_locked boolean NOT NULL DEFAULT false,
    last_sync_time {TS} DEFAULT {NOW},
    last_change_type varchar(20) DEFAULT 'add',
    last_change_time {TS} DEFAULT {NOW},
    CONSTRAINT uq_current_account_sync UNIQUE (instance_id, db_type, username)
);
CREATE INDEX idx_instance_dbtype ON account_permission (instance_id, db_type);
CREATE INDEX idx_username ON account_permission (username);
CREATE INDEX idx_last_sync_time ON account_permission (last_sync_time);
CREATE INDEX idx_last_change_time ON account_permission (last_change_time);
CREATE INDEX idx_account_permission_instance_account ON account_permission (instance_account_id);
CREATE TABLE account_change_log (
    id {PK},
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    db_type varchar(20) NOT NULL,
    username varchar(255) NOT NULL,
    change_type varchar(50) NOT NULL,
    change_time {TS} DEFAULT {NOW},
    session_id varchar(128),
    status varchar(20) DEFAULT 'success',
    message text,
    privilege_diff {JSON},
    other_diff {JSON}
);
CREATE INDEX ix_account_change_log_change_time ON account_change_log (change_time);
CREATE INDEX idx_change_type_time ON account_change_log (change_type, change_time);
CREATE INDEX idx_instance_dbtype_username_time ON account_change_log (instance_id, db_type, username, change_time);
CREATE INDEX idx_username_time ON account_change_log (username, change_time);
CREATE TABLE account_classifications (
    id {PK},
    name varchar(100) NOT NULL UNIQUE,
    description text,
    risk_level varchar(20) NOT NULL DEFAULT 'medium',
    color varchar(20),
    icon_name varchar(50) DEFAULT 'fa-tag',
    priority integer DEFAULT 0,
    is_system boolean NOT NULL DEFAULT false,
    is_active boolean NOT NULL DEFAULT true,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW}
);
CREATE TABLE classification_rules (
    id {PK},
    classification_id integer NOT NULL REFERENCES account_classifications(id),
    db_type varchar(20) NOT NULL,
    rule_name varchar(100) NOT NULL,
    rule_expression text NOT NULL,
    operator varchar(10),
    is_active boolean NOT NULL DEFAULT true,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW}
);
CREATE INDEX ix_classification_rules_classification ON classification_rules (classification_id);
CREATE TABLE account_classification_assignments (
    id {PK},
    account_id integer NOT NULL REFERENCES account_permission(id) ON DELETE CASCADE,
    classification_id integer NOT NULL REFERENCES account_classifications(id),
    assigned_by integer REFERENCES users(id) ON DELETE SET NULL,
    assignment_type varchar(20) NOT NULL DEFAULT 'auto',
    confidence_score real,
    notes text,
    batch_id varchar(36),
    is_active boolean DEFAULT true,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW},
    rule_id integer REFERENCES classification_rules(id) ON DELETE SET NULL,
    assigned_at {TS} NOT NULL DEFAULT {NOW},
    CONSTRAINT uq_account_classification UNIQUE (account_id, classification_id)
);
CREATE INDEX ix_aca_classification ON account_classification_assignments (classification_id);
CREATE INDEX ix_aca_is_active ON account_classification_assignments (is_active);
CREATE TABLE account_classification_daily_rule_match_stats (
    id {BIGPK},
    stat_date date NOT NULL,
    rule_id integer NOT NULL REFERENCES classification_rules(id) ON DELETE CASCADE,
    classification_id integer NOT NULL REFERENCES account_classifications(id) ON DELETE CASCADE,
    db_type varchar(20) NOT NULL,
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    matched_accounts_count integer NOT NULL DEFAULT 0,
    computed_at {TS} NOT NULL DEFAULT {NOW},
    created_at {TS} NOT NULL DEFAULT {NOW},
    updated_at {TS} NOT NULL DEFAULT {NOW},
    UNIQUE (stat_date, rule_id, db_type, instance_id)
);
CREATE TABLE account_classification_daily_classification_match_stats (
    id {BIGPK},
    stat_date date NOT NULL,
    classification_id integer NOT NULL REFERENCES account_classifications(id) ON DELETE CASCADE,
    db_type varchar(20) NOT NULL,
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    matched_accounts_distinct_count integer NOT NULL DEFAULT 0,
    computed_at {TS} NOT NULL DEFAULT {NOW},
    created_at {TS} NOT NULL DEFAULT {NOW},
    updated_at {TS} NOT NULL DEFAULT {NOW},
    UNIQUE (stat_date, classification_id, db_type, instance_id)
);
CREATE TABLE instance_databases (
    id {PK},
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    database_name varchar(255) NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    first_seen_date date NOT NULL,
    last_seen_date date NOT NULL,
    deleted_at {TS},
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW},
    UNIQUE (instance_id, database_name)
);
CREATE INDEX ix_instance_databases_is_active ON instance_databases (is_active);
CREATE INDEX ix_instance_databases_last_seen ON instance_databases (last_seen_date);
CREATE TABLE database_table_size_stats (
    id {BIGPK},
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    database_name varchar(255) NOT NULL,
    schema_name varchar(255) NOT NULL,
    table_name varchar(255) NOT NULL,
    size_mb bigint NOT NULL,
    data_size_mb bigint,
    index_size_mb bigint,
    row_count bigint,
    collected_at {TS} NOT NULL DEFAULT {NOW},
    created_at {TS} NOT NULL DEFAULT {NOW},
    updated_at {TS} NOT NULL DEFAULT {NOW},
    CONSTRAINT uq_database_table_size_stats_key UNIQUE (instance_id, database_name, schema_name, table_name)
);
CREATE TABLE sync_sessions (
    id {PK},
    session_id varchar(36) NOT NULL UNIQUE,
    sync_type varchar(20) NOT NULL CHECK (sync_type IN ('manual_single','manual_batch','manual_task','scheduled_task')),
    sync_category varchar(20) NOT NULL DEFAULT 'account' CHECK (sync_category IN ('account','capacity','config','aggregation','other')),
    status varchar(32) NOT NULL DEFAULT 'running' CHECK (status IN ('running','completed','completed_with_errors','failed','cancelled')),
    started_at {TS} NOT NULL DEFAULT {NOW},
    completed_at {TS},
    total_instances integer DEFAULT 0,
    successful_instances integer DEFAULT 0,
    failed_instances integer DEFAULT 0,
    created_by integer,
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW}
);
CREATE INDEX ix_sync_sessions_created_at ON sync_sessions (created_at);
CREATE INDEX ix_sync_sessions_status ON sync_sessions (status);
CREATE TABLE sync_instance_records (
    id {PK},
    session_id varchar(36) NOT NULL REFERENCES sync_sessions(session_id) ON DELETE CASCADE,
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    instance_name varchar(255),
    sync_category varchar(20) NOT NULL DEFAULT 'account',
    status varchar(20) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','completed','failed')),
    started_at {TS},
    completed_at {TS},
    items_synced integer DEFAULT 0,
    items_created integer DEFAULT 0,
    items_updated integer DEFAULT 0,
    items_deleted integer DEFAULT 0,
    error_message text,
    sync_details {JSON},
    created_at {TS} DEFAULT {NOW}
);
CREATE INDEX ix_sync_instance_records_session ON sync_instance_records (session_id);
CREATE INDEX ix_sync_instance_records_instance ON sync_instance_records (instance_id, sync_category, status);
CREATE TABLE task_runs (
    id {PK},
    run_id varchar(36) NOT NULL UNIQUE,
    task_key varchar(128) NOT NULL,
    task_name varchar(255) NOT NULL,
    task_category varchar(50) NOT NULL,
    trigger_source varchar(20) NOT NULL,
    status varchar(32) NOT NULL DEFAULT 'running',
    started_at {TS} NOT NULL DEFAULT {NOW},
    completed_at {TS},
    created_by integer,
    progress_total integer NOT NULL DEFAULT 0,
    progress_completed integer NOT NULL DEFAULT 0,
    progress_failed integer NOT NULL DEFAULT 0,
    summary_json {JSON},
    result_url varchar(255),
    error_message text,
    created_at {TS} NOT NULL DEFAULT {NOW},
    updated_at {TS} NOT NULL DEFAULT {NOW}
);
CREATE INDEX ix_task_runs_key_started ON task_runs (task_key, started_at);
CREATE TABLE task_run_items (
    id {PK},
    run_id varchar(36) NOT NULL REFERENCES task_runs(run_id) ON DELETE CASCADE,
    item_type varchar(20) NOT NULL,
    item_key varchar(128) NOT NULL,
    item_name varchar(255),
    instance_id integer,
    status varchar(32) NOT NULL DEFAULT 'pending',
    started_at {TS},
    completed_at {TS},
    metrics_json {JSON},
    details_json {JSON},
    error_message text,
    created_at {TS} NOT NULL DEFAULT {NOW},
    updated_at {TS} NOT NULL DEFAULT {NOW},
    UNIQUE (run_id, item_type, item_key)
);
CREATE TABLE unified_logs (
    id {PK},
    timestamp {TS} NOT NULL,
    level varchar(10) NOT NULL CHECK (level IN ('DEBUG','INFO','WARNING','ERROR','CRITICAL')),
    module varchar(100) NOT NULL,
    message text NOT NULL,
    traceback text,
    context {JSON},
    created_at {TS} NOT NULL DEFAULT {NOW}
);
CREATE INDEX ix_unified_logs_timestamp ON unified_logs (timestamp);
CREATE INDEX ix_unified_logs_level_timestamp ON unified_logs (level, timestamp);
CREATE INDEX ix_unified_logs_module_timestamp ON unified_logs (module, timestamp);
CREATE TABLE permission_configs (
    id {PK},
    db_type varchar(50) NOT NULL,
    category varchar(50) NOT NULL,
    permission_name varchar(255) NOT NULL,
    description text,
    is_active boolean DEFAULT true,
    sort_order integer DEFAULT 0,
    introduced_in_major varchar(20),
    created_at {TS} DEFAULT {NOW},
    updated_at {TS} DEFAULT {NOW},
    CONSTRAINT uq_permission_config UNIQUE (db_type, category, permission_name)
);
CREATE TABLE scheduler_jobs (
    id varchar(191) PRIMARY KEY,
    name varchar(255) NOT NULL,
    func varchar(255) NOT NULL,
    trigger_type varchar(20) NOT NULL,
    trigger_args {JSON} NOT NULL,
    timezone varchar(64) NOT NULL DEFAULT 'Asia/Shanghai',
    next_run_time {TS},
    is_paused boolean NOT NULL DEFAULT false,
    is_customized boolean NOT NULL DEFAULT false,
    last_run_time {TS},
    updated_at {TS} DEFAULT {NOW}
);
CREATE TABLE scheduler_leases (
    name varchar(64) PRIMARY KEY,
    holder varchar(128) NOT NULL,
    expires_at {TS} NOT NULL
);
