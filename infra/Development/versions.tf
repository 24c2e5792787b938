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
  # Every developer has a state of their own, so the key is not set here but
  # given at init (see infra/README.md):
  #   terraform init -backend-config="key=development/<developer_id>/terraform.tfstate"
  backend "s3" {
    bucket         = "sensa-learn-terraform-state"
    region         = "us-east-1"
    dynamodb_table = "sensa-learn-terraform-locks"
    encrypt        = true
    kms_key_id     = "alias/sensa-learn-terraform-state"
  }
}
