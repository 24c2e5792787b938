variable "aws_account_id" {
  description = "AWS account that holds the Terraform state; the provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be a 12-digit AWS account ID."
  }
}

variable "aws_region" {
  description = "Region of the state bucket and lock table; must match the environments' backend blocks."
  type        = string
  default     = "us-east-1"
}

variable "state_bucket_name" {
  description = "Name of the state bucket; must match the environments' backend blocks."
  type        = string
  default     = "sensa-learn-terraform-state"
}

variable "lock_table_name" {
  description = "Name of the DynamoDB lock table; must match the environments' backend blocks."
  type        = string
  default     = "sensa-learn-terraform-locks"
}

variable "state_key_alias" {
  description = "Alias of the KMS key encrypting the state; must match the environments' backend blocks."
  type        = string
  default     = "alias/sensa-learn-terraform-state"
}

variable "noncurrent_state_version_days" {
  description = "Days a superseded state version is kept, to roll back a damaged state."
  type        = number
  default     = 90
}

variable "access_log_retention_days" {
  description = "Days the state bucket's access logs are kept."
  type        = number
  default     = 365
}
