# A developer's own, cost-optimised copy of the platform: single-AZ database
# (or Aurora Serverless v2 that pauses while idle, database_platform) without
# deletion protection, one NAT gateway, one Redis node, one task per service,
# a week of logs. Production differs only in the arguments below.
#
# No RDS Proxy here: one API task, one worker and at most ten upload-intake
# functions open a few dozen connections at most, far below max_connections,
# so the proxy's pooling buys nothing; it would cost about as much as the
# database itself (it is billed per vCPU of the instance, and a minimum of 8
# ACUs in front of Aurora Serverless v2), and it keeps an Aurora writer from
# ever pausing. The package runs unchanged behind it or without it: it sends
# nothing that pins (tests/test_rds_proxy_pinning.py).

module "platform" {
  #checkov:skip=CKV_AWS_157:Development runs a single-AZ database by design (cost); Production is Multi-AZ.
  #checkov:skip=CKV_AWS_139:Development's Aurora option is disposable like its instance and torn down with `terraform destroy`; Production has deletion protection.
  #checkov:skip=CKV_AWS_293:Development databases are disposable and torn down with `terraform destroy`; Production has deletion protection.
  #checkov:skip=CKV_AWS_150:Development load balancers are torn down with the environment; Production has deletion protection.
  #checkov:skip=CKV2_AWS_50:Development runs one Redis node, so there is no replica to fail over to (cost); Production is Multi-AZ with automatic failover.
  source = "../modules/platform"

  environment = "development"
  name_prefix = "sensa-dev-${var.developer_id}"
  aws_region  = var.aws_region

  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  nat_gateway_count  = 1

  db_instance_class            = "db.t4g.medium"
  db_allocated_storage_gb      = 50
  db_max_allocated_storage_gb  = 100
  db_max_connections           = 400
  db_multi_az                  = false
  db_backup_retention_days     = 7
  db_final_snapshot_on_destroy = false
  db_read_replica_count        = 0
  deletion_protection          = false
  db_platform                  = var.database_platform

  redis_node_type = "cache.t4g.micro"
  redis_multi_az  = false

  image_tag         = var.image_tag
  api_task_count    = { min = 1, max = 1 }
  worker_task_count = { min = 1, max = 1 }

  certificate_arn = var.certificate_arn
  api_domain_name = var.api_domain_name
  jwt_issuer      = var.jwt_issuer
  jwt_audiences   = var.jwt_audiences

  log_retention_days        = 7
  access_log_retention_days = 30
  detailed_monitoring       = false
  alert_email_addresses     = var.alert_email_addresses
}
