# Identifiers and endpoints only: no output carries a secret value. The
# database and Redis credentials are reached through their secrets' ARNs.

output "vpc_id" {
  description = "ID of the environment's VPC."
  value       = aws_vpc.main.id
}

output "private_subnet_ids" {
  description = "Private subnets (the database, Redis, tasks and the load balancer live here)."
  value       = aws_subnet.private[*].id
}

output "kms_key_arn" {
  description = "ARN of the environment's KMS key."
  value       = aws_kms_key.main.arn
}

output "db_endpoint" {
  description = "host:port of the PostgreSQL writer (the RDS instance, or the Aurora cluster's writer endpoint)."
  value       = "${local.db_writer.address}:${local.db_writer.port}"
}

output "db_address" {
  description = "Host name of the PostgreSQL writer."
  value       = local.db_writer.address
}

output "db_port" {
  description = "Port of the PostgreSQL writer."
  value       = local.db_writer.port
}

output "db_name" {
  description = "Name of the application database."
  value       = local.db_writer.name
}

output "db_master_username" {
  description = "Master (migration) user of the database; its password is only in the secret."
  value       = local.db_writer.username
}

output "db_master_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master user name and password."
  value       = local.db_writer.secret_arn
}

output "db_replica_endpoints" {
  description = "host:port of each read replica (empty without replicas)."
  value       = aws_db_instance.replica[*].endpoint
}

output "db_proxy_endpoint" {
  description = "Host name of RDS Proxy in front of the writer, where the services connect (null without a proxy)."
  value       = var.db_proxy_enabled ? aws_db_proxy.main[0].endpoint : null
}

output "db_service_logins" {
  description = "Database login of each service (IAM authentication); create each once as the owner: CREATE ROLE <login> LOGIN; GRANT rds_iam, <group> TO <login>."
  value       = local.db_logins
}

output "redis_primary_endpoint" {
  description = "Host name of the Redis primary (TLS, port 6379)."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "redis_reader_endpoint" {
  description = "Host name spreading reads over the Redis replicas (the primary when there are none)."
  value       = aws_elasticache_replication_group.main.reader_endpoint_address
}

output "redis_auth_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the Redis AUTH token."
  value       = aws_secretsmanager_secret.redis_auth_token.arn
}

output "bucket_names" {
  description = "S3 bucket names by role: uploads, artifacts, logs."
  value = {
    uploads   = aws_s3_bucket.data["uploads"].id
    artifacts = aws_s3_bucket.data["artifacts"].id
    logs      = aws_s3_bucket.logs.id
  }
}

output "alb_dns_name" {
  description = "DNS name of the internal load balancer in front of the API tasks (point api_domain_name at it in the private zone)."
  value       = aws_lb.api.dns_name
}

output "api_gateway_url" {
  description = "Public URL of the API (API Gateway's default stage)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "ecr_repository_urls" {
  description = "ECR repository URLs by image: api, worker, upload-intake."
  value       = { for name, repository in aws_ecr_repository.this : name => repository.repository_url }
}

output "queue_urls" {
  description = "SQS queue URLs by role: processing, processing-dlq, upload-intake-dlq."
  value       = { for name, queue in aws_sqs_queue.this : name => queue.url }
}

output "migration_security_group_id" {
  description = "Security group of the migration task (reaches the writer directly)."
  value       = aws_security_group.migrate.id
}

output "migration_task_definition_family" {
  description = "Task definition family of the one-off migration task (alembic upgrade head as the master user)."
  value       = aws_ecs_task_definition.migrate.family
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster running the api and worker services."
  value       = aws_ecs_cluster.main.name
}

output "alerts_topic_arn" {
  description = "ARN of the SNS topic the alarms notify."
  value       = aws_sns_topic.alerts.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}
