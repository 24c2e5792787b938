variable "aws_account_id" {
  description = "AWS account of the production environment; the provider refuses any other."
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
  default     = "10.0.0.0/16"
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

  validation {
    condition     = length(var.alert_email_addresses) > 0
    error_message = "Production alarms must reach someone: give at least one address."
  }
}
