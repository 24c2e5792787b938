# The module declares what it needs; the environments that call it pin the
# exact ranges and configure the providers.
terraform {
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.15 added aws_db_proxy's default_auth_scheme (end-to-end IAM);
      # Aurora Serverless v2's scale to zero needs 5.81 or later.
      version = ">= 6.15, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
  }
}
