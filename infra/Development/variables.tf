variable "developer_id" {
  description = "Unique identifier of the developer who owns this copy of the environment (e.g. initials): part of every resource name and of the state key."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.developer_id))
    error_message = "developer_id must be 2-12 lower-case letters and digits, starting with a letter."
  }
}

variable "aws_account_id" {
  description = "AWS account the development environments live in; the provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be a 12-digit AWS account ID."
  }
}

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "Two availability zones of aws_region for the environment's subnets."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the environment's VPC."
  type        = string
  default     = "10.1.0.0/16"
}

variable "database_platform" {
  description = "\"rds-instance\" (a db.t4g.medium RDS instance, billed every hour) or \"aurora-serverless-v2\" (Aurora PostgreSQL Serverless v2 that pauses after 30 minutes without a connection and costs only its storage while paused; the first connection after a pause waits about 15 s). Switching replaces the database: its data is not carried over."
  type        = string
  default     = "rds-instance"
}

variable "image_tag" {
  description = "Tag of the api, worker and upload-intake images to run (pushed to this environment's ECR repositories)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate (for api_domain_name) the internal load balancer serves."
  type        = string
}

variable "api_domain_name" {
  description = "Host name on the load balancer's certificate."
  type        = string
}

variable "jwt_issuer" {
  description = "Issuer URL of the Cognito user pool whose JWTs API Gateway accepts."
  type        = string
}

variable "jwt_audiences" {
  description = "Cognito app client IDs API Gateway accepts as JWT audiences."
  type        = list(string)
}

variable "alert_email_addresses" {
  description = "E-mail addresses that receive the environment's alarms."
  type        = list(string)
  default     = []
}
