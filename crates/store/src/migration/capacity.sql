-- Capacity facts and aggregates, range-partitioned by month (domain.md §1.12–§1.15, §6).
CREATE TABLE database_size_stats (
    id bigserial NOT NULL,
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    database_name varchar(255) NOT NULL,
    size_mb bigint NOT NULL,
    data_size_mb bigint,
    log_size_mb bigint,
    collected_date date NOT NULL,
    collected_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, collected_date),
    CONSTRAINT uq_daily_database_size UNIQUE (instance_id, database_name, collected_date)
) PARTITION BY RANGE (collected_date);
CREATE INDEX ix_database_size_stats_instance_date ON database_size_stats (instance_id, collected_date);
CREATE TABLE instance_size_stats (
    id bigserial NOT NULL,
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    total_size_mb bigint NOT NULL DEFAULT 0,
    database_count integer NOT NULL DEFAULT 0,
    collected_date date NOT NULL,
    collected_at timestamptz NOT NULL DEFAULT now(),
    is_deleted boolean NOT NULL DEFAULT false,
    deleted_at timestamptz,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    PRIMARY KEY (id, collected_date)
) PARTITION BY RANGE (collected_date);
CREATE UNIQUE INDEX uq_instance_size_stats_instance_date ON instance_size_stats (instance_id, collected_date) WHERE is_deleted = false;
CREATE TABLE database_size_aggregations (
    id bigserial NOT NULL,
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    database_name varchar(255) NOT NULL,
    period_type varchar(20) NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    avg_size_mb bigint NOT NULL,
    max_size_mb bigint NOT NULL,
    min_size_mb bigint NOT NULL,
    data_count integer NOT NULL,
    avg_data_size_mb bigint, max_data_size_mb bigint, min_data_size_mb bigint,
    avg_log_size_mb bigint, max_log_size_mb bigint, min_log_size_mb bigint,
    size_change_mb bigint,
    size_change_percent double precision,
    data_size_change_mb bigint,
    data_size_change_percent double precision,
    log_size_change_mb bigint,
    log_size_change_percent double precision,
    growth_rate double precision,
    calculated_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, period_start),
    CONSTRAINT uq_database_size_aggregation UNIQUE (instance_id, database_name, period_type, period_start)
) PARTITION BY RANGE (period_start);
CREATE INDEX ix_dsa_period ON database_size_aggregations (period_type, period_start);
CREATE TABLE instance_size_aggregations (
    id bigserial NOT NULL,
    instance_id integer NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    period_type varchar(20) NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    total_size_mb bigint NOT NULL,
    avg_size_mb bigint NOT NULL,
    max_size_mb bigint NOT NULL,
    min_size_mb bigint NOT NULL,
    data_count integer NOT NULL,
    database_count integer NOT NULL,
    avg_database_count double precision,
    max_database_count integer,
    min_database_count integer,
    total_size_change_mb bigint,
    total_size_change_percent double precision,
    database_count_change integer,
    database_count_change_percent double precision,
    growth_rate double precision,
    trend_direction varchar(20),
    calculated_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, period_start),
    CONSTRAINT uq_instance_size_aggregation UNIQUE (instance_id, period_type, period_start)
) PARTITION BY RANGE (period_start);
CREATE INDEX ix_isa_period ON instance_size_aggregations (period_type, period_start);
