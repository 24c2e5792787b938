resource "aws_db_subnet_group" "main" {
  name       = var.name_prefix
  subnet_ids = aws_subnet.private[*].id
}

locals {
  # pgvector before 0.8.2 can build a corrupt HNSW index, and overflow a
  # buffer, when the build uses parallel workers (CVE-2026-3172, 0.6.0 to
  # 0.8.1). The PostgreSQL 15 engines AWS offers bundle 0.8.1 at best, so
  # the parameter groups make index builds serial until db_pgvector_version
  # says 0.8.2 or later is installed (docs/OPERATIONS.md, "pgvector version").
  pgvector_version_parts        = [for part in split(".", var.db_pgvector_version) : tonumber(part)]
  pgvector_parallel_builds_safe = local.pgvector_version_parts[0] > 0 || local.pgvector_version_parts[1] > 8 || (local.pgvector_version_parts[1] == 8 && local.pgvector_version_parts[2] >= 2)
}

# The RDS instance's parameter group and the Aurora cluster's hold the same
# engine settings (tests/infra/test_platform_requirements.py compares them);
# each is written out in literal blocks so that checkov reads them too.
resource "aws_db_parameter_group" "postgres15" {
  count = local.aurora ? 0 : 1

  name_prefix = "${var.name_prefix}-postgres15-"
  family      = "postgres15"
  description = "Sensa Learn PostgreSQL 15 (${var.environment})"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # The slow-query log the design asks for: every statement over one second.
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  # Schema changes are audited (the design's "all DDL logged"); DML auditing
  # belongs to pgaudit, not to the general log.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }

  # Serial HNSW builds while pgvector is older than 0.8.2 (locals above);
  # PostgreSQL's default, 2, once it is not.
  parameter {
    name  = "max_parallel_maintenance_workers"
    value = local.pgvector_parallel_builds_safe ? "2" : "0"
  }

  parameter {
    name         = "max_connections"
    value        = tostring(var.db_max_connections)
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}

moved {
  from = aws_db_parameter_group.postgres15
  to   = aws_db_parameter_group.postgres15[0]
}

resource "aws_iam_role" "rds_enhanced_monitoring" {
  name = "${var.name_prefix}-rds-enhanced-monitoring"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "rds_enhanced_monitoring" {
  role       = aws_iam_role.rds_enhanced_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

locals {
  db_identifier = "${var.name_prefix}-postgres"
  aurora        = var.db_platform == "aurora-serverless-v2"
  # Read replicas are RDS instances of the RDS primary.
  db_replica_count = local.aurora ? 0 : var.db_read_replica_count

  # Settings every database instance shares (primary, replicas, Aurora writer).
  db_monitoring_interval_seconds = 60
  db_ca_certificate              = "rds-ca-rsa2048-g1"
  db_performance_insights_days   = 7
  db_log_exports                 = ["postgresql", "upgrade"]
  # Aurora exports only the engine's log; upgrades are in its events.
  aurora_log_exports = ["postgresql"]
}

resource "aws_db_instance" "primary" {
  count = local.aurora ? 0 : 1

  identifier     = local.db_identifier
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class
  db_name        = "sensa"
  username       = "sensa_admin"
  port           = 5432

  # RDS generates the master password, keeps it in Secrets Manager under the
  # environment key and rotates it; it never passes through Terraform.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = local.kms_key_arn

  iam_database_authentication_enabled = true

  storage_type          = "gp3"
  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_encrypted     = true
  kms_key_id            = local.kms_key_arn

  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  ca_cert_identifier     = local.db_ca_certificate
  parameter_group_name   = aws_db_parameter_group.postgres15[0].name

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = !var.deletion_protection
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.db_final_snapshot_on_destroy
  final_snapshot_identifier = var.db_final_snapshot_on_destroy ? "${local.db_identifier}-final" : null

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = local.db_log_exports
  monitoring_interval             = local.db_monitoring_interval_seconds
  monitoring_role_arn             = aws_iam_role.rds_enhanced_monitoring.arn

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = local.kms_key_arn
  performance_insights_retention_period = local.db_performance_insights_days

  # The log groups exist first, so they get the environment's retention and
  # key instead of RDS creating them unencrypted and kept forever.
  depends_on = [aws_cloudwatch_log_group.this]
}

moved {
  from = aws_db_instance.primary
  to   = aws_db_instance.primary[0]
}

resource "aws_db_instance" "replica" {
  count = local.db_replica_count

  identifier          = "${local.db_identifier}-replica-${count.index + 1}"
  replicate_source_db = aws_db_instance.primary[0].identifier
  instance_class      = var.db_instance_class

  # Engine, credentials and database come from the source; the rest is the
  # replica's own and is stated here so that it matches the primary.
  storage_type          = "gp3"
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_encrypted     = true
  kms_key_id            = local.kms_key_arn

  iam_database_authentication_enabled = true

  multi_az = var.db_multi_az
  # Readers are reached directly, not through RDS Proxy (which fronts an RDS
  # instance's writer only), by the API alone.
  vpc_security_group_ids = [aws_security_group.database_replica.id]
  publicly_accessible    = false
  ca_cert_identifier     = local.db_ca_certificate
  parameter_group_name   = aws_db_parameter_group.postgres15[0].name

  # Backups are the primary's; RDS cannot take a final snapshot of a replica.
  maintenance_window    = "sun:05:30-sun:06:30"
  copy_tags_to_snapshot = true
  deletion_protection   = var.deletion_protection
  skip_final_snapshot   = true

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = local.db_log_exports
  monitoring_interval             = local.db_monitoring_interval_seconds
  monitoring_role_arn             = aws_iam_role.rds_enhanced_monitoring.arn

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = local.kms_key_arn
  performance_insights_retention_period = local.db_performance_insights_days

  depends_on = [aws_cloudwatch_log_group.this]
}

# --- Aurora PostgreSQL Serverless v2 (db_platform = "aurora-serverless-v2") ----
# One Serverless v2 writer that scales down to zero ACUs and pauses after
# db_aurora_seconds_until_auto_pause without a connection, then resumes on the
# next connection (about 15 s). Same extensions, parameters, key, IAM
# authentication and RDS-managed rotating master secret as the instance.

resource "aws_rds_cluster_parameter_group" "aurora_postgres15" {
  count = local.aurora ? 1 : 0

  name_prefix = "${var.name_prefix}-aurora-postgresql15-"
  family      = "aurora-postgresql15"
  description = "Sensa Learn Aurora PostgreSQL 15 cluster (${var.environment})"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # The slow-query log the design asks for: every statement over one second.
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  # Schema changes are audited (the design's "all DDL logged"); DML auditing
  # belongs to pgaudit, not to the general log.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }

  # Serial HNSW builds while pgvector is older than 0.8.2 (locals above);
  # PostgreSQL's default, 2, once it is not.
  parameter {
    name  = "max_parallel_maintenance_workers"
    value = local.pgvector_parallel_builds_safe ? "2" : "0"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# max_connections is an instance setting in Aurora.
resource "aws_db_parameter_group" "aurora_postgres15" {
  count = local.aurora ? 1 : 0

  name_prefix = "${var.name_prefix}-aurora-postgresql15-"
  family      = "aurora-postgresql15"
  description = "Sensa Learn Aurora PostgreSQL 15 instances (${var.environment})"

  parameter {
    name         = "max_connections"
    value        = tostring(var.db_max_connections)
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_rds_cluster" "aurora" {
  #checkov:skip=CKV2_AWS_8:The cluster's automated backups (db_backup_retention_days, point-in-time recovery) are its backup plan, as they are the RDS instance's; the option serves disposable Development copies only.
  count = local.aurora ? 1 : 0

  cluster_identifier = "${local.db_identifier}-cluster"
  engine             = "aurora-postgresql"
  engine_mode        = "provisioned"
  engine_version     = var.db_aurora_engine_version
  database_name      = "sensa"
  master_username    = "sensa_admin"
  port               = 5432

  manage_master_user_password   = true
  master_user_secret_kms_key_id = local.kms_key_arn

  iam_database_authentication_enabled = true

  storage_encrypted = true
  kms_key_id        = local.kms_key_arn

  db_subnet_group_name            = aws_db_subnet_group.main.name
  vpc_security_group_ids          = [aws_security_group.database.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.aurora_postgres15[0].name

  serverlessv2_scaling_configuration {
    min_capacity             = var.db_aurora_capacity.min
    max_capacity             = var.db_aurora_capacity.max
    seconds_until_auto_pause = var.db_aurora_capacity.min == 0 ? var.db_aurora_seconds_until_auto_pause : null
  }

  backup_retention_period      = var.db_backup_retention_days
  preferred_backup_window      = "03:00-04:00"
  preferred_maintenance_window = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot        = true
  delete_automated_backups     = !var.deletion_protection
  deletion_protection          = var.deletion_protection
  skip_final_snapshot          = !var.db_final_snapshot_on_destroy
  final_snapshot_identifier    = var.db_final_snapshot_on_destroy ? "${local.db_identifier}-final" : null

  enabled_cloudwatch_logs_exports = local.aurora_log_exports

  depends_on = [aws_cloudwatch_log_group.this]

  lifecycle {
    precondition {
      condition     = var.db_read_replica_count == 0
      error_message = "db_read_replica_count makes RDS read replicas of the RDS instance; the Aurora option has none."
    }
  }
}

resource "aws_rds_cluster_instance" "aurora_writer" {
  count = local.aurora ? 1 : 0

  # The writer carries the identifier the RDS instance would have, so the
  # alarms and the dashboard (DBInstanceIdentifier) need no second spelling.
  identifier              = local.db_identifier
  cluster_identifier      = aws_rds_cluster.aurora[0].id
  engine                  = aws_rds_cluster.aurora[0].engine
  engine_version          = aws_rds_cluster.aurora[0].engine_version
  instance_class          = "db.serverless"
  db_parameter_group_name = aws_db_parameter_group.aurora_postgres15[0].name
  publicly_accessible     = false
  ca_cert_identifier      = local.db_ca_certificate
  copy_tags_to_snapshot   = true

  auto_minor_version_upgrade = true
  monitoring_interval        = local.db_monitoring_interval_seconds
  monitoring_role_arn        = aws_iam_role.rds_enhanced_monitoring.arn

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = local.kms_key_arn
  performance_insights_retention_period = local.db_performance_insights_days
}

# --- The writer, whichever platform -------------------------------------------

locals {
  db_writer = local.aurora ? {
    address     = aws_rds_cluster.aurora[0].endpoint
    port        = aws_rds_cluster.aurora[0].port
    name        = aws_rds_cluster.aurora[0].database_name
    username    = aws_rds_cluster.aurora[0].master_username
    secret_arn  = aws_rds_cluster.aurora[0].master_user_secret[0].secret_arn
    resource_id = aws_rds_cluster.aurora[0].cluster_resource_id
    } : {
    address     = aws_db_instance.primary[0].address
    port        = aws_db_instance.primary[0].port
    name        = aws_db_instance.primary[0].db_name
    username    = aws_db_instance.primary[0].username
    secret_arn  = aws_db_instance.primary[0].master_user_secret[0].secret_arn
    resource_id = aws_db_instance.primary[0].resource_id
  }
}
