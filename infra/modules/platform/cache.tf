# The auth token is generated here and kept in Secrets Manager, where the ECS
# tasks read it from. ElastiCache has no write-only argument for it, so the
# value is also in the (KMS-encrypted, access-logged) Terraform state.
resource "random_password" "redis_auth_token" {
  length = 64
  # ElastiCache rejects @, ", / and spaces in tokens; letters and digits alone
  # still give ~380 bits.
  special = false
}

resource "aws_secretsmanager_secret" "redis_auth_token" {
  #checkov:skip=CKV2_AWS_57:ElastiCache has no Secrets Manager rotation integration; the token is rotated by `terraform apply -replace=module.platform.random_password.redis_auth_token`, which the ROTATE strategy applies without downtime.
  name        = "${var.name_prefix}/redis/auth-token"
  description = "AUTH token of the ${var.name_prefix} Redis replication group"
  kms_key_id  = local.kms_key_arn
  # Unprotected environments are re-created under the same names, which a
  # secret awaiting deletion would block.
  recovery_window_in_days = var.deletion_protection ? 30 : 0
}

resource "aws_secretsmanager_secret_version" "redis_auth_token" {
  secret_id     = aws_secretsmanager_secret.redis_auth_token.id
  secret_string = random_password.redis_auth_token.result
}

locals {
  redis_node_count = var.redis_multi_az ? length(local.azs) : 1
}

resource "aws_elasticache_subnet_group" "main" {
  name       = var.name_prefix
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = "${var.name_prefix}-redis"
  description          = "Sensa Learn cache and task broker (${var.environment})"
  engine               = "redis"
  engine_version       = "7.1"
  parameter_group_name = "default.redis7"
  node_type            = var.redis_node_type
  port                 = 6379

  # Multi-AZ: a primary and a replica in each further zone, promoted when
  # the primary fails. Otherwise a primary alone.
  num_cache_clusters          = local.redis_node_count
  preferred_cache_cluster_azs = slice(local.azs, 0, local.redis_node_count)
  automatic_failover_enabled  = var.redis_multi_az
  multi_az_enabled            = var.redis_multi_az

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = local.kms_key_arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = random_password.redis_auth_token.result
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = 1
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:00-sun:06:00"
  auto_minor_version_upgrade = true

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.this["redis_slow_log"].name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
