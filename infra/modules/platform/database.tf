resource "aws_db_subnet_group" "main" {
  name       = var.name_prefix
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "postgres15" {
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
    name         = "max_connections"
    value        = tostring(var.db_max_connections)
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
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

  # Settings the primary and its read replicas share.
  db_monitoring_interval_seconds = 60
  db_log_exports                 = ["postgresql", "upgrade"]
}

resource "aws_db_instance" "primary" {
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
  ca_cert_identifier     = "rds-ca-rsa2048-g1"
  parameter_group_name   = aws_db_parameter_group.postgres15.name

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
  performance_insights_retention_period = 7

  # The log groups exist first, so they get the environment's retention and
  # key instead of RDS creating them unencrypted and kept forever.
  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_db_instance" "replica" {
  count = var.db_read_replica_count

  identifier          = "${local.db_identifier}-replica-${count.index + 1}"
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = var.db_instance_class

  # Engine, credentials and database come from the source; the rest is the
  # replica's own and is stated here so that it matches the primary.
  storage_type          = "gp3"
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_encrypted     = true
  kms_key_id            = local.kms_key_arn

  iam_database_authentication_enabled = true

  multi_az               = var.db_multi_az
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  ca_cert_identifier     = "rds-ca-rsa2048-g1"
  parameter_group_name   = aws_db_parameter_group.postgres15.name

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
  performance_insights_retention_period = 7

  depends_on = [aws_cloudwatch_log_group.this]
}
