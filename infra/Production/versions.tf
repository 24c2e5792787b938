terraform {
  required_version = "~> 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.15"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # The state bucket, its key and the lock table come from infra/bootstrap.
  backend "s3" {
    bucket         = "sensa-learn-terraform-state"
    key            = "production/terraform.tfstate"
    region         = "us-east-1"
    dynamodb_table = "sensa-learn-terraform-locks"
    encrypt        = true
    kms_key_id     = "alias/sensa-learn-terraform-state"
  }
}
