# Endpoints, names and ARNs only: credentials are read from the secrets whose
# ARNs are given here, never from Terraform.

output "rds_endpoint" {
  description = "host:port of the PostgreSQL writer."
  value       = module.platform.db_endpoint
}

output "rds_address" {
  description = "Host name of the PostgreSQL writer (SENSA_DB_HOST for migrations)."
  value       = module.platform.db_address
}

output "rds_port" {
  description = "Port of the PostgreSQL writer."
  value       = module.platform.db_port
}

output "rds_database_name" {
  description = "Name of the application database."
  value       = module.platform.db_name
}

output "rds_master_username" {
  description = "Master user, which runs the migrations."
  value       = module.platform.db_master_username
}

output "rds_master_secret_arn" {
  description = "ARN of the Secrets Manager secret with the master user's credentials (SENSA_DB_SECRET_ID)."
  value       = module.platform.db_master_secret_arn
}

output "rds_proxy_endpoint" {
  description = "Host name of RDS Proxy in front of the writer (null without one): SENSA_DB_HOST of the services."
  value       = module.platform.db_proxy_endpoint
}

output "database_logins" {
  description = "Database login of each service (IAM authentication), to create once as the owner."
  value       = module.platform.db_service_logins
}

output "rds_replica_endpoints" {
  description = "host:port of each read replica."
  value       = module.platform.db_replica_endpoints
}

output "redis_endpoint" {
  description = "Host name of the Redis primary (TLS, port 6379)."
  value       = module.platform.redis_primary_endpoint
}

output "redis_auth_secret_arn" {
  description = "ARN of the Secrets Manager secret with the Redis AUTH token."
  value       = module.platform.redis_auth_secret_arn
}

output "bucket_names" {
  description = "S3 buckets: uploads, artifacts, logs."
  value       = module.platform.bucket_names
}

output "alb_dns_name" {
  description = "DNS name of the internal load balancer."
  value       = module.platform.alb_dns_name
}

output "api_gateway_url" {
  description = "Public URL of the API."
  value       = module.platform.api_gateway_url
}

output "ecr_repository_urls" {
  description = "ECR repositories: api, worker, upload-intake."
  value       = module.platform.ecr_repository_urls
}

output "queue_urls" {
  description = "SQS queues: processing and the dead-letter queues."
  value       = module.platform.queue_urls
}

output "private_subnet_ids" {
  description = "Private subnets, for one-off tasks such as migrations."
  value       = module.platform.private_subnet_ids
}

output "migration_security_group_id" {
  description = "Security group of the one-off migration task."
  value       = module.platform.migration_security_group_id
}

output "migration_task_definition_family" {
  description = "Task definition family of the one-off migration task (alembic upgrade head)."
  value       = module.platform.migration_task_definition_family
}

output "ecs_cluster_name" {
  description = "ECS cluster of the api and worker services."
  value       = module.platform.ecs_cluster_name
}

output "alerts_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.platform.alerts_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = module.platform.dashboard_name
}
