# The production platform: Multi-AZ database with a read replica and deletion
# protection, a NAT gateway and a Redis node per AZ, autoscaled services, a
# month of logs and the full set of alarms.

module "platform" {
  source = "../modules/platform"

  environment = "production"
  name_prefix = "sensa-prod"
  aws_region  = var.aws_region

  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  nat_gateway_count  = 2

  db_instance_class            = "db.r6g.large"
  db_allocated_storage_gb      = 100
  db_max_allocated_storage_gb  = 1000
  db_max_connections           = 1600
  db_multi_az                  = true
  db_backup_retention_days     = 30
  db_final_snapshot_on_destroy = true
  db_read_replica_count        = 1
  deletion_protection          = true
  # The API's tasks, the workers and upload-intake reach the writer through
  # RDS Proxy (docs/OPERATIONS.md, "Connection poolers").
  db_proxy_enabled = true

  redis_node_type = "cache.m7g.large"
  redis_multi_az  = true

  image_tag         = var.image_tag
  api_task_count    = { min = 2, max = 10 }
  worker_task_count = { min = 2, max = 10 }
  api_task_size     = { cpu = 1024, memory = 2048 }

  upload_intake_reserved_concurrency = 25
  api_throttle                       = { rate_per_second = 500, burst = 1000 }

  certificate_arn = var.certificate_arn
  api_domain_name = var.api_domain_name
  jwt_issuer      = var.jwt_issuer
  jwt_audiences   = var.jwt_audiences

  log_retention_days        = 30
  access_log_retention_days = 365
  detailed_monitoring       = true
  alert_email_addresses     = var.alert_email_addresses
}
